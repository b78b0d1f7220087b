# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The "ritz" head's numpy form: predict's route on the CPU, for every batch.

:func:`ritz_plan` reads a fitted :class:`~svlearn._mlp.SpectrumMLP` once into
numpy arrays, and :meth:`RitzPlan.spectra` runs the computation of
``SpectrumMLP._ritz_spectra`` with few, batched numpy operations (torch's
per-operation overhead would dominate a few matrices). Every row is computed
on its own: per-matrix stacked products, no batch-wide choice of algorithm,
so a row's result does not depend on its batch. The iteration's products run
in float32 on matrices scaled to a power-of-two peak; energies, the Ritz
problem and the network in float64; matrices whose leftover energy float32
cannot resolve are redone in float64, as in the torch form. The shared
constants come from :mod:`svlearn._numerics`.

:func:`ritz_plan` also returns the "ends" head's CPU form,
:class:`svlearn._ends_numpy.EndsPlan`, which reads its network with
:func:`network`.
"""

import weakref

import numpy as np
from sklearn.utils import assert_all_finite

from ._linalg import power_of_two_scaled, start_vectors, times_power_of_two
from ._numerics import (
    ACTIVATIONS,
    CORRECTION_CLAMP,
    FLOAT64_MAX_ENTRIES,
    THIN_REST,
    orthogonality_floor,
)

# Squared Frobenius norms E inside which the matrices are used as they are.
# The iteration's block W A is of order E and its orthonormalisation squares
# it, so E**2 (times the Gram-Schmidt floor, 2**-96) must stay clear of
# float64's overflow (2**1024) and subnormals (2**-1022). All float32 input
# but zero matrices lies inside (E from 2**-298 to about 2**276); matrices
# outside are rescaled exactly by powers of two.
_SAFE_ENERGY = (2.0**-400, 2.0**400)
_TINY = np.finfo(np.float64).tiny

# One plan per fitted module, dropped with the module; rebuilt when its
# weights change (see _Stamp).
_PLANS = weakref.WeakKeyDictionary()


def ritz_plan(module):
    """The float64 forward pass of a fitted module, or None where it does not apply.

    Parameters
    ----------
    module : SpectrumMLP
        A fitted module.

    Returns
    -------
    plan : RitzPlan, EndsPlan or None
        A :class:`RitzPlan` for the "ritz" head, an
        :class:`~svlearn._ends_numpy.EndsPlan` for the "ends" head; None for
        other heads, weights off the CPU, or a network with layers that the
        plans do not know.
    """
    cached = _PLANS.get(module)
    if cached is not None and cached[0].is_current():
        return cached[1]
    stamp = _Stamp(module)
    plan = None
    if _supported(module):
        if module.head == "ritz":
            plan = RitzPlan(module)
        else:
            from ._ends_numpy import EndsPlan

            plan = EndsPlan(module, network(_layers(module)))
    _PLANS[module] = (stamp, plan)
    return plan


def _layers(module):
    mlp = module.ends.mlp if module.head == "ends" else module.mlp
    return [] if mlp is None else list(mlp)


def _supported(module):
    from torch import nn

    head = getattr(module, "head", None)
    if head not in ("ritz", "ends"):
        return False
    tensors = (*module.parameters(), *module.buffers())
    if any(tensor.device.type != "cpu" for tensor in tensors):
        return False
    known = (
        nn.Linear,
        nn.Dropout,
        *(getattr(nn, name) for name, _ in ACTIVATIONS.values()),
    )
    return all(
        type(layer) in known
        and (not isinstance(layer, nn.Linear) or layer.weight.device.type == "cpu")
        for layer in _layers(module)
    )


class _Stamp:
    """The versions and storages of a module's tensors when a plan was read.

    In-place changes (optimizer steps, ``load_state_dict``) bump a tensor's
    version; ``.data`` assignments and device moves change its storage. The
    old tensors are kept alive, so that a new storage cannot reuse an old
    address.
    """

    def __init__(self, module):
        self.tensors = [*module.parameters(), *module.buffers()]
        self.storages = [tensor.detach() for tensor in self.tensors]
        self.state = self._state()

    def _state(self):
        return [(t._version, t.data_ptr()) for t in self.tensors]

    def is_current(self):
        return self._state() == self.state


# numpy activations by the class name of their torch layer.
_NUMPY_ACTIVATIONS = {torch_name: func for torch_name, func in ACTIVATIONS.values()}


def _activation(layer):
    """The numpy form of a torch activation or dropout layer (None: identity)."""
    from torch import nn

    if isinstance(layer, nn.GELU) and layer.approximate == "tanh":
        c = np.sqrt(2 / np.pi)
        return lambda h: 0.5 * h * (1 + np.tanh(c * (h + 0.044715 * h**3)))
    return _NUMPY_ACTIVATIONS.get(type(layer).__name__)  # dropout: identity


def network(layers):
    """A torch network as float64 ``[weight^T, bias, activations]`` per layer.

    Each linear layer's product is followed by its activations; dropout is
    the identity here.

    Parameters
    ----------
    layers : list of torch.nn.Module
        Linear, activation and dropout layers, in order.

    Returns
    -------
    list of [ndarray, ndarray, list of callable]
    """
    from torch import nn

    out = []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            weight_t = np.ascontiguousarray(_float64(layer.weight).T)
            out.append([weight_t, _float64(layer.bias), []])
        elif (func := _activation(layer)) is not None:
            out[-1][2].append(func)
    return out


def _float64(tensor):
    """A torch tensor as a float64 numpy copy."""
    import torch

    return tensor.detach().to(torch.float64).numpy().copy()


class RitzPlan:
    """A fitted "ritz" head as float64 numpy arrays; build it with :func:`ritz_plan`.

    Parameters
    ----------
    module : SpectrumMLP
        A fitted module with the "ritz" head, on the CPU.
    """

    def __init__(self, module):
        import torch

        m, n = module.matrix_shape
        self.matrix_shape = (m, n)
        self.transpose = m < n  # iterate on A^T, as the torch head does
        self.k = module.n_components
        self.n_iter = module.n_iter
        k = self.k
        # The base spectrum [values, sqrt(rest) * template] as a linear map of
        # the features [values, sqrt(rest), sqrt(gain)].
        template = _float64(module.template)
        self.base = np.zeros((k + 2, k + template.size))
        self.base[:k, :k] = np.eye(k)
        self.base[k, k:] = template
        # The torch head's start block (cached there), read once in float64.
        start = start_vectors(min(m, n), max(k, 1), torch.float64, None)
        self.start_t = np.ascontiguousarray(start.numpy()[:k].T)  # (q, k)
        self.layers = network(_layers(module))

    def spectra(self, X):
        """Spectra of flat matrices with the iteration's certificate.

        Parameters
        ----------
        X : ndarray of shape (n_samples, m * n)
            float32 or float64 rows; any finite scale.

        Returns
        -------
        BlockSpectra
            As :func:`svlearn._mlp.equivariant_spectra` returns it: spectra
            as ``SpectrumMLP`` computes them, descending, float64.

        Raises
        ------
        ValueError
            If ``X`` holds NaN or infinity.
        """
        from ._mlp import BlockSpectra

        x, x64, energy, exponents = _canonical_rows(X)
        nonzero = energy > 0
        inv_energy = np.divide(1.0, energy, out=np.zeros_like(energy), where=nonzero)
        unit = nonzero.astype(np.float64)  # the energy of the normalised matrices
        squares = self._features(self._stack(x), inv_energy, unit)
        if x.dtype == np.float32 and self.k:
            # float32 keeps too few digits of a small leftover energy (its
            # error is up to ~1e-7 of the energy): those matrices, all of
            # rank at most k among them, are redone in float64.
            thin = squares[:, self.k] < THIN_REST * unit
            if thin.any():
                exact = x64(thin)
                energy[thin] = np.einsum("ij,ij->i", exact, exact)
                inv_energy[thin] = 1.0 / energy[thin]
                squares[thin] = self._features(
                    self._stack(exact), inv_energy[thin], unit[thin]
                )
        k = self.k
        diagnostics = squares[:, k:].copy()
        features = np.sqrt(squares, out=squares)
        # The base spectrum [values, sqrt(rest) * template] as one product
        # (exact: every other term is a product with an exact zero).
        spectrum = features @ self.base
        if self.layers:
            hidden = features
            for weight_t, bias, activations in self.layers:
                hidden = hidden @ weight_t
                hidden += bias
                for func in activations:
                    hidden = func(hidden)
            np.minimum(hidden, CORRECTION_CLAMP, out=hidden)
            np.maximum(hidden, -CORRECTION_CLAMP, out=hidden)
            spectrum *= np.exp(hidden, out=hidden)
        # Scaled to the exact energy (a zero spectrum stays zero).
        total_sq = np.einsum("ij,ij->i", spectrum, spectrum)
        norms = np.sqrt(energy)
        scale = norms / np.sqrt(np.maximum(total_sq, _TINY))
        spectrum.sort(axis=1)
        x_pred = spectrum[:, ::-1] * scale[:, None]
        return BlockSpectra(
            pred=times_power_of_two(x_pred, exponents[:, None]),
            x=x,
            x_pred=x_pred,
            norms=norms,
            diagnostics=diagnostics,
            x_ritz=features[:, :k] * norms[:, None],
            x_rest=diagnostics[:, 0] * energy,
            x_energy=energy,
            exponents=exponents,
        )

    def _stack(self, x):
        """Flat rows as the matrices the iteration runs on (the smaller side last)."""
        m, n = self.matrix_shape
        A = x.reshape(-1, m, n)
        return A.transpose(0, 2, 1) if self.transpose else A

    def _features(self, A, inv_energy, unit):
        """The network's input, from block subspace iteration on ``A``.

        Row layout, as in ``_linalg.top_singular_values``. Returns, per
        matrix scaled to unit energy, the squared Ritz values, the leftover
        energy and the last step's energy gain, shape ``(batch, k + 2)``.
        """
        k = self.k
        At = A.transpose(0, 2, 1)
        # The start block is shared: one product for the whole batch.
        start_t = self.start_t.astype(A.dtype, copy=False)
        W = before = (A @ start_t).transpose(0, 2, 1)
        for _ in range(self.n_iter):
            before = W
            W = _orthonormal_rows(W @ A) @ At
        # Energies and the Ritz problem in float64, whatever the products' dtype.
        W = W.astype(np.float64, copy=False)
        features = np.empty((A.shape[0], k + 2))
        if k == 1:
            captured = np.einsum("bij,bij->b", W, W) * inv_energy
            features[:, 0] = captured
        else:
            gram = (W @ W.transpose(0, 2, 1)) * inv_energy[:, None, None]
            eig = np.linalg.eigvalsh(gram)
            features[:, :k] = eig[:, ::-1]
            # The trace, whatever rounding the eigensolver adds.
            captured = np.add.reduce(eig, axis=1)
        np.subtract(unit, captured, out=features[:, k])
        if self.n_iter:
            before = before.astype(np.float64, copy=False)
            before_sq = np.einsum("bij,bij->b", before, before)
            np.subtract(captured, before_sq * inv_energy, out=features[:, k + 1])
        else:
            features[:, k + 1] = 0.0
        return np.maximum(features, 0.0, out=features)


def _orthonormal_rows(Y):
    """An orthonormal basis of the rows of each ``k x n`` block, as rows.

    The span that ``_linalg.orthonormalize_rows`` (Gram-Schmidt) gives, by
    one batched LAPACK QR: one call instead of Gram-Schmidt's ``~12 k`` small
    numpy operations, half the time at batch 1 (15 against 32 us for
    ``k = 4``). The bases differ by signs, to which the Ritz values are
    blind. Where a row keeps less than ``8 eps`` of
    its norm after projection on the rows before it (``|R_jj|``), Gram-Schmidt
    zeroes it while QR would complete the basis with a direction of rounding
    noise, so such blocks (rank-deficient ones, zero matrices) take
    Gram-Schmidt itself, each on its own: which form a block takes does not
    depend on the other blocks of the batch.
    """
    if Y.shape[1] == 1:
        return _orthonormalize_rows(Y)
    Q, R = np.linalg.qr(Y.transpose(0, 2, 1))
    Q = Q.transpose(0, 2, 1)
    diag = R.diagonal(0, 1, 2)
    # ||y_j||^2 is the squared norm of R's column j.
    floor = orthogonality_floor(np.finfo(Y.dtype).eps)
    deficient = ~(diag * diag > floor * np.einsum("bij,bij->bj", R, R)).all(1)
    if deficient.any():
        Q = np.ascontiguousarray(Q)
        Q[deficient] = _orthonormalize_rows(Y[deficient])
    return Q


def _orthonormalize_rows(Y):
    """Twice-projected Gram-Schmidt on the rows of a batch of ``k x n`` blocks.

    The numpy form of ``_linalg.orthonormalize_rows``, in place: each row is
    projected twice on the rows before it (as a block), and a row that keeps
    less than ``8 eps`` of its norm becomes zero.
    """
    floor = orthogonality_floor(np.finfo(Y.dtype).eps)
    floor = floor * np.einsum("bij,bij->bi", Y, Y)[:, :, None]
    tiny = np.finfo(Y.dtype).tiny
    for j in range(Y.shape[1]):
        v = Y[:, j : j + 1]  # (batch, 1, n), a view
        if j:
            done = Y[:, :j]
            for _ in range(2):
                v -= (v @ done.transpose(0, 2, 1)) @ done
        sq = v @ v.transpose(0, 2, 1)
        # 1 / sqrt, both correctly rounded, so that powers of two scale the
        # basis exactly (pow(sq, -0.5) may round differently at two scales).
        v *= (sq > floor[:, j : j + 1]) / np.sqrt(np.maximum(sq, tiny))
    return Y


def _canonical_rows(X):
    """Rows scaled exactly by powers of two to peaks in [0.5, 1).

    Every row is scaled, so that ``X`` and ``2**j * X`` give the same rows and
    the iteration is bitwise scale-equivariant: neither overflow nor
    subnormals act differently at two scales.

    Returns
    -------
    x : ndarray of shape (n, m * n)
        The scaled rows: float32 for matrices of more than
        ``FLOAT64_MAX_ENTRIES`` entries, else float64.
    x64 : callable
        ``x64(rows)``: the float64 scaled rows selected by ``rows``, exact
        (not rounded to float32).
    energy : ndarray of shape (n,)
        ``||x||_F**2``, float64 (summed in float32 for float32 ``x``).
    exponents : ndarray of shape (n,) of int
        ``X == x * 2**exponents`` (up to float32 rounding).
    """
    if X.dtype == np.float32 and X.shape[1] > FLOAT64_MAX_ENTRIES:
        peak = np.maximum(X.max(axis=1), -X.min(axis=1))
        if not np.isfinite(peak).all():
            assert_all_finite(X, input_name="X")
        exponents = np.frexp(peak)[1].astype(np.int64)
        # Two float32 factors, each a normal number for exponents from -148
        # to 128; the product is exact but for entries below 2**-125 of the
        # peak, which round the same way at every scale.
        half = exponents // 2
        x = X * np.ldexp(np.float32(1), -half)[:, None]
        x *= np.ldexp(np.float32(1), half - exponents)[:, None]
        energy = np.einsum("ij,ij->i", x, x).astype(np.float64)

        def x64(rows):
            return x[rows].astype(np.float64)

        return x, x64, energy, exponents
    exact, exponents = power_of_two_scaled(X)
    if not np.isfinite(exact).all():
        assert_all_finite(X, input_name="X")
    exponents = exponents.astype(np.int64)
    energy = np.einsum("ij,ij->i", exact, exact)
    x = exact if X.shape[1] <= FLOAT64_MAX_ENTRIES else exact.astype(np.float32)

    def x64(rows):
        return exact[rows]

    return x, x64, energy, exponents
