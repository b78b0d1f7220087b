# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Certified bounds on singular values from a Rayleigh-Ritz step, and clamping.

numpy only. Let ``V`` be an orthonormal ``n x k`` block, ``theta`` the
singular values of ``A V`` (the Ritz values) and ``r = ||A||_F**2 -
||A V||_F**2`` the leftover energy. Then, for every matrix:

* ``theta_i <= sigma_i`` (interlacing: a compression's singular values are
  lower bounds);
* ``sigma_i**2 <= theta_i**2 + r`` for ``i <= k`` (Weyl, since ``A A^T = A P
  A^T + A P_perp A^T`` and ``||A P_perp||_2**2 <= r``);
* ``sigma_i**2 <= r / (i - k)`` for ``i > k``: the values after the ``k``-th
  hold at most ``r`` of the energy (Ky Fan: ``sum(sigma_j**2, j <= k) >=
  sum(theta_j**2)``), and ``i - k`` of them are at least ``sigma_i``.

A matrix of rank at most ``k`` has ``r = 0``: its interval is a point, the
Ritz values are its spectrum. :func:`clamp_to_bounds` moves a prediction into
its interval and keeps its energy equal to ``||A||_F**2``.
"""

import numpy as np

__all__ = ["certified_bounds", "clamp_to_bounds"]

# Relative slack for the rounding of the quantities the bounds are built from
# (Ritz values and energies computed in float32 carry about 1e-7; the
# leftover energy is taken in float64 from them).
_RTOL = 1e-5


def certified_bounds(ritz, rest, energy, n_values, *, rtol=_RTOL):
    """Intervals that hold every singular value, from Ritz values and energies.

    Parameters
    ----------
    ritz : ndarray of shape (n_samples, k)
        Ritz values of each matrix, descending.
    rest : ndarray of shape (n_samples,)
        Leftover energy ``||A||_F**2 - sum(ritz**2)`` (clipped at 0).
    energy : ndarray of shape (n_samples,)
        ``||A||_F**2``.
    n_values : int
        ``min(m, n)``.
    rtol : float, default=1e-5
        Relative widening for the rounding of the inputs, times
        ``sqrt(energy)``.

    Returns
    -------
    lower, upper : ndarray of shape (n_samples, n_values)
        Descending; ``lower <= sigma <= upper``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([3.0, 2.0, 1.0])
    >>> lower, upper = certified_bounds(np.array([[3.0, 2.0]]),
    ...                                 np.array([1.0]), np.array([14.0]), 3)
    >>> bool((lower <= [3, 2, 1]).all() and ([3, 2, 1] <= upper).all())
    True
    >>> np.round(upper, 3)
    array([[3.162, 2.236, 1.   ]])
    """
    ritz = np.asarray(ritz, dtype=np.float64)
    n, k = ritz.shape
    rest = np.clip(np.asarray(rest, dtype=np.float64), 0, None)[:, None]
    slack = rtol * np.sqrt(np.clip(np.asarray(energy, dtype=np.float64), 0, None))
    lower = np.zeros((n, n_values))
    upper = np.empty((n, n_values))
    lower[:, :k] = ritz
    upper[:, :k] = np.sqrt(ritz**2 + rest)
    after = np.arange(1, n_values - k + 1, dtype=np.float64)
    upper[:, k:] = np.sqrt(rest / after)
    # A value is at most every value before it: keep upper descending.
    upper = np.minimum.accumulate(upper, axis=1)
    lower = np.clip(lower - slack[:, None], 0, None)
    return lower, upper + slack[:, None]


def clamp_to_bounds(pred, lower, upper, energy):
    """Move predicted spectra into their intervals, keeping their energy.

    Each row is clipped into ``[lower, upper]``; where that changed its
    energy, the values not pinned at a bound are rescaled together (found by
    bisection on the scale, the clipped values kept in their intervals) so
    that ``sum(pred**2)`` equals ``energy`` again. Clipping into an interval
    that holds the truth can only bring each value closer to it.

    Parameters
    ----------
    pred : ndarray of shape (n_samples, n_values)
        Descending spectra.
    lower, upper : ndarray of shape (n_samples, n_values)
        Descending bounds (:func:`certified_bounds`).
    energy : ndarray of shape (n_samples,)
        ``||A||_F**2`` of each matrix.

    Returns
    -------
    clamped : ndarray of shape (n_samples, n_values)
        Descending, inside the bounds.

    Examples
    --------
    >>> import numpy as np
    >>> out = clamp_to_bounds(np.array([[2.0, 2.0]]), np.array([[3.0, 0.0]]),
    ...                       np.array([[3.0, 1.0]]), np.array([10.0]))
    >>> out, float((out**2).sum())
    (array([[3., 1.]]), 10.0)
    """
    pred = np.asarray(pred, dtype=np.float64)
    out = np.clip(pred, lower, upper)
    moved = np.flatnonzero((out != pred).any(axis=1))
    if not len(moved):
        return out
    sub, lo, hi = out[moved], lower[moved], upper[moved]
    target = np.asarray(energy, dtype=np.float64)[moved]
    # Values at zero cannot be scaled up: start them at the lower bound or a
    # sliver of the upper one.
    base = np.maximum(sub, np.maximum(lo, 1e-12 * hi))
    scale_of = np.where(base > 0, hi / np.where(base > 0, base, 1.0), 0.0)
    # f(c) = sum(clip(c * base, lo, hi)**2) rises with c from sum(lo**2) to
    # sum(hi**2), which bracket the true energy; bisect in log space.
    c_lo = np.zeros(len(moved))
    c_hi = np.maximum(scale_of.max(axis=1), 1.0)
    for _ in range(60):
        c = 0.5 * (c_lo + c_hi)
        f = (np.clip(c[:, None] * base, lo, hi) ** 2).sum(axis=1)
        low = f < target
        c_lo = np.where(low, c, c_lo)
        c_hi = np.where(low, c_hi, c)
    c = 0.5 * (c_lo + c_hi)
    result = np.clip(c[:, None] * base, lo, hi)
    # Exact energy: a final rescale of the free values absorbs the bisection's
    # remaining error (free values lie strictly inside their intervals).
    free = (result > lo) & (result < hi)
    fixed_energy = np.where(free, 0.0, result**2).sum(axis=1)
    free_energy = np.where(free, result**2, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fix = np.sqrt(np.clip(target - fixed_energy, 0, None) / free_energy)
    fix = np.where(free_energy > 0, fix, 1.0)
    result = np.where(free, result * fix[:, None], result)
    out[moved] = -np.sort(-result, axis=1)
    return out
