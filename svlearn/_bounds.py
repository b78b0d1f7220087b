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
    # np.maximum rather than np.clip, and results written in place: predict
    # calls this on every block, and on a few matrices the number of numpy
    # calls is its cost.
    ritz = np.asarray(ritz, dtype=np.float64)
    n, k = ritz.shape
    rest = np.maximum(np.asarray(rest, dtype=np.float64), 0.0)[:, None]
    slack = np.sqrt(np.maximum(np.asarray(energy, dtype=np.float64), 0.0))
    slack *= rtol
    slack = slack[:, None]
    upper = np.empty((n, n_values))
    np.sqrt(ritz * ritz + rest, out=upper[:, :k])
    if n_values > k:
        after = 1.0 / np.arange(1, n_values - k + 1, dtype=np.float64)
        np.sqrt(rest * after, out=upper[:, k:])
    # A value is at most every value before it: keep upper descending.
    np.minimum.accumulate(upper, axis=1, out=upper)
    upper += slack
    lower = np.zeros((n, n_values))
    np.maximum(ritz - slack, 0.0, out=lower[:, :k])
    return lower, upper


def clamp_to_bounds(pred, lower, upper, energy):
    """Move predicted spectra into their intervals, keeping their energy.

    Each row is clipped into ``[lower, upper]``; where that changed its
    energy, the values not pinned at a bound are rescaled together (by one
    scale, found exactly, the clipped values kept in their intervals) so
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
    out = np.minimum(np.maximum(pred, lower), upper)
    moved = np.flatnonzero((out != pred).any(axis=1))
    if not len(moved):
        return out
    sub, lo, hi = out[moved], lower[moved], upper[moved]
    target = np.asarray(energy, dtype=np.float64)[moved]
    # Most often rescaling the values left inside their intervals restores
    # the energy and keeps them inside. Rows where that fails take the scale
    # of all values that puts the energy back exactly (_energy_scale).
    result = _rescale_free(sub, lo, hi, target)
    # A value that the rescale pushed out of its interval is pinned at the
    # bound, and the others rescaled again: a few rounds settle most rows.
    for _ in range(3):
        crossed = ((result < lo) | (result > hi)).any(axis=1)
        if not crossed.any():
            break
        rows = np.flatnonzero(crossed)
        pinned = np.minimum(np.maximum(result[rows], lo[rows]), hi[rows])
        result[rows] = _rescale_free(pinned, lo[rows], hi[rows], target[rows])
    missed = np.abs((result * result).sum(axis=1) - target) > 1e-12 * target
    outside = np.flatnonzero(missed | ((result < lo) | (result > hi)).any(axis=1))
    if len(outside):
        lo_o, hi_o = lo[outside], hi[outside]
        # Values at zero cannot be scaled up: start them at the lower bound or
        # a sliver of the upper one.
        base = np.maximum(sub[outside], np.maximum(lo_o, 1e-12 * hi_o))
        c = _energy_scale(base, lo_o, hi_o, target[outside])
        result[outside] = _rescale_free(
            np.clip(c[:, None] * base, lo_o, hi_o), lo_o, hi_o, target[outside]
        )
        # The last rescale absorbs the scale's rounding; keep it in bounds.
        result[outside] = np.clip(result[outside], lo_o, hi_o)
    out[moved] = -np.sort(-result, axis=1)
    return out


def _rescale_free(values, lo, hi, target):
    """Rescale the values strictly inside their intervals to energy ``target``.

    Values at a bound stay there; the others share the energy that is left.
    """
    free = (values > lo) & (values < hi)
    squares = values * values
    free_energy = np.where(free, squares, 0.0).sum(axis=1)
    fixed_energy = squares.sum(axis=1) - free_energy
    with np.errstate(divide="ignore", invalid="ignore"):
        fix = np.sqrt(np.clip(target - fixed_energy, 0, None) / free_energy)
    fix = np.where(free_energy > 0, fix, 1.0)
    return np.where(free, values * fix[:, None], values)


def _energy_scale(base, lo, hi, target):
    """The scale ``c >= 0`` with ``sum(clip(c * base, lo, hi)**2) == target``.

    ``f(c) = sum(clip(c * base, lo, hi)**2)`` rises with ``c`` from
    ``sum(lo**2)`` to ``sum(hi**2)``, piecewise ``C + Q * c**2``: a value
    enters the quadratic part at ``lo / base`` and leaves it at ``hi /
    base``. So ``f`` at the sorted breakpoints comes from cumulative sums,
    and ``c`` from the piece where ``f`` crosses ``target``: exact, with no
    iteration. Rows whose target lies outside ``f``'s range get its end.
    """
    n, v = base.shape
    positive = base > 0
    safe = np.where(positive, base, 1.0)
    t = np.concatenate(
        [np.where(positive, lo / safe, 0.0), np.where(positive, hi / safe, 0.0)],
        axis=1,
    )
    b2 = np.where(positive, base**2, 0.0)
    d_quad = np.concatenate([b2, -b2], axis=1)
    d_const = np.concatenate([-(lo**2), hi**2], axis=1)
    d_const = np.where(np.concatenate([positive, positive], axis=1), d_const, 0.0)
    order = np.argsort(t, axis=1, kind="stable")
    t = np.take_along_axis(t, order, axis=1)
    const = (lo**2).sum(axis=1)[:, None] + np.cumsum(
        np.take_along_axis(d_const, order, axis=1), axis=1
    )
    quad = np.cumsum(np.take_along_axis(d_quad, order, axis=1), axis=1)
    # f at each breakpoint (continuous, so either side's piece gives it).
    f_at = const + quad * t**2
    above = f_at >= target[:, None]
    first = np.where(above.any(axis=1), above.argmax(axis=1), 2 * v)
    rows = np.arange(n)
    # The piece before breakpoint `first` (after breakpoint first - 1).
    before = np.maximum(first - 1, 0)
    piece_const = np.where(first > 0, const[rows, before], (lo**2).sum(axis=1))
    piece_quad = np.where(first > 0, quad[rows, before], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.sqrt(np.clip(target - piece_const, 0, None) / piece_quad)
    low_end = np.where(first > 0, t[rows, before], 0.0)
    high_end = t[rows, np.minimum(first, 2 * v - 1)]
    c = np.where(piece_quad > 0, c, low_end)
    return np.clip(np.nan_to_num(c, nan=0.0, posinf=0.0), low_end, high_end)
