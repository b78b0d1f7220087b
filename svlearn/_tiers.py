# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The tiered fallback of ``max_error``: a cheap refinement before exact SVD.

A matrix whose first estimate exceeds ``max_error`` is not sent straight to
LAPACK. It first takes a more accurate route that costs less than an exact
SVD (:func:`refined_spectra`: block subspace iteration with more vectors and
steps, a mean tail at the exact leftover energy, clamped into the certified
bounds), with its own certified interval and calibrated estimate; only the
matrices still above ``max_error`` go exact. :func:`tiered` runs the tiers
in order, each on the rows the previous one did not accept.
"""

from typing import NamedTuple

import numpy as np

from . import _calibration
from ._bounds import certified_bounds, clamp_to_bounds
from ._linalg import leading_values_and_rest, power_of_two_scaled
from ._numerics import safe_divisor

__all__ = [
    "EXACT",
    "FIRST",
    "LEGACY_REFINE",
    "REFINE",
    "REFINED",
    "Refined",
    "refine_components",
    "refined_spectra",
    "tiered",
]

# (vectors, steps) of the refinement tier. Measured on 32 x 32 CIFAR, one
# thread (benchmarks/bench_shift.py, "tier_costs", and the suite's tiers):
# 8 vectors and one step cost less than two steps and, on matrices unlike
# the calibration ones, let fewer refined spectra slip (the one-step gain of
# Spambase windows lies outside the calibration range, so they go exact);
# in distribution more of the refined matrices go on to the exact SVD. 12 or
# 16 vectors cost more than the SVD they would replace.
REFINE = (8, 1)
# The route of models calibrated before the route was stored with them.
LEGACY_REFINE = (8, 2)
# Peaks between which float32 squares keep their digits (as in the network's
# front end, rows outside are rescaled).
_SAFE_PEAKS = (2.0**-40, 2.0**40)
# Tier numbers as predict's tier array reports them.
FIRST, REFINED, EXACT = 0, 1, 2


class Refined(NamedTuple):
    """The refinement tier's spectra of some matrices, in their own scale."""

    pred: np.ndarray  # (n, n_values) float64, inside [lower, upper]
    lower: np.ndarray  # (n, n_values) certified lower bounds
    upper: np.ndarray  # (n, n_values) certified upper bounds
    energy: np.ndarray  # (n,) ||A||_F**2
    features: np.ndarray  # (n, n_features) for the error model


def refine_components(n_values, route=REFINE):
    """Vectors of a refinement route for matrices with ``n_values`` values.

    At most the route's, and never more than the matrix has: with as many
    vectors as values the Ritz values are the spectrum.

    Examples
    --------
    >>> refine_components(32), refine_components(6)
    (8, 6)
    """
    return min(route[0], n_values)


def refined_spectra(X, matrix_shape, template, route=REFINE):
    """Spectra of flat matrices by the refinement tier, with certified bounds.

    Rows are scaled exactly by powers of two (so any finite scale works),
    iterated in float32 with the thin ones redone in float64 (as the
    network's front end does), given the Ritz values plus ``template`` scaled
    to the leftover energy, and clamped into their certified intervals at
    exact energy.

    Parameters
    ----------
    X : ndarray of shape (n_samples, m * n)
        Finite matrices.
    matrix_shape : tuple of two ints
        ``(m, n)``.
    template : ndarray of shape (min(m, n) - k,)
        Unit-norm tail shape after the ``k = refine_components(min(m, n))``
        Ritz values (:func:`svlearn._mlp.tail_template` of exact spectra).
    route : tuple of two ints, default=REFINE
        Vectors and steps of the iteration.

    Returns
    -------
    Refined

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([5.0, 4.0, 3.0, 2.0, 1.0, 0.5]).reshape(1, -1)
    >>> out = refined_spectra(A, (6, 6), np.zeros(0))
    >>> np.round(out.pred, 6)
    array([[5. , 4. , 3. , 2. , 1. , 0.5]])
    """
    import torch

    m, n = matrix_shape
    n_values = min(m, n)
    k = refine_components(n_values, route)
    # Rows whose peak float32 squares would overflow or lose digits are
    # scaled exactly by powers of two; the others (nearly all) are used as
    # they are, which saves a float64 pass over the batch.
    scaled = np.array(X, dtype=np.float32)
    exponents = np.zeros(len(X), dtype=np.int64)
    peak = np.abs(X).max(axis=1) if X.shape[1] else np.zeros(len(X))
    unsafe = ~((peak > _SAFE_PEAKS[0]) & (peak < _SAFE_PEAKS[1]))
    if unsafe.any():
        rows, exponents[unsafe] = power_of_two_scaled(X[unsafe])
        scaled[unsafe] = rows
    A = torch.from_numpy(scaled).reshape(-1, m, n)
    if m < n:  # iterate in the smaller dimension; sigma(A) = sigma(A^T)
        A = A.mT
    norms = torch.linalg.vector_norm(A.reshape(len(A), -1), dim=-1, keepdim=True)
    with torch.inference_mode():
        values, rest, energy, _, _, gain = leading_values_and_rest(
            A, k, route[1], norms
        )
    # Back to the scaled rows' units: the routine works on A / ||A||_F.
    norm = norms.double().numpy()[:, 0]
    values = values.numpy() * norm[:, None]
    rest = rest.numpy()[:, 0] * norm**2
    energy = energy.numpy()[:, 0] * norm**2
    fraction = np.column_stack([rest, gain.numpy()[:, 0] * norm**2])
    fraction /= safe_divisor(energy)[:, None]
    lower, upper = certified_bounds(values, rest, energy, n_values)
    pred = np.concatenate(
        [values, np.sqrt(rest)[:, None] * np.asarray(template)[None, :]], axis=1
    )
    pred = clamp_to_bounds(-np.sort(-pred, axis=1), lower, upper, energy)
    # The error model is scale-free: its features come from the scaled rows,
    # with the exact fourth moment sum(s**4) = ||A^T A||_F**2 computed as for
    # the first tier (numpy's batched GEMM: a quarter of torch's time here).
    root = np.sqrt(safe_divisor(energy))
    moment4 = _calibration.gram_moment(scaled, matrix_shape, root)
    features = _calibration.error_features(pred / root[:, None], moment4, fraction)
    scale = np.ldexp(1.0, exponents)
    return Refined(
        pred * scale[:, None],
        lower * scale[:, None],
        upper * scale[:, None],
        energy * scale**2,
        features,
    )


def tiered(pred, error, max_error, tiers):
    """Replace the predictions estimated above ``max_error``, tier by tier.

    Parameters
    ----------
    pred : ndarray of shape (n_samples, n_values)
        The first tier's spectra (changed in place).
    error : ndarray of shape (n_samples,)
        Their estimated NMSE (changed in place).
    max_error : float
        Rows estimated above it go to the next tier.
    tiers : list of (int, callable)
        Each tier's number and its route: ``run(rows)`` returns ``(pred,
        error)`` for the row indices ``rows``. The last tier's rows are
        accepted whatever their estimate (the exact tier returns 0).

    Returns
    -------
    pred, error : ndarray
    tier : ndarray of shape (n_samples,) of int
        The number of the tier each row was accepted at (0 for the first).

    Examples
    --------
    >>> import numpy as np
    >>> exact = lambda rows: (np.full((len(rows), 1), 9.0), np.zeros(len(rows)))
    >>> pred, error, tier = tiered(np.ones((3, 1)), np.array([0.1, 0.0, 0.2]),
    ...                            0.05, [(EXACT, exact)])
    >>> pred.ravel(), tier
    (array([9., 1., 9.]), array([2, 0, 2]))
    """
    tier = np.zeros(len(pred), dtype=np.int64)
    rows = np.flatnonzero(error > max_error)
    for position, (number, run) in enumerate(tiers, start=1):
        if not len(rows):
            break
        tier_pred, tier_error = run(rows)
        last = position == len(tiers)
        accept = np.ones(len(rows), bool) if last else tier_error <= max_error
        done = rows[accept]
        pred[done] = tier_pred[accept]
        error[done] = tier_error[accept]
        tier[done] = number
        rows = rows[~accept]
    return pred, error, tier
