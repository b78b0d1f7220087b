# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Per-matrix error estimates: the features and the split-conformal fit.

numpy only. A prediction comes with exact or computed diagnostics (never
learned ones); :func:`error_features` turns them into the columns of a
log-linear model of the NMSE, :func:`fit_error_model` fits it on held-out
matrices and sets a split-conformal offset at a coverage, and
:func:`estimate_error` evaluates it.
"""

import math

import numpy as np

from ._numerics import safe_divisor

__all__ = [
    "FEATURES",
    "certified_nmse",
    "conformal_intervals",
    "fit_interval_model",
    "estimate_error",
    "feature_range",
    "error_features",
    "fit_error_model",
    "gram_moment",
    "log_det_gap",
    "log_det_range",
    "min_calibration",
]

# Columns of the error model. The iteration's diagnostics exist only for the
# heads that iterate; the others have the first four, then the certified ones.
FEATURES = (
    "intercept",
    "tail_share",  # 1 - p_1**2 / sum(p**2) of the prediction p
    "energy_violation",  # |sum(p**2) - 1|: rounding for the equivariant heads
    "moment4_violation",  # |sum(p**4) - sum(s**4)|, sum(s**4) exact
    "leftover_energy",  # energy fraction outside the Ritz values
    "last_step_gain",  # energy fraction the last iteration step added
)
# The error of a spectrum whose tail holds a fraction r of the energy scales
# with r, also on matrices unlike the calibration ones, where a fitted slope
# would extrapolate too little or too much: its slope is fixed at 1.
_FIXED_SLOPES = {"leftover_energy": 1.0}
# Floors inside the logs: NMSE below 1e-12 and features below 1e-9 are
# rounding.
ERROR_FLOOR = 1e-12
_FEATURE_FLOOR = 1e-9
# The smallest estimate: the NMSE of float32 rounding. A prediction is never
# exact, so max_error=0 recomputes every matrix.
_MIN_ESTIMATE = float(np.finfo(np.float32).eps) ** 2
# Rounding of predicted spectra relative to ||A||_F (float32 iteration, as
# the certified bounds allow for).
_ROUNDING = 1e-5
# Spread (in log units) below which a feature is constant on the calibration
# matrices.
_MIN_SPREAD = 1e-6
# Singular values below this fraction of ||A||_F count as about this fraction
# in the log-determinant check (the rank-deficiency threshold of the
# whole-spectrum metrics is 1e-6 of sigma_1).
LOG_DET_FLOOR = 1e-6


def min_calibration(coverage):
    """Fewest calibration matrices for a finite conformal offset at ``coverage``.

    Half fit the model, the other ``n2`` set the offset: the offset is the
    ``ceil((n2 + 1) * coverage)``-th smallest residual, which needs
    ``n2 >= coverage / (1 - coverage)``.

    Examples
    --------
    >>> min_calibration(0.99), min_calibration(0.9)
    (197, 20)
    """
    n2 = math.ceil(coverage / (1 - coverage) - 1e-9)
    return max(20, 2 * n2 - 1)


def gram_moment(x, matrix_shape, norms):
    """``||A^T A||_F**2 / ||A||_F**4`` per matrix: the exact ``sum(s**4)``.

    The fourth moment of the normalised spectrum, from the Gram matrix of the
    smaller side (``n**2 m`` multiply-adds per matrix, paid only when error
    estimates are asked for). A wrong spectrum of the right energy usually
    has the wrong fourth moment.

    Parameters
    ----------
    x : ndarray of shape (n_samples, m * n)
        The flat matrices, scaled so that their peaks are of order 1 (the
        squares of ``||A^T A||_F`` must not overflow).
    matrix_shape : tuple of two ints
        ``(m, n)``.
    norms : ndarray of shape (n_samples,)
        Their Frobenius norms.

    Returns
    -------
    moment4 : ndarray of shape (n_samples,)
    """
    A = np.asarray(x).reshape(-1, *matrix_shape)
    At = np.swapaxes(A, 1, 2)
    G = At @ A if matrix_shape[0] >= matrix_shape[1] else A @ At
    # The products in x's dtype, their squares summed in float64 without a
    # float64 copy of G (a third of the time at 32 x 32), then normalised:
    # ||G||_F**2 stays finite for rows of moderate scale, as predict's
    # scaled rows are.
    squares = np.einsum("bij,bij->b", G, G, dtype=np.float64)
    return squares / safe_divisor(np.asarray(norms, dtype=np.float64) ** 2) ** 2


def log_det_gap(x, matrix_shape, pred):
    """Mean log ratio of predicted to true singular values, from a determinant.

    The exact identity ``sum(log(s**2 + d**2)) = log det(A^T A + d**2 I)``
    (the Gram matrix of the smaller side) checks the whole spectrum, its
    small end included, which the energy and the fourth moment hardly see:
    a predicted tail above a rank-deficient matrix's zeros makes the gap
    positive, one below a noisy matrix's flat tail negative. The shift
    ``d = LOG_DET_FLOOR * ||A||_F`` floors every value on both sides alike,
    so exact zeros predicted as zeros show no gap. One float64 Gram matrix
    and its Cholesky factorisation (LAPACK) per matrix.

    Parameters
    ----------
    x : ndarray of shape (n_samples, m * n)
        The flat matrices.
    matrix_shape : tuple of two ints
        ``(m, n)``.
    pred : ndarray of shape (n_samples, min(m, n))
        Their predicted spectra.

    Returns
    -------
    gap : ndarray of shape (n_samples,)
        ``sum(log(pred**2 + d**2) - log(s**2 + d**2)) / (2 min(m, n))``:
        0 for the exact spectrum, about ``log(c)`` for ``c`` times it.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([4.0, 2.0, 1.0]).reshape(1, -1)
    >>> log_det_gap(A, (3, 3), np.array([[4.0, 2.0, 1.0]])).round(9)
    array([0.])
    >>> float(log_det_gap(A, (3, 3), np.array([[4.0, 2.0, 0.5]]))[0] * 3)
    -0.693...
    """
    m, n = matrix_shape
    A = np.asarray(x).reshape(-1, m, n).astype(np.float64, copy=False)
    G = np.swapaxes(A, 1, 2) @ A if m >= n else A @ np.swapaxes(A, 1, 2)
    k = min(m, n)
    diagonal = (slice(None), np.arange(k), np.arange(k))
    # The shift in units of ||A||_F**2 = trace(G), so that the gap does not
    # depend on the scale (float64 squares of float32 entries neither
    # overflow nor vanish). G + shift I is positive definite, its smallest
    # eigenvalue far above the Gram matrix's rounding.
    energy = safe_divisor(G[diagonal].sum(axis=1))
    shift = LOG_DET_FLOOR**2 * energy
    G[diagonal] += shift[:, None]
    L = np.linalg.cholesky(G)
    true = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    predicted = np.log(np.asarray(pred, dtype=np.float64) ** 2 + shift[:, None])
    return (predicted.sum(axis=1) - true) / (2 * k)


def log_det_range(gaps, coverage):
    """The central ``coverage`` of :func:`log_det_gap` on calibration matrices.

    A matrix exchangeable with them falls outside with probability about
    ``1 - coverage``; one that does is not like them, whatever its other
    diagnostics say.

    Returns
    -------
    bounds : ndarray of shape (2,)
    """
    tail = (1 - coverage) / 2
    return np.quantile(np.asarray(gaps, dtype=np.float64), [tail, 1 - tail])


def error_features(unit, moment4, diagnostics):
    """Per-matrix features of the error model (columns :data:`FEATURES`).

    Parameters
    ----------
    unit : ndarray of shape (n_samples, n_values)
        The predicted spectra divided by each matrix's Frobenius norm.
    moment4 : ndarray of shape (n_samples,)
        The exact ``sum(s**4)`` of the normalised spectra (:func:`gram_moment`).
    diagnostics : ndarray of shape (n_samples, 2) or None
        The iteration's leftover energy fraction and last step's gain, for the
        heads that iterate.

    Returns
    -------
    features : ndarray of shape (n_samples, 4) or (n_samples, 6)
        An intercept column, then the logs of the other features.
    """
    total = (unit**2).sum(axis=1)
    columns = [
        1 - unit[:, 0] ** 2 / safe_divisor(total),
        np.abs(total - 1),
        np.abs((unit**4).sum(axis=1) - moment4),
    ]
    if diagnostics is not None:
        columns += list(np.asarray(diagnostics).T)
    logs = np.log(np.clip(np.column_stack(columns), 0, None) + _FEATURE_FLOOR)
    return np.column_stack([np.ones(len(unit)), logs])


def certified_nmse(pred, lower, upper, energy=None):
    """What certified intervals prove about the NMSE of predicted spectra.

    The true spectrum ``s`` lies in the box ``[lower, upper]`` and has energy
    ``sum(s**2) = ||A||_F**2``, so the NMSE of ``pred`` is at least its
    squared distance to the box and at most its squared distance to the far
    corner, both over the energy. Each row is computed in units of its
    largest upper bound, so that no square overflows or vanishes.

    Parameters
    ----------
    pred, lower, upper : ndarray of shape (n_samples, n_values)
    energy : ndarray of shape (n_samples,) or None, default=None
        ``||A||_F**2``; None takes ``sum(pred**2)``, exact for predictions
        of the matrix's energy.

    Returns
    -------
    least, most : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> least, most = certified_nmse(np.array([[3.0, 1.0]]), np.array([[3.0, 0.0]]),
    ...                              np.array([[3.0, 2.0]]), np.array([10.0]))
    >>> float(least[0]), round(float(most[0]), 12)
    (0.0, 0.1)
    """
    unit = safe_divisor(np.asarray(upper, dtype=np.float64)[:, :1])
    pred, lower, upper = pred / unit, lower / unit, upper / unit
    if energy is None:
        energy = (pred**2).sum(axis=1)
    else:
        energy = np.asarray(energy, dtype=np.float64) / unit[:, 0] ** 2
    below = np.clip(lower - pred, 0, None)
    above = np.clip(pred - upper, 0, None)
    far = np.maximum(pred - lower, upper - pred)
    safe = safe_divisor(energy)
    least = ((below + above) ** 2).sum(axis=1) / safe
    return least, (far**2).sum(axis=1) / safe


def fit_error_model(features, nmse, coverage):
    """Fit the log-linear error model and its split-conformal offset.

    The model is fitted on one half of the matrices (a fixed permutation);
    the other half sets the offset, so that it is a valid quantile of
    residuals the fit has not seen, and the estimate covers the true NMSE
    with probability ``coverage`` for matrices exchangeable with these.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        From :func:`error_features`.
    nmse : ndarray of shape (n_samples,)
        The true NMSE of each prediction.
    coverage : float
        In (0, 1).

    Returns
    -------
    coef : ndarray of shape (n_features,)
    offset : float
    """
    if len(features) < min_calibration(coverage):
        raise ValueError(
            f"Calibrating error estimates at coverage={coverage} needs at least "
            f"{min_calibration(coverage)} held-out matrices, got {len(features)}; "
            "pass more matrices or lower coverage."
        )
    log_error = np.log(nmse + ERROR_FLOOR)
    order = np.random.default_rng(0).permutation(len(features))
    fit_rows, conformal_rows = order[: len(order) // 2], order[len(order) // 2 :]
    names = FEATURES[: features.shape[1]]
    fixed = np.array([_FIXED_SLOPES.get(name, 0.0) for name in names])
    # A feature without spread on these matrices (the energy violation of a
    # route with exact energy) is the intercept again: left out, rather than
    # given a huge slope that cancels the intercept's.
    spread = np.ptp(features[fit_rows], axis=0) > _MIN_SPREAD
    spread[0] = True
    free = (fixed == 0) & spread
    target = log_error - features @ fixed
    coef = fixed.copy()
    coef[free] = np.linalg.lstsq(
        features[fit_rows][:, free], target[fit_rows], rcond=None
    )[0]
    residuals = np.sort(log_error[conformal_rows] - features[conformal_rows] @ coef)
    rank = math.ceil((len(residuals) + 1) * coverage)
    return coef, float(residuals[rank - 1])


def feature_range(features):
    """The range of each feature on the calibration matrices.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)

    Returns
    -------
    bounds : ndarray of shape (2, n_features)
        Smallest and largest value of each column.
    """
    return np.vstack([features.min(axis=0), features.max(axis=0)])


def estimate_error(features, coef, offset, certified=None, bounds=None):
    """The calibrated NMSE estimate of each prediction.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    coef : ndarray of shape (n_features,)
    offset : float
    certified : tuple of two ndarrays of shape (n_samples,) or None
        ``(least, most)`` from :func:`certified_nmse`: the estimate is kept
        between them, never below what the intervals prove and never above
        what they allow.
    bounds : ndarray of shape (2, n_features) or None
        :func:`feature_range` of the calibration matrices. A matrix with a
        feature outside it is not like them, and the conformal guarantee
        says nothing about it: its estimate is the most the certified bounds
        allow (infinite without them).

    Returns
    -------
    error : ndarray of shape (n_samples,)
        Never below the NMSE of float32 rounding.

    Examples
    --------
    >>> import numpy as np
    >>> features = np.array([[1.0, -2.0], [1.0, 5.0]])
    >>> bounds = np.array([[1.0, -3.0], [1.0, 0.0]])
    >>> estimate_error(features, np.array([-9.0, 1.0]), 0.0, bounds=bounds)
    array([1.67...e-05, inf])
    """
    error = np.exp(features @ coef + offset) - ERROR_FLOOR
    most = np.inf
    if certified is not None:
        least, most = certified
        error = np.maximum(np.minimum(error, most), least)
    if bounds is not None:
        outside = ((features < bounds[0]) | (features > bounds[1])).any(axis=1)
        error = np.where(outside, most, error)
    return np.maximum(error, _MIN_ESTIMATE)


def fit_interval_model(pred, truth, lower, upper, coverage):
    """Per-index split-conformal multipliers of the certified widths.

    A prediction's error at index ``i`` is measured in units of its certified
    width ``upper_i - lower_i`` (scale-free, and large where the bounds say
    the matrix is hard); the multiplier ``q_i`` is the conformal quantile of
    those ratios, so that ``[pred_i - q_i w_i, pred_i + q_i w_i]`` covers the
    true value with probability ``coverage`` at every index for matrices
    exchangeable with these. The interval is then intersected with the
    certified one, which keeps both guarantees.

    Parameters
    ----------
    pred, truth, lower, upper : ndarray of shape (n_samples, n_values)
        Predicted and true spectra of held-out matrices, and their certified
        bounds.
    coverage : float
        In (0, 1).

    Returns
    -------
    multipliers : ndarray of shape (n_values,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = np.sort(rng.random((400, 3)), axis=1)[:, ::-1]
    >>> pred = truth + 0.01 * rng.standard_normal((400, 3))
    >>> q = fit_interval_model(pred, truth, truth - 0.1, truth + 0.1, 0.9)
    >>> q.shape, bool((q > 0.05).all() and (q < 0.15).all())
    ((3,), True)
    """
    needed = math.ceil(coverage / (1 - coverage) - 1e-9)
    if len(pred) < needed:
        raise ValueError(
            f"Calibrating intervals at coverage={coverage} needs at least "
            f"{needed} held-out matrices, got {len(pred)}."
        )
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(width > 0, np.abs(pred - truth) / width, 0.0)
    # Nothing is fitted: every held-out matrix sets the quantile.
    ratio = np.sort(ratio, axis=0)
    rank = math.ceil((len(ratio) + 1) * coverage)
    return ratio[min(rank, len(ratio)) - 1]


def conformal_intervals(pred, lower, upper, multipliers):
    """Calibrated per-value intervals, inside the certified ones.

    Parameters
    ----------
    pred, lower, upper : ndarray of shape (n_samples, n_values)
    multipliers : ndarray of shape (n_values,)
        From :func:`fit_interval_model`.

    Returns
    -------
    low, high : ndarray of shape (n_samples, n_values)
    """
    # Never narrower than the rounding of the spectra (a relative 1e-5 of
    # ||A||_F, as the certified bounds allow): a value known exactly, such as
    # a zero of a low-rank matrix, is covered up to its rounding.
    peak = safe_divisor(np.abs(pred).max(axis=1, initial=0.0))[:, None]
    rounding = _ROUNDING * peak * np.sqrt(((pred / peak) ** 2).sum(axis=1))[:, None]
    half = multipliers * (upper - lower) + rounding
    return np.maximum(lower, pred - half), np.minimum(upper, pred + half)
