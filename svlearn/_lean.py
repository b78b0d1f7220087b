# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The "ritz" head's forward pass in float64 numpy, for small batches.

:meth:`SingularValueRegressor.predict` on a few matrices is dominated by fixed
costs: input validation, and about a hundred small torch operations, each with
microseconds of dispatch overhead, plus the float64 re-run of the iteration for
matrices whose leftover energy float32 cannot resolve. :func:`ritz_plan` reads
a fitted :class:`~svlearn._mlp.SpectrumMLP` once into numpy arrays, and
:meth:`RitzPlan.predict` runs the same computation as
``SpectrumMLP._ritz_spectra`` with few, batched numpy operations. In float64
the leftover energy keeps its digits for every matrix, so nothing is redone,
and the result agrees with the torch path to float32 rounding.
"""

import weakref

import numpy as np
from sklearn.utils import assert_all_finite

from ._linalg import power_of_two_scaled, start_vectors
from ._numerics import ACTIVATIONS, CORRECTION_CLAMP, orthogonality_floor

# Squared Frobenius norms E inside which the matrices are used as they are.
# The iteration's block W A is of order E and its orthonormalisation squares
# it, so E**2 (times the Gram-Schmidt floor, 2**-96) must stay clear of
# float64's overflow (2**1024) and subnormals (2**-1022). All float32 input
# but zero matrices lies inside (E from 2**-298 to about 2**276); matrices
# outside are rescaled exactly by powers of two.
_SAFE_ENERGY = (2.0**-400, 2.0**400)
_FLOOR = orthogonality_floor(np.finfo(np.float64).eps)
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
    plan : RitzPlan or None
        None unless the module has the "ritz" head, its weights are on the
        CPU and its network is made of layers that :class:`RitzPlan` knows.
    """
    cached = _PLANS.get(module)
    if cached is not None and cached[0].is_current():
        return cached[1]
    stamp = _Stamp(module)
    plan = RitzPlan(module) if _supported(module) else None
    _PLANS[module] = (stamp, plan)
    return plan


def _layers(module):
    return [] if module.mlp is None else list(module.mlp)


def _supported(module):
    from torch import nn

    if getattr(module, "head", None) != "ritz" or module.template.device.type != "cpu":
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


class RitzPlan:
    """A fitted "ritz" head as float64 numpy arrays; build it with :func:`ritz_plan`.

    Parameters
    ----------
    module : SpectrumMLP
        A fitted module with the "ritz" head, on the CPU.
    """

    def __init__(self, module):
        import torch
        from torch import nn

        def array(tensor):
            return tensor.detach().to(torch.float64).numpy().copy()

        m, n = module.matrix_shape
        self.matrix_shape = (m, n)
        self.transpose = m < n  # iterate on A^T, as the torch head does
        self.k = module.n_components
        self.n_iter = module.n_iter
        k = self.k
        # The base spectrum [values, sqrt(rest) * template] as a linear map of
        # the features [values, sqrt(rest), sqrt(gain)].
        template = array(module.template)
        self.base = np.zeros((k + 2, k + template.size))
        self.base[:k, :k] = np.eye(k)
        self.base[k, k:] = template
        # The torch head's start block (cached there), read once in float64.
        start = start_vectors(min(m, n), max(k, 1), torch.float64, None)
        self.start_t = np.ascontiguousarray(start.numpy()[:k].T)  # (q, k)
        # The network as (weight^T, bias) products, each followed by its
        # activations; dropout is the identity here.
        self.layers = []
        for layer in _layers(module):
            if isinstance(layer, nn.Linear):
                weight_t = np.ascontiguousarray(array(layer.weight).T)
                self.layers.append([weight_t, array(layer.bias), []])
            elif (func := _activation(layer)) is not None:
                self.layers[-1][2].append(func)

    def predict(self, X):
        """Spectra of flat matrices, as ``SpectrumMLP`` computes them.

        Parameters
        ----------
        X : ndarray of shape (n_samples, m * n)
            float32 or float64 rows; any finite scale.

        Returns
        -------
        spectra : ndarray of shape (n_samples, min(m, n))
            Descending, float64.

        Raises
        ------
        ValueError
            If ``X`` holds NaN or infinity.
        """
        return self.spectra(X).pred

    def spectra(self, X):
        """Spectra of flat matrices with the iteration's certificate.

        Parameters
        ----------
        X : ndarray of shape (n_samples, m * n)
            float32 or float64 rows; any finite scale.

        Returns
        -------
        BlockSpectra
            As :func:`svlearn._mlp.equivariant_spectra` returns it.
        """
        from ._mlp import BlockSpectra

        X = X.astype(np.float64, copy=False)
        energy = np.einsum("ij,ij->i", X, X)
        exponents = np.zeros(len(X), dtype=np.int64)
        if _SAFE_ENERGY[0] <= energy.min() and energy.max() <= _SAFE_ENERGY[1]:
            inv_energy = 1.0 / energy
            unit = 1.0  # the energy of the normalised matrices
        else:
            # Zero, tiny, huge or non-finite matrices. Powers of two scale
            # exactly, so the other matrices' spectra do not change.
            if not np.isfinite(energy).all():
                assert_all_finite(X, input_name="X")
            X, exponents = power_of_two_scaled(X)
            energy = np.einsum("ij,ij->i", X, X)
            # 0 for zero matrices, whose features and spectra are then 0, as
            # in the torch head.
            nonzero = energy > 0
            inv_energy = np.divide(
                1.0, energy, out=np.zeros_like(energy), where=nonzero
            )
            unit = nonzero.astype(np.float64)
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if self.transpose:
            A = A.transpose(0, 2, 1)
        squares = self._features(A, inv_energy, unit)
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
            pred=np.ldexp(x_pred, exponents[:, None]),
            x=X,
            x_pred=x_pred,
            norms=norms,
            diagnostics=diagnostics,
            x_ritz=features[:, :k] * norms[:, None],
            x_rest=diagnostics[:, 0] * energy,
            x_energy=energy,
            exponents=exponents,
        )

    def _features(self, A, inv_energy, unit):
        """The network's input, from block subspace iteration on ``A``.

        Row layout, as in ``_linalg.top_singular_values``. Returns, per
        matrix scaled to unit energy, the squared Ritz values, the leftover
        energy and the last step's energy gain, shape ``(batch, k + 2)``.
        """
        k = self.k
        At = A.transpose(0, 2, 1)
        # The start block is shared: one product for the whole batch.
        W = before = (A @ self.start_t).transpose(0, 2, 1)
        for _ in range(self.n_iter):
            before = W
            W = _orthonormal_rows(W @ A) @ At
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
    deficient = ~(diag * diag > _FLOOR * np.einsum("bij,bij->bj", R, R)).all(1)
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
    floor = _FLOOR * np.einsum("bij,bij->bi", Y, Y)[:, :, None]
    for j in range(Y.shape[1]):
        v = Y[:, j : j + 1]  # (batch, 1, n), a view
        if j:
            done = Y[:, :j]
            for _ in range(2):
                v -= (v @ done.transpose(0, 2, 1)) @ done
        sq = v @ v.transpose(0, 2, 1)
        # 1 / sqrt, both correctly rounded, so that powers of two scale the
        # basis exactly (pow(sq, -0.5) may round differently at two scales).
        v *= (sq > floor[:, j : j + 1]) / np.sqrt(np.maximum(sq, _TINY))
    return Y
