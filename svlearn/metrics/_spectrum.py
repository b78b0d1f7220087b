# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Metrics that weigh every singular value alike: per-index relative errors and
the log-spectral distance.

NMSE divides the squared error by ``sum(s**2)``, so a spectrum whose first
value holds most of the energy scores well whatever its tail does. These
metrics compare each value with itself instead.
"""

from numbers import Real

import numpy as np
from sklearn.utils import check_consistent_length
from sklearn.utils._param_validation import Interval, validate_params

from ._regression import check_spectra

_FLOOR = [Interval(Real, 0, 1, closed="right")]
_QUANTILE = [Interval(Real, 0, 1, closed="both")]


def _check_truth_and_floor(y_true, y_pred, floor):
    """Validated 2-D spectra and each matrix's floor ``floor * s_1``."""
    y_true, y_pred = check_spectra(y_true, y_pred)
    if (y_true < 0).any():
        row = int(np.flatnonzero((y_true < 0).any(axis=1))[0])
        raise ValueError(
            "y_true must hold non-negative singular values; row "
            f"{row} is {y_true[row]}."
        )
    # The largest true value is s_1 for a descending spectrum, and stays a
    # meaningful scale if a row is not sorted.
    return y_true, y_pred, floor * y_true.max(axis=1, keepdims=True)


def _quantile_over_matrices(errors, quantile):
    """``np.quantile(errors, quantile, axis=0)`` (linear method), inf-safe.

    numpy interpolates ``inf - inf`` to NaN; here a quantile that falls
    between a finite and an infinite error, or on an infinite one, is inf.
    """
    ordered = np.sort(errors, axis=0)
    position = (len(ordered) - 1) * quantile
    lo, hi = int(np.floor(position)), int(np.ceil(position))
    weight = position - lo
    low, high = ordered[lo], ordered[hi]
    if weight == 0:
        return low
    with np.errstate(invalid="ignore"):
        between = low + weight * (high - low)
    return np.where(np.isinf(high), np.inf, between)


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "floor": _FLOOR},
    prefer_skip_nested_validation=True,
)
def relative_errors(y_true, y_pred, *, floor=1e-6):
    """Relative error of every predicted singular value, matrix by matrix.

    Unlike the NMSE, which weighs each value by its energy and so mostly
    measures ``sigma_1``, every index counts alike; the floor keeps values
    that are zero to rounding from dividing by zero.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix, non-negative. 1-D input
        means ``n_matrices`` one-value spectra, as in the other metrics.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    floor : float, default=1e-6
        Smallest denominator, relative to the matrix's largest true value:
        values below ``floor * s_1`` (numerically zero) are compared with
        ``floor * s_1`` instead of themselves, so an exact zero does not
        divide by zero. In ``(0, 1]``; ``floor=1`` gives the absolute error
        in units of ``s_1``.

    Returns
    -------
    errors : ndarray of shape (n_matrices, n_values)
        ``|s_hat_i - s_i| / max(s_i, floor * s_1)``. For an all-zero true
        spectrum, an exact prediction scores 0 and any other ``inf``.

    See Also
    --------
    relative_error_per_index : A quantile of these over the matrices.
    worst_index_relative_error : The largest of those quantiles.

    Examples
    --------
    >>> from svlearn.metrics import relative_errors
    >>> relative_errors([[4.0, 2.0, 0.0]], [[3.0, 3.0, 0.0]])
    array([[0.25, 0.5 , 0.  ]])
    >>> relative_errors([[1.0, 0.0]], [[1.0, 1e-7]], floor=1e-6)
    array([[0. , 0.1]])
    """
    y_true, y_pred, low = _check_truth_and_floor(y_true, y_pred, floor)
    num = np.abs(y_pred - y_true)
    den = np.maximum(y_true, low)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num == 0, 0.0, num / den)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "quantile": _QUANTILE,
        "floor": _FLOOR,
    },
    prefer_skip_nested_validation=True,
)
def relative_error_per_index(y_true, y_pred, *, quantile=0.5, floor=1e-6):
    """Quantile over matrices of the relative error, index by index.

    The median (or another quantile) of :func:`relative_errors` over the
    matrices, one number per index: where along the spectrum a model is
    right and where it is not.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix, non-negative.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    quantile : float, default=0.5
        Which quantile over the matrices, in ``[0, 1]``: 0.5 is the median,
        0.9 the 90th percentile (numpy's default "linear" interpolation).
    floor : float, default=1e-6
        See :func:`relative_errors`.

    Returns
    -------
    errors : ndarray of shape (n_values,)
        ``errors[i]`` is the quantile of ``|s_hat_i - s_i| / max(s_i, floor
        * s_1)`` over the matrices: how well the ``i``-th value is predicted
        on a typical (or, for a high quantile, a bad) matrix.

    See Also
    --------
    relative_errors : The per-matrix values.
    worst_index_relative_error : The largest entry of this array.

    Examples
    --------
    >>> from svlearn.metrics import relative_error_per_index
    >>> y_true = [[4.0, 2.0], [4.0, 2.0], [4.0, 2.0]]
    >>> y_pred = [[4.0, 1.0], [3.0, 2.0], [4.0, 3.0]]
    >>> relative_error_per_index(y_true, y_pred)
    array([0. , 0.5])
    >>> relative_error_per_index(y_true, y_pred, quantile=1.0)
    array([0.25, 0.5 ])
    """
    errors = relative_errors(y_true, y_pred, floor=floor)
    return _quantile_over_matrices(errors, quantile)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "quantile": _QUANTILE,
        "floor": _FLOOR,
    },
    prefer_skip_nested_validation=True,
)
def worst_index_relative_error(y_true, y_pred, *, quantile=0.5, floor=1e-6):
    """Relative error of the worst-predicted index, typically over matrices.

    The median (or another quantile) over matrices of each index's relative
    error, then the largest over indices: a spectrum scores well only if
    every one of its values, down to the smallest, does.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix, non-negative.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    quantile : float, default=0.5
        Quantile over the matrices, in ``[0, 1]``; 0.9 gives the worst
        index's 90th percentile.
    floor : float, default=1e-6
        See :func:`relative_errors`.

    Returns
    -------
    loss : float
        ``max_i quantile_f |s_hat_fi - s_fi| / max(s_fi, floor * s_f1)``
        over matrices ``f``; 0.05 means that the worst index is off by 5 %
        on the typical matrix.

    See Also
    --------
    relative_error_per_index : The quantile of every index.

    Notes
    -----
    There is no ``sample_weight``: the quantile of weighted matrices has no
    single convention, and scikit-learn's ``cross_val_score`` and searches do
    not need one.

    Examples
    --------
    >>> from svlearn.metrics import worst_index_relative_error
    >>> y_true = [[4.0, 2.0], [4.0, 2.0], [4.0, 2.0]]
    >>> y_pred = [[4.0, 1.0], [3.0, 2.0], [4.0, 3.0]]
    >>> worst_index_relative_error(y_true, y_pred)
    0.5
    """
    per_index = relative_error_per_index(y_true, y_pred, quantile=quantile, floor=floor)
    return float(per_index.max())


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "floor": _FLOOR},
    prefer_skip_nested_validation=True,
)
def log_spectral_distance_per_matrix(y_true, y_pred, *, floor=1e-6):
    """Log-spectral distance of each matrix's predicted spectrum.

    The root mean square, over the indices, of the base-10 log of the ratio
    of predicted to true values: an error in decades that counts the tail of
    the spectrum as much as its top.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix, non-negative.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    floor : float, default=1e-6
        Values (true or predicted, negative predictions included) below
        ``floor * s_1``, with ``s_1`` the largest true value, count as
        ``floor * s_1``: a predicted 0 for a true 0 costs nothing, and a
        predicted 0 for a true ``s_i`` costs ``log10(s_i / (floor * s_1))``
        decades, not infinitely many. In ``(0, 1]``.

    Returns
    -------
    distances : ndarray of shape (n_matrices,)
        ``sqrt(mean_i log10(s_hat_i / s_i)**2)`` with both values floored,
        in decades: 0.1 means the values are off by a factor of about
        ``10**0.1 = 1.26`` in the root mean square. For an all-zero true
        spectrum, an exact prediction scores 0 and any other ``inf``.

    See Also
    --------
    log_spectral_distance : The mean over matrices.

    Examples
    --------
    >>> from svlearn.metrics import log_spectral_distance_per_matrix
    >>> log_spectral_distance_per_matrix([[100.0, 10.0]], [[100.0, 1.0]])
    array([0.70710678])
    >>> log_spectral_distance_per_matrix([[1.0, 0.0]], [[1.0, 0.0]])
    array([0.])
    """
    y_true, y_pred, low = _check_truth_and_floor(y_true, y_pred, floor)
    zero = low[:, 0] == 0
    # An all-zero truth has no scale to floor at: any other prediction is
    # infinitely far (as for nmse), an exact one at distance 0.
    low[zero] = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10(np.maximum(y_pred, low)) - np.log10(np.maximum(y_true, low))
    distance = np.sqrt(np.mean(ratio**2, axis=1))
    inexact = (y_pred != y_true).any(axis=1)
    return np.where(zero & inexact, np.inf, np.where(zero, 0.0, distance))


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "floor": _FLOOR,
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def log_spectral_distance(y_true, y_pred, *, floor=1e-6, sample_weight=None):
    """Log-spectral distance, per matrix then averaged.

    The mean over matrices of :func:`log_spectral_distance_per_matrix`: one
    number that, unlike the NMSE, does not let ``sigma_1`` hide the tail.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix, non-negative.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    floor : float, default=1e-6
        See :func:`log_spectral_distance_per_matrix`.
    sample_weight : array-like of shape (n_matrices,), default=None
        Weights of the matrices in the average.

    Returns
    -------
    loss : float
        Mean over matrices of ``sqrt(mean_i log10(s_hat_i / s_i)**2)``, in
        decades.

    See Also
    --------
    log_spectral_distance_per_matrix : The per-matrix values.

    Notes
    -----
    Each value counts by its ratio to the truth, not by its size: halving
    ``s_1`` and halving ``s_32`` cost the same, whereas NMSE barely sees the
    second. The floor (``floor * s_1``, 1e-6 by default: 6 decades below the
    largest value) bounds what a value predicted as 0 can cost.

    Examples
    --------
    >>> from svlearn.metrics import log_spectral_distance
    >>> log_spectral_distance([[100.0, 10.0], [1.0, 1.0]], [[100.0, 1.0], [1.0, 1.0]])
    0.35355...
    """
    distances = log_spectral_distance_per_matrix(y_true, y_pred, floor=floor)
    check_consistent_length(distances, sample_weight)
    return float(np.average(distances, weights=sample_weight))
