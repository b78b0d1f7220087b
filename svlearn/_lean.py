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

from ._linalg import _start_vectors, power_of_two_scaled

# Squared Frobenius norms inside which the matrices are used as they are:
# every product of the iteration (up to the square of the matrix's scale) stays
# far from float64's overflow and subnormal ranges. All float32 input but zero
# matrices lies inside; matrices outside are rescaled exactly by powers of two.
_SAFE_ENERGY = (2.0**-600, 2.0**600)
# A basis vector that keeps less than 8 eps of its norm after projection is
# dependent to within rounding and becomes zero (as in _linalg's Gram-Schmidt).
_FLOOR = (8 * np.finfo(np.float64).eps) ** 2

# One plan per fitted module, dropped with the module; rebuilt when its
# weights change (see RitzPlan.is_current).
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
    known = (nn.Linear, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.Dropout)
    return all(
        isinstance(layer, known)
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


def _activation(layer):
    """The numpy form of a torch activation or dropout layer (None: identity)."""
    from scipy.special import erf, expit
    from torch import nn

    if isinstance(layer, nn.ReLU):
        return lambda h: np.maximum(h, 0.0, out=h)
    if isinstance(layer, nn.Tanh):
        return lambda h: np.tanh(h, out=h)
    if isinstance(layer, nn.Sigmoid):
        return lambda h: expit(h, out=h)
    if isinstance(layer, nn.GELU):
        if layer.approximate == "tanh":
            c = np.sqrt(2 / np.pi)
            return lambda h: 0.5 * h * (1 + np.tanh(c * (h + 0.044715 * h**3)))
        return lambda h: 0.5 * h * (1 + erf(h / np.sqrt(2)))
    return None  # dropout: the identity at prediction time


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
        self.template = array(module.template)
        # The torch head's start block (cached there), read once in float64.
        start = _start_vectors(min(m, n), max(self.k, 1), torch.float64, None)
        self.start_t = np.ascontiguousarray(start.numpy().T)  # (q, k)
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
        X = X.astype(np.float64, copy=False)
        energy = np.einsum("ij,ij->i", X, X)
        exponents = None
        if not (_SAFE_ENERGY[0] <= energy.min() and energy.max() <= _SAFE_ENERGY[1]):
            # Zero, tiny, huge or non-finite matrices. A power of two scales
            # exactly, so the spectra of the others do not change.
            if not np.isfinite(X).all():
                assert_all_finite(X, input_name="X")
            X, exponents = power_of_two_scaled(X)
            energy = np.einsum("ij,ij->i", X, X)
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if self.transpose:
            A = A.transpose(0, 2, 1)
        # 1 / energy, 0 for zero matrices: the unit-energy quantities below
        # are then 0, as in the torch head.
        inv_energy = np.divide(
            1.0, energy, out=np.zeros_like(energy), where=energy > 0
        )
        values, rest, gain = self._iterate(A, inv_energy)
        root_rest = np.sqrt(rest)[:, None]
        base = np.concatenate([values, root_rest * self.template], axis=1)
        spectrum = base
        if self.layers:
            hidden = np.concatenate([values, root_rest, np.sqrt(gain)[:, None]], 1)
            for weight_t, bias, activations in self.layers:
                hidden = hidden @ weight_t
                hidden += bias
                for func in activations:
                    hidden = func(hidden)
            # The torch head clamps the correction to keep float32 finite.
            spectrum = base * np.exp(np.clip(hidden, -30.0, 30.0))
        total = np.sqrt(np.einsum("ij,ij->i", spectrum, spectrum))
        scale = np.sqrt(energy) / np.where(total > 0, total, 1.0)
        spectrum.sort(axis=1)
        out = spectrum[:, ::-1] * scale[:, None]
        if exponents is not None:
            out = np.ldexp(out, exponents[:, None])
        return out

    def _iterate(self, A, inv_energy):
        """Block subspace iteration on ``A`` (row layout, as in ``_linalg``).

        Returns the Ritz values, the leftover energy and the last step's
        energy gain, all of the matrices scaled to unit energy.
        """
        k = self.k
        At = A.transpose(0, 2, 1)
        # The start block is shared: one product for the whole batch.
        W = before = np.matmul(A, self.start_t[:, :k]).transpose(0, 2, 1)
        for _ in range(self.n_iter):
            before = W
            W = _orthonormalize_rows(W @ A) @ At
        captured = np.einsum("bij,bij->b", W, W)
        if k == 1:
            values = np.sqrt(captured * inv_energy)[:, None]
        else:
            gram = (W @ W.transpose(0, 2, 1)) * inv_energy[:, None, None]
            eig = np.linalg.eigvalsh(gram)[:, ::-1]
            values = np.sqrt(np.maximum(eig, 0.0))
        rest = np.maximum(1.0 - captured * inv_energy, 0.0)
        rest[inv_energy == 0] = 0.0
        gain = captured - np.einsum("bij,bij->b", before, before)
        gain = np.maximum(gain, 0.0) * inv_energy
        return values, rest, gain


def _orthonormalize_rows(Y):
    """Twice-projected Gram-Schmidt on the rows of a batch of ``k x n`` blocks.

    The numpy form of ``_linalg._orthonormalize_rows``, in place: each row is
    projected twice on the rows before it (as a block), and a row that keeps
    less than ``8 eps`` of its norm becomes zero.
    """
    floor = _FLOOR * np.einsum("bij,bij->bi", Y, Y)
    for j in range(Y.shape[1]):
        v = Y[:, j : j + 1]  # (batch, 1, n), a view
        if j:
            done = Y[:, :j]
            for _ in range(2):
                v -= (v @ done.transpose(0, 2, 1)) @ done
        sq = np.einsum("bij,bij->b", v, v)
        # inf ** -0.5 is 0: dependent (and zero) rows vanish.
        v *= (np.where(sq > floor[:, j], sq, np.inf) ** -0.5)[:, None, None]
    return Y
