# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The "ends" head's CPU form: predict's route on the CPU, for every batch.

:class:`EndsPlan` reads a fitted ``SpectrumMLP`` with the "ends" head once
into numpy arrays and computes what ``SpectrumMLP._ends_spectra`` does (the
numerics of :mod:`svlearn._ends` and :class:`~svlearn._ends.EndsHead`) with
few, batched operations: the torch module's per-operation overhead and its
loops over the rows of each block (Gram-Schmidt) cost more than the
arithmetic.

Both ends work on the float64 Gram matrix ``G = A^T A / ||A||_F**2``,
formed once per matrix:

* the top end is the same block subspace iteration as the torch form's
  (``V <- orth(V G)`` is ``V <- orth(W A)`` with ``W = V A^T``), with the
  Ritz problem ``V G V^T``; in float64 throughout, so no matrix needs the
  torch form's float32 pass and its float64 redo;
* the bottom end is the same inverse iteration, each step a product with
  the inverse of the shifted ``G`` (formed once from its Cholesky factor,
  where the torch form solves with the factor at every step), and
  Rayleigh-Ritz on ``A`` itself (whose small values keep their digits).

The small factorisations (Cholesky and the inverse from it, QR, symmetric
eigenvalues) run through torch's batched LAPACK calls, on numpy memory, which
cost less per matrix than numpy's (numpy's QR and ``eigvalsh`` on stacks of
32 x 8 and 8 x 8 blocks take about twice as long); products and everything
else are numpy.
Every computation is per matrix, so a row's result does not depend on its
batch. The bases differ from the torch form's Gram-Schmidt ones by signs and
rounding, to which the Ritz values are blind.
"""

from typing import NamedTuple

import numpy as np

from ._ends import bottom_start
from ._linalg import start_vectors, times_power_of_two
from ._numerics import (
    CORRECTION_CLAMP,
    ENDS_FLOOR,
    ENDS_LOG_SCALE,
    ENDS_RETRY_SHIFT,
    ENDS_SHIFT,
)

_TINY = np.finfo(np.float64).tiny


class EndsPlan:
    """A fitted "ends" head as float64 numpy arrays; built by ``ritz_plan``.

    Parameters
    ----------
    module : SpectrumMLP
        A fitted module with the "ends" head, on the CPU.
    layers : list of [ndarray, ndarray, list of callable]
        The network as ``(weight^T, bias, activations)`` per linear layer,
        float64 (empty: no network).
    """

    def __init__(self, module, layers):
        import torch

        head = module.ends
        m, n = module.matrix_shape
        self.matrix_shape = (m, n)
        self.transpose = m < n  # the Gram matrix of the smaller side
        self.n_values = head.n_values
        self.k_top, self.n_iter = head.k_top, head.n_iter
        self.k_bottom, self.n_inverse = head.k_bottom, head.n_inverse
        self.n_middle = head.n_middle
        self.slope = head.slope.detach().to(torch.float64).numpy().copy()
        size = min(m, n)
        # The torch form's start blocks, read once in float64.
        start = start_vectors(size, max(self.k_top, 1), torch.float64, None)
        self.start = np.ascontiguousarray(start.numpy()[: self.k_top])  # (k, n)
        # (k_bottom, n); none when the top takes every value.
        self.bottom_start = bottom_start(size, self.k_bottom) if self.k_bottom else None
        self.layers = layers

    def spectra(self, X):
        """Spectra of flat matrices with the top end's certificate.

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

        x, exponents = _scaled_rows(X)
        nums = self.numerics(self._stack(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            unit = self.forward(nums)
        energy = nums.energy
        norms = np.sqrt(energy)
        x_pred = unit * norms[:, None]
        diagnostics = np.stack([nums.rest, nums.gain], axis=1)
        return BlockSpectra(
            pred=times_power_of_two(x_pred, exponents[:, None]),
            x=x,
            x_pred=x_pred,
            norms=norms,
            diagnostics=diagnostics,
            x_ritz=nums.top * norms[:, None],
            x_rest=nums.rest * energy,
            x_energy=energy,
            exponents=exponents,
        )

    def _stack(self, x):
        """Flat rows as matrices with the smaller side last."""
        m, n = self.matrix_shape
        A = x.reshape(-1, m, n)
        return A.transpose(0, 2, 1) if self.transpose else A

    def numerics(self, A):
        """Both ends of matrices ``A`` (``m >= n``, float64), at unit energy.

        Returns
        -------
        EndsArrays
            As :class:`svlearn._ends.EndsNumerics`, with ``energy`` the
            matrices' own ``||A||_F**2`` (the spectra are normalised to 1).
        """
        import torch

        b, _, n = A.shape
        # Not normalised (the rows' peaks lie in [0.5, 1)): the results are,
        # by the energy's reciprocal (1 for zero matrices, as in the torch form).
        G = A.transpose(0, 2, 1) @ A
        energy = np.trace(G, axis1=1, axis2=2).copy()
        unit = (energy > 0).astype(np.float64)
        inv = 1.0 / np.where(energy > 0, energy, 1.0)
        top, rest, gain = self._top(G, inv, unit)
        quartic = np.einsum("bij,bij->b", G, G) * inv**2
        # The shifted Gram matrix (G, shifted in place), factorised; rows
        # that fail get a larger shift (zero matrices too: the retry shift
        # alone is positive).
        shift = ENDS_SHIFT * energy
        diagonal = G.reshape(b, n * n)[:, :: n + 1]  # a view
        diagonal += shift[:, None]
        L, info = torch.linalg.cholesky_ex(torch.from_numpy(G))
        failed = (info > 0).numpy()
        if failed.any():
            extra = ENDS_RETRY_SHIFT * energy[failed] + ENDS_RETRY_SHIFT
            retry = G[failed] + (extra - shift[failed])[:, None, None] * np.eye(n)
            L[torch.from_numpy(failed)] = torch.linalg.cholesky_ex(
                torch.from_numpy(retry)
            )[0]
        pivots = np.diagonal(L.numpy(), axis1=1, axis2=2) * np.sqrt(inv)[:, None]
        pivots = -np.sort(-pivots, axis=1)
        log_det = 2 * np.log(pivots).sum(1)
        bottom = self._bottom(A, L, inv)
        return EndsArrays(
            top=top,
            bottom=bottom,
            rest=rest,
            gain=gain,
            log_det=log_det,
            quartic=quartic,
            pivots=pivots,
            energy=energy,
        )

    def _top(self, G, inv, unit):
        """Ritz values, leftover energy and last gain of the top iteration.

        All three for the normalised Gram matrices ``G * inv``.
        """
        V = self.start
        P = _shared_product(G, V)  # V0 G
        # ||V0 A^T||_F**2 = trace(V0 G V0^T), as one product.
        before = P.transpose(0, 2, 1).reshape(len(G), -1) @ V.T.ravel()
        for step in range(self.n_iter):
            if step:
                before = np.einsum("bkn,bkn->b", P, V)
            V = _orthonormal_rows(P)
            P = V @ G
        if not self.n_iter:
            V = np.broadcast_to(V, P.shape)
        C = P @ V.transpose(0, 2, 1)
        captured = np.trace(C, axis1=1, axis2=2) * inv
        rest = np.maximum(unit - captured, 0.0)
        gain = np.maximum(captured - before * inv, 0.0)
        if not self.n_iter:
            gain[:] = 0.0
        return _descending_roots(C * inv[:, None, None]), rest, gain

    def _bottom(self, A, L, inv):
        """Smallest values by inverse iteration with the Cholesky factor ``L``.

        The steps multiply by the inverse of the shifted Gram matrix, formed
        from ``L`` once (LAPACK ``potri``): cheaper than two triangular
        solves per step, and as accurate for the block's directions (its
        errors are rounding of the inverse's norm, which the smallest values
        set).
        """
        import torch

        b, _, n = A.shape
        if self.k_bottom == 0:
            return np.zeros((b, 0))
        M = torch.cholesky_inverse(L).numpy()
        # Symmetric: its transpose is the same matrix, in row-major order.
        M = M.transpose(0, 2, 1) if not M.flags.c_contiguous else M
        V = self.bottom_start
        P = _shared_product(M, V)  # V0 M
        for step in range(self.n_inverse):
            if step:
                P = V @ M
            V = _orthonormal_rows(P)
        if not self.n_inverse:
            V = np.broadcast_to(V, (b, *V.shape))
        # Rayleigh-Ritz of the normalised G = W^T W, without forming it.
        W = V @ A.transpose(0, 2, 1)
        gram = (W @ W.transpose(0, 2, 1)) * inv[:, None, None]
        return _descending_roots(gram)

    def forward(self, nums):
        """Unit-energy spectra, descending: ``EndsHead.forward`` in numpy."""
        kt, kb, mid = self.k_top, self.k_bottom, self.n_middle
        log_top = np.log(np.maximum(nums.top, ENDS_FLOOR))
        log_bottom = np.log(np.maximum(nums.bottom, ENDS_FLOOR))
        parts = [log_top]
        if mid:
            first, last = log_top[:, -1:], log_bottom[:, :1]
            parts.append(first + (last - first) * self.slope)
        parts.append(log_bottom)
        base = np.concatenate(parts, axis=1)
        half_det = nums.log_det[:, None] / 2
        known = 0.5 * np.log(nums.top**2 + ENDS_SHIFT).sum(1, keepdims=True)
        known += 0.5 * np.log(nums.bottom**2 + ENDS_SHIFT).sum(1, keepdims=True)
        middle_mean = (half_det - known) / max(mid, 1)
        if self.layers:
            hidden = np.concatenate(
                [
                    nums.top,
                    np.sqrt(nums.rest)[:, None],
                    np.sqrt(nums.gain)[:, None],
                    log_bottom / ENDS_LOG_SCALE,
                    middle_mean / ENDS_LOG_SCALE,
                    nums.quartic[:, None],
                    np.log(np.maximum(nums.pivots, ENDS_FLOOR)) / ENDS_LOG_SCALE,
                ],
                axis=1,
            )
            for weight_t, bias, activations in self.layers:
                hidden = hidden @ weight_t
                hidden += bias
                for func in activations:
                    hidden = func(hidden)
            np.clip(hidden, -CORRECTION_CLAMP, CORRECTION_CLAMP, out=hidden)
            base[:, : self.n_values - kb] += hidden
        base = self._above_bottom(base, log_bottom)
        # Unit energy, then the log-determinant by the middle, twice.
        for _ in range(2):
            base -= _logsumexp(2 * base) / 2
            if mid:
                _match_log_det(base, kt, mid, half_det)
        values = np.exp(self._above_bottom(base, log_bottom))
        spectrum = self._within_bounds(values, nums)
        spectrum[nums.energy <= 0] = 0.0
        spectrum.sort(axis=1)
        return spectrum[:, ::-1]

    def _above_bottom(self, log_values, log_bottom):
        """``EndsHead._above_bottom``, in place: the bottom values as inverse
        iteration gives them, and the values above no lower than they are."""
        if self.k_bottom:
            split = self.n_values - self.k_bottom
            upper = log_values[:, :split]
            np.maximum(upper, log_bottom[:, :1], out=upper)
            log_values[:, split:] = log_bottom
        return log_values

    def _within_bounds(self, values, nums):
        """``EndsHead._within_bounds``: the top inside its certified intervals."""
        k, mid = self.k_top, self.n_middle
        lower = nums.top
        rest = nums.rest[:, None]
        upper = np.sqrt(lower**2 + rest)
        top, below = values[:, :k], values[:, k:]
        below_sq = np.einsum("ij,ij->i", below, below)[:, None]
        room = 1 - below_sq
        feasible = room > np.einsum("ij,ij->i", lower, lower)[:, None]
        top_sq = np.einsum("ij,ij->i", top, top)[:, None]
        scale = np.sqrt(np.maximum(room, _TINY) / top_sq)
        top = np.where(feasible, top * scale, lower)
        top = np.minimum(np.maximum(top, lower), upper)
        # Infeasible: the middle (all values below the top if there is none)
        # shrinks to the leftover energy that the pinned bottom leaves.
        shrinking = below[:, :mid] if mid else below
        shrinking_sq = np.einsum("ij,ij->i", shrinking, shrinking)[:, None]
        fixed = below_sq - shrinking_sq
        share = np.sqrt(
            np.maximum(rest - fixed, _TINY) / np.maximum(shrinking_sq, _TINY)
        )
        factors = np.ones_like(below)
        factors[:, : shrinking.shape[1]] = share
        below = np.where(feasible, below, below * factors)
        out = np.concatenate([top, below], axis=1)
        total = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
        return out / np.maximum(total, _TINY)


class EndsArrays(NamedTuple):
    """What :meth:`EndsPlan.numerics` gives one batch: float64, unit energy."""

    top: np.ndarray  # (b, k_top) Ritz values of the top end, descending
    bottom: np.ndarray  # (b, k_bottom) of the bottom end, descending
    rest: np.ndarray  # (b,) energy outside the top values
    gain: np.ndarray  # (b,) energy the top iteration's last step added
    log_det: np.ndarray  # (b,) sum(log(sigma**2 + ENDS_SHIFT))
    quartic: np.ndarray  # (b,) sum(sigma**4)
    pivots: np.ndarray  # (b, n) the Cholesky factor's diagonal, descending
    energy: np.ndarray  # (b,) the matrices' own ||A||_F**2


def _scaled_rows(X):
    """Rows in float64, scaled exactly by powers of two to peaks in [0.5, 1).

    Every row is scaled, so that ``X`` and ``2**j * X`` give the same rows.

    Returns
    -------
    x : ndarray of shape (n, m * n), float64
    exponents : ndarray of shape (n,) of int
        ``X == x * 2**exponents``.
    """
    from sklearn.utils import assert_all_finite

    peak = np.maximum(X.max(axis=1), -X.min(axis=1)).astype(np.float64)
    if not np.isfinite(peak).all():
        assert_all_finite(X, input_name="X")
    exponents = np.frexp(peak)[1].astype(np.int64)
    # Two factors, each a normal number for every float64 exponent.
    half = exponents // 2
    x = X.astype(np.float64)
    x *= np.ldexp(1.0, -half)[:, None]
    x *= np.ldexp(1.0, half - exponents)[:, None]
    return x, exponents


def _shared_product(M, V):
    """``V @ M`` for a shared block ``V`` (k, n) and symmetric ``M`` (b, n, n).

    One product for the whole batch, as ``(M V^T)^T``.
    """
    b, n, _ = M.shape
    k = len(V)
    return (M.reshape(b * n, n) @ V.T).reshape(b, n, k).transpose(0, 2, 1)


def _orthonormal_rows(P):
    """An orthonormal basis of the rows of each ``k x n`` block, as rows.

    Householder QR (LAPACK ``geqrf`` and ``orgqr``) of each block's
    transpose; the Ritz values do not depend on which basis of the span
    this is.
    """
    import torch

    Y = torch.from_numpy(P).mT
    return torch.linalg.householder_product(*torch.geqrf(Y)).mT.numpy()


def _descending_roots(C):
    """Square roots of the eigenvalues of symmetric ``C``, descending."""
    import torch

    eig = torch.linalg.eigvalsh(torch.from_numpy(C)).numpy()[:, ::-1]
    return np.sqrt(np.maximum(eig, 0.0))


def _logsumexp(values):
    """``log(sum(exp(values)))`` per row, shape ``(n, 1)``."""
    peak = values.max(axis=1, keepdims=True)
    return peak + np.log(np.exp(values - peak).sum(axis=1, keepdims=True))


def _match_log_det(log_values, start, size, half_det, steps=4):
    """``svlearn._ends._match_log_det`` in numpy, in place."""
    middle = log_values[:, start : start + size]
    others = np.concatenate(
        [log_values[:, :start], log_values[:, start + size :]], axis=1
    )
    fixed = 0.5 * np.log(np.exp(2 * others) + ENDS_SHIFT).sum(1, keepdims=True)
    u = np.zeros_like(half_det)
    for _ in range(steps):
        sq = np.exp(2 * (middle + u))
        value = fixed + 0.5 * np.log(sq + ENDS_SHIFT).sum(1, keepdims=True)
        slope = (sq / (sq + ENDS_SHIFT)).sum(1, keepdims=True)
        u = np.clip(u - (value - half_det) / np.maximum(slope, 1e-3), -20, 20)
    middle += u
