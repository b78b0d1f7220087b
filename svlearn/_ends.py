# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Both ends of a spectrum: the "ends" head's numerics and network.

The top of a spectrum comes from block subspace iteration (``_linalg``). The
bottom comes from inverse subspace iteration on the Gram matrix
``G = A^T A``: a Cholesky factor of ``G + shift I`` (float64, so that the
squared condition number keeps the small end) turns each step into two
triangular solves, and Rayleigh-Ritz of ``G`` on the block gives the
smallest values (upper bounds that converge fast, at the rate of the ratios
of the smallest values). The same factor gives ``sum(log(sigma**2 + shift))``
exactly, and the Gram matrix ``sum(sigma**4)``.

:func:`bottom_end` (torch) and :func:`bottom_end_numpy` compute the same
quantities; :class:`EndsHead` is the network that joins the two ends and
shapes the middle. This is the torch form, which training and accelerators
run; predict on the CPU runs its numpy form, :mod:`svlearn._ends_numpy`.
The settings both forms share live in :mod:`svlearn._numerics`.
"""

import functools
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ._linalg import leading_values_and_rest, orthonormalize_rows
from ._numerics import (
    CORRECTION_CLAMP,
    ENDS_FLOOR,
    ENDS_LOG_SCALE,
    ENDS_RETRY_SHIFT,
    ENDS_SHIFT,
    INVERSE_STEPS,
)

__all__ = [
    "INVERSE_STEPS",
    "EndsHead",
    "EndsNumerics",
    "LogSpectrumLoss",
    "bottom_end",
    "bottom_end_numpy",
    "bottom_start",
    "ends_numerics",
]

# The whole-spectrum metrics' floor, relative to the largest value: the
# training loss compares logarithms above it.
FLOOR_RELATIVE = 1e-6


@functools.lru_cache(maxsize=32)
def bottom_start(n, k):
    """A fixed start block for the bottom end: rows, shape ``(k, n)``, float64.

    The highest-frequency DCT-II vectors, slightly perturbed (as the top
    end's start block is) so that no singular vector is exactly missed, and
    orthonormalised. Smooth matrices (images) have their smallest singular
    vectors at high frequencies. Never modified in place.

    Examples
    --------
    >>> import numpy as np
    >>> V = bottom_start(8, 3)
    >>> V.shape, np.allclose(V @ V.T, np.eye(3))
    ((3, 8), True)
    """
    i = np.arange(n)
    V = np.stack(
        [np.cos(np.pi * j * (i + 0.5) / n) for j in range(n - 1, n - 1 - k, -1)],
        axis=-1,
    )
    V += 0.05 * np.random.default_rng(n + 1).standard_normal((n, k))
    V = np.linalg.qr(V)[0]
    out = np.ascontiguousarray(V.T)
    out.flags.writeable = False
    return out


def bottom_end(A, inv, k, n_iter):
    """Smallest singular values, log-determinant and fourth moment (torch).

    Runs on ``A * inv`` (normalised matrices) in float64.

    Parameters
    ----------
    A : Tensor of shape (batch, m, n)
        Matrices with ``m >= n`` (transpose wider ones first).
    inv : Tensor of shape (batch, 1)
        Reciprocal Frobenius norms (0 for a zero matrix).
    k : int
        Number of smallest values, ``0 <= k <= n``.
    n_iter : int
        Inverse iteration steps, at least 1 when ``k > 0``.

    Returns
    -------
    values : Tensor of shape (batch, k), float64
        The ``k`` smallest singular values of ``A * inv``, descending (upper
        bounds; below about ``sqrt(ENDS_SHIFT)`` they are rounding).
    log_det : Tensor of shape (batch, 1), float64
        ``sum(log(sigma_i**2 + shift))`` over all ``n`` values, with
        ``shift = ENDS_SHIFT * ||A * inv||_F**2``.
    quartic : Tensor of shape (batch, 1), float64
        ``sum(sigma_i**4) = ||G||_F**2``.
    pivots : Tensor of shape (batch, n), float64
        The Cholesky factor's diagonal, descending: the diagonal of ``R`` in
        ``A = QR`` up to signs (with the shift), whose product is
        ``sqrt(det(G + shift I))``; a rough, cheap profile of the spectrum.
    """
    b, m, n = A.shape
    A64 = A.double()
    scale = (inv.double() ** 2)[:, :, None]
    # The normalisation is applied to the (smaller or equal) Gram matrix.
    G = (A64.mT @ A64) * scale
    trace = G.diagonal(dim1=-2, dim2=-1).sum(-1)
    quartic = (G * G).sum((-2, -1))[:, None]
    # G is not needed after this: shifted in place.
    G.diagonal(dim1=-2, dim2=-1).add_((ENDS_SHIFT * trace)[:, None])
    L, info = torch.linalg.cholesky_ex(G)
    failed = info > 0
    if failed.any():
        # Also zero matrices (trace 0): the retry shift alone is positive.
        retry = G[failed]
        extra = (ENDS_RETRY_SHIFT - ENDS_SHIFT) * trace[failed] + ENDS_RETRY_SHIFT
        retry.diagonal(dim1=-2, dim2=-1).add_(extra[:, None])
        L = L.clone()
        L[failed] = torch.linalg.cholesky_ex(retry)[0]
    pivots = L.diagonal(dim1=-2, dim2=-1).sort(-1, descending=True).values
    log_det = 2 * pivots.log().sum(-1)[:, None]
    if k == 0:
        return G.new_zeros(b, 0), log_det, quartic, pivots
    V = torch.tensor(bottom_start(n, k), device=G.device).expand(b, k, n)
    for _ in range(n_iter):
        V = orthonormalize_rows(torch.cholesky_solve(V.mT, L).mT)
    # Rayleigh-Ritz of the normalised G = W^T W, without forming it.
    W = A64 @ V.mT
    eig = torch.linalg.eigvalsh((W.mT @ W) * scale).flip(-1)
    return eig.clamp_min(0).sqrt(), log_det, quartic, pivots


def bottom_end_numpy(A, k, n_iter):
    """:func:`bottom_end` in float64 numpy, for the normalised matrices ``A``.

    Parameters
    ----------
    A : ndarray of shape (batch, m, n)
        Normalised matrices (``||A||_F = 1``, or 0), ``m >= n``.
    k, n_iter : int
        As for :func:`bottom_end`.

    Returns
    -------
    values, log_det, quartic, pivots : ndarray
        As :func:`bottom_end` returns them.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([0.8, 0.6, 0.0])[None]
    >>> values, log_det, quartic, pivots = bottom_end_numpy(A, 2, 20)
    >>> values.round(6), quartic.round(4)
    (array([[0.6, 0. ]]), array([[0.5392]]))
    """
    A = np.asarray(A, dtype=np.float64)
    b, m, n = A.shape
    G = A.transpose(0, 2, 1) @ A
    trace = np.trace(G, axis1=-2, axis2=-1)
    quartic = np.einsum("bij,bij->b", G, G)[:, None]
    shifted = G + (ENDS_SHIFT * trace)[:, None, None] * np.eye(n)
    try:
        L = np.linalg.cholesky(shifted)
    except np.linalg.LinAlgError:
        L = np.empty_like(G)
        for i in range(b):  # the rare failures, one matrix at a time
            try:
                L[i] = np.linalg.cholesky(shifted[i])
            except np.linalg.LinAlgError:
                extra = ENDS_RETRY_SHIFT * trace[i] + ENDS_RETRY_SHIFT
                L[i] = np.linalg.cholesky(G[i] + extra * np.eye(n))
    pivots = -np.sort(-np.diagonal(L, axis1=-2, axis2=-1), axis=-1)
    log_det = 2 * np.log(pivots).sum(-1)[:, None]
    if k == 0:
        return np.zeros((b, 0)), log_det, quartic, pivots
    V = np.broadcast_to(bottom_start(n, k), (b, k, n))
    for _ in range(n_iter):
        Y = np.linalg.solve(L, V.transpose(0, 2, 1))
        Y = np.linalg.solve(L.transpose(0, 2, 1), Y)
        V = np.linalg.qr(Y)[0].transpose(0, 2, 1)
    W = A @ V.transpose(0, 2, 1)
    eig = np.linalg.eigvalsh(W.transpose(0, 2, 1) @ W)
    return np.sqrt(np.clip(eig[:, ::-1], 0, None)), log_det, quartic, pivots


class EndsNumerics(NamedTuple):
    """What the numerics give one batch, normalised to unit energy (float64)."""

    top: torch.Tensor  # (b, k_top) Ritz values of the top end, descending
    bottom: torch.Tensor  # (b, k_bottom) of the bottom end, descending
    rest: torch.Tensor  # (b, 1) energy outside the top values
    gain: torch.Tensor  # (b, 1) energy the top iteration's last step added
    log_det: torch.Tensor  # (b, 1) sum(log(sigma**2 + ENDS_SHIFT))
    quartic: torch.Tensor  # (b, 1) sum(sigma**4)
    pivots: torch.Tensor  # (b, n) the Cholesky factor's diagonal, descending
    energy: torch.Tensor  # (b, 1) ||A * inv||_F**2, 1 up to rounding


def ends_numerics(A, norms, k_top, n_iter, k_bottom, n_inverse):
    """:class:`EndsNumerics` of a batch ``A`` (``m >= n``) of Frobenius ``norms``."""
    with torch.no_grad():
        top, rest, energy, inv, _, gain = leading_values_and_rest(
            A, k_top, n_iter, norms
        )
        bottom, log_det, quartic, pivots = bottom_end(A, inv, k_bottom, n_inverse)
        safe = torch.where(energy > 0, energy, 1.0)
        root = safe.sqrt()
        # Both ends see A * inv, whose energy is 1 only up to the rounding
        # of inv: rescale to energy 1 exactly.
        return EndsNumerics(
            top / root,
            bottom / root,
            rest / safe,
            gain / safe,
            log_det - A.shape[-1] * torch.log(safe),
            quartic / safe**2,
            pivots / root,
            energy,
        )


class EndsHead(nn.Module):
    """Spectra from both ends' numerics and a network for the middle.

    The base spectrum, in logarithms, holds the top Ritz values, the bottom
    Ritz values and between them a straight line from the last top value to
    the first bottom value. The network maps scale-free features of the
    numerics (the normalised Ritz values of both ends, the leftover energy,
    the last gain, the mean logarithm that the log-determinant leaves to the
    middle, and the fourth moment) to an additive correction of the
    logarithms of the top and middle values; the bottom values stay as
    inverse iteration gives them. The middle is then shifted, in logarithms, so that the
    spectrum's log-determinant is the exact one, and the whole spectrum is
    scaled to the exact energy and sorted.

    Parameters
    ----------
    n_values : int
        Singular values per matrix, ``min(m, n)``.
    k_top, n_iter : int
        Top-end subspace iteration: vectors and steps.
    k_bottom, n_inverse : int
        Bottom-end inverse iteration: vectors and steps (at most
        ``n_values - k_top`` vectors are used).
    hidden_layer_sizes : tuple of int or None
        The network's hidden layers; None is no network (the base spectrum
        with the log-determinant and energy constraints).
    activation : type
        The activation module's class.
    """

    def __init__(
        self,
        n_values,
        k_top,
        n_iter,
        k_bottom,
        n_inverse,
        hidden_layer_sizes,
        activation,
    ):
        super().__init__()
        self.n_values = n_values
        self.k_top = min(k_top, n_values)
        self.n_iter = n_iter
        self.k_bottom = min(k_bottom, n_values - self.k_top)
        self.n_inverse = n_inverse
        self.n_middle = n_values - self.k_top - self.k_bottom
        # Interpolation weights of the middle, between the last top value and
        # the first bottom value, in logarithms.
        steps = torch.arange(1, self.n_middle + 1, dtype=torch.float64)
        self.register_buffer("slope", steps / (self.n_middle + 1), persistent=False)
        self.mlp = None
        if hidden_layer_sizes is None:
            return
        n_in = self.k_top + self.k_bottom + 4 + n_values
        layers = []
        for width in hidden_layer_sizes:
            layers += [nn.Linear(n_in, width), activation()]
            n_in = width
        # The bottom values are left as the numerics give them: inverse
        # iteration pins them more tightly than a network would.
        layers.append(nn.Linear(n_in, n_values - self.k_bottom))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.mlp = nn.Sequential(*layers)

    def numerics(self, A, norms):
        """:class:`EndsNumerics` of matrices ``A`` (``m >= n``)."""
        return ends_numerics(
            A, norms, self.k_top, self.n_iter, self.k_bottom, self.n_inverse
        )

    def forward(self, nums):
        """Unit-energy spectra (float64) from a batch's :class:`EndsNumerics`."""
        log_top = nums.top.clamp_min(ENDS_FLOOR).log()
        log_bottom = nums.bottom.clamp_min(ENDS_FLOOR).log()
        ends = [log_top[:, -1:], log_bottom[:, :1] if self.k_bottom else None]
        parts = [log_top]
        if self.n_middle:
            parts.append(ends[0] + (ends[1] - ends[0]) * self.slope)
        parts.append(log_bottom)
        base = torch.cat(parts, -1)
        half_det = nums.log_det / 2
        known = (0.5 * torch.log(nums.top**2 + ENDS_SHIFT)).sum(-1, keepdim=True)
        known = known + (0.5 * torch.log(nums.bottom**2 + ENDS_SHIFT)).sum(
            -1, keepdim=True
        )
        middle_mean = (half_det - known) / max(self.n_middle, 1)
        if self.mlp is not None:
            features = torch.cat(
                [
                    nums.top,
                    nums.rest.clamp_min(0).sqrt(),
                    nums.gain.clamp_min(0).sqrt(),
                    log_bottom / ENDS_LOG_SCALE,
                    middle_mean / ENDS_LOG_SCALE,
                    nums.quartic,
                    nums.pivots.clamp_min(ENDS_FLOOR).log() / ENDS_LOG_SCALE,
                ],
                -1,
            ).float()
            correction = self.mlp(features)
            correction = correction.clamp(-CORRECTION_CLAMP, CORRECTION_CLAMP)
            base = base + nn.functional.pad(correction, (0, self.k_bottom))
        base = self._above_bottom(base, log_bottom)
        # Unit energy, then the log-determinant by the middle (which moves the
        # energy a little), twice.
        for _ in range(2):
            base = base - torch.logsumexp(2 * base, dim=-1, keepdim=True) / 2
            if self.n_middle:
                base = _match_log_det(base, self.k_top, self.n_middle, half_det)
        spectrum = self._within_bounds(self._above_bottom(base, log_bottom).exp(), nums)
        spectrum = spectrum * nums.energy.sqrt()
        zero = nums.energy <= 0
        return torch.where(zero, 0.0, spectrum).sort(dim=-1, descending=True).values

    def _within_bounds(self, values, nums):
        """Top values inside their certified intervals, at exact unit energy.

        The Ritz values are lower bounds of the top values and
        ``sqrt(ritz**2 + rest)`` upper bounds. The top values, which hold
        most of the energy, are scaled together to the energy that the
        values below them leave, and clipped into their intervals; where
        that is impossible (the values below hold more than the leftover
        energy), the top values sit at their lower bounds and the middle
        shrinks to the leftover energy that the pinned bottom leaves. A last
        common factor, close to 1, makes the energy exact. So neither the
        network's middle nor the pinned bottom is rescaled by the small
        errors of the top.
        """
        k = self.k_top
        tiny = torch.finfo(values.dtype).tiny
        lower = nums.top
        upper = (lower**2 + nums.rest.clamp_min(0)).sqrt()
        top, below = values[:, :k], values[:, k:]
        below_sq = (below**2).sum(-1, keepdim=True)
        room = 1 - below_sq
        feasible = room > (lower**2).sum(-1, keepdim=True)
        # Square roots of positive numbers only: finite gradients.
        scale = (room.clamp_min(tiny) / (top**2).sum(-1, keepdim=True)).sqrt()
        top = torch.where(feasible, top * scale, lower)
        top = torch.minimum(torch.maximum(top, lower), upper)
        # Infeasible: the middle shrinks to the leftover energy that the
        # pinned bottom leaves (all values below the top if there is no
        # middle).
        shrinking = below[:, : self.n_middle] if self.n_middle else below
        fixed = below_sq - (shrinking**2).sum(-1, keepdim=True)
        share = (
            (nums.rest - fixed).clamp_min(tiny)
            / (shrinking**2).sum(-1, keepdim=True).clamp_min(tiny)
        ).sqrt()
        factors = torch.ones_like(below)
        factors[:, : shrinking.shape[-1]] = share
        below = torch.where(feasible, below, below * factors)
        out = torch.cat([top, below], -1)
        total = torch.linalg.vector_norm(out, dim=-1, keepdim=True)
        return out / total.clamp_min(tiny)

    def _above_bottom(self, log_values, log_bottom):
        """Top and middle values no lower than the largest bottom value.

        That value is an upper bound of its singular value and the values
        above it are at least as large, so nothing is lost; without it a
        middle value below the bottom ones would take their place in the
        sorted spectrum.
        """
        if not self.k_bottom:
            return log_values
        upper = log_values[:, : self.n_values - self.k_bottom]
        upper = torch.maximum(upper, log_bottom[:, :1])
        return torch.cat([upper, log_bottom], -1)


def _match_log_det(log_values, start, size, half_det, steps=4):
    """Shift ``log_values[:, start:start + size]`` so that the spectrum's
    ``sum(log(sigma**2 + ENDS_SHIFT)) / 2`` is ``half_det``.

    Newton's method on the shift ``u`` (the sum is increasing and concave in
    it), from 0, clamped to ``[-20, 20]`` per step.
    """
    middle = log_values[:, start : start + size]
    others = torch.cat([log_values[:, :start], log_values[:, start + size :]], -1)
    fixed = 0.5 * torch.log((2 * others).exp() + ENDS_SHIFT).sum(-1, keepdim=True)
    u = torch.zeros_like(half_det)
    for _ in range(steps):
        sq = (2 * (middle + u)).exp()
        value = fixed + 0.5 * torch.log(sq + ENDS_SHIFT).sum(-1, keepdim=True)
        slope = (sq / (sq + ENDS_SHIFT)).sum(-1, keepdim=True)
        u = (u - (value - half_det) / slope.clamp_min(1e-3)).clamp(-20, 20)
    return torch.cat(
        [log_values[:, :start], middle + u, log_values[:, start + size :]], -1
    )


class LogSpectrumLoss(nn.Module):
    """Training loss that counts every singular value: the "log" loss.

    The mean over values and matrices of the squared log-ratio
    ``(log max(s_hat, f) - log max(s, f))**2``, with the floor
    ``f = FLOOR_RELATIVE * s_1`` of the whole-spectrum metrics, plus
    ``weight`` times the per-matrix squared error ``sum((s_hat - s)**2)``
    (averaged over the matrices), which on normalised spectra is the NMSE and
    keeps the large values as exact as the "mse" loss does.

    Parameters
    ----------
    weight : float, default=1e4
        Weight of the squared error. At 1e4, an NMSE of 1e-4 weighs as much
        as relative errors of 0.1 at every index.

    Examples
    --------
    >>> import torch
    >>> loss = LogSpectrumLoss(weight=0.0)
    >>> y = torch.tensor([[1.0, 0.5]])
    >>> round(loss(y * torch.tensor([1.0, 2.0]), y).item(), 4)  # (log 2)**2 / 2
    0.2402
    """

    def __init__(self, weight=1e4):
        super().__init__()
        self.weight = weight

    def forward(self, pred, target):
        floor = (target[:, :1].abs() * FLOOR_RELATIVE).clamp_min(
            torch.finfo(target.dtype).tiny
        )
        log_ratio = torch.log(torch.maximum(pred, floor)) - torch.log(
            torch.maximum(target, floor)
        )
        squared = ((pred - target) ** 2).sum(-1).mean()
        return (log_ratio**2).mean() + self.weight * squared
