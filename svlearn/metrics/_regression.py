# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""NMSE and MAE of predicted spectra, as in Eq. 1 of the SV-Learn paper."""

import numpy as np
from sklearn.metrics import mean_absolute_error
from sklearn.utils import check_array, check_consistent_length


def check_spectra(y_true, y_pred, sample_weight=None):
    y_true = check_array(y_true, ensure_2d=False, dtype=np.float64, input_name="y_true")
    y_pred = check_array(y_pred, ensure_2d=False, dtype=np.float64, input_name="y_pred")
    if y_true.ndim == 1:
        y_true = y_true.reshape(-1, 1)
    if y_pred.ndim == 1:
        y_pred = y_pred.reshape(-1, 1)
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise ValueError(
            "y_true and y_pred must have the same shape (n_matrices, n_values); "
            f"got {y_true.shape} and {y_pred.shape}."
        )
    check_consistent_length(y_true, y_pred, sample_weight)
    return y_true, y_pred


def nmse_per_matrix(y_true, y_pred):
    """Normalised mean squared error of each matrix's predicted spectrum.

    Each matrix's squared error is divided by its own energy, so that
    matrices of any scale weigh alike; :func:`nmse` averages these values.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.

    Returns
    -------
    errors : ndarray of shape (n_matrices,)
        ``sum_i (s_i - s_hat_i)**2 / sum_i s_i**2`` for each matrix; a zero
        spectrum predicted exactly scores 0, predicted inexactly ``inf``.

    See Also
    --------
    nmse : Their mean, the paper's NMSE.
    mae_per_matrix : The mean absolute error of each matrix.

    Examples
    --------
    >>> from svlearn.metrics import nmse_per_matrix
    >>> nmse_per_matrix([[2.0, 1.0], [1.0, 0.0]], [[2.0, 0.0], [1.0, 0.0]])
    array([0.2, 0. ])
    """
    y_true, y_pred = check_spectra(y_true, y_pred)
    num = ((y_true - y_pred) ** 2).sum(axis=1)
    den = (y_true**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num == 0, 0.0, num / den)


def mae_per_matrix(y_true, y_pred):
    """Mean absolute error of each matrix's predicted spectrum.

    The error is in the units of the singular values, so it grows with the
    scale of the matrices; :func:`mae` averages these values.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.

    Returns
    -------
    errors : ndarray of shape (n_matrices,)
        ``mean_i |s_i - s_hat_i|`` for each matrix.

    See Also
    --------
    mae : Their mean, the paper's MAE.
    nmse_per_matrix : The normalised squared error of each matrix.

    Examples
    --------
    >>> from svlearn.metrics import mae_per_matrix
    >>> mae_per_matrix([[2.0, 1.0]], [[1.0, 0.0]])
    array([1.])
    """
    y_true, y_pred = check_spectra(y_true, y_pred)
    # Transposed, each matrix is one "output" of sklearn's MAE.
    return mean_absolute_error(y_true.T, y_pred.T, multioutput="raw_values")


def nmse(y_true, y_pred, *, sample_weight=None):
    """Normalised mean squared error, per matrix then averaged (paper Eq. 1).

    Scale-free: each matrix's error is relative to its own energy. The
    scorer :data:`~svlearn.metrics.nmse_scorer` uses it in model selection.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    sample_weight : array-like of shape (n_matrices,), default=None
        Weights of the matrices in the average.

    Returns
    -------
    loss : float
        A fraction: multiply by 100 for the paper's percentages.

    See Also
    --------
    nmse_per_matrix : The per-matrix values, for mean ± std and histograms.

    Notes
    -----
    For a matrix with singular values ``s`` and predictions ``s_hat``,
    ``NMSE = sum((s - s_hat)**2) / sum(s**2)``.
    This is not ``mean_squared_error / mean(y_true**2)`` over the whole set: each
    matrix is normalised by its own energy before averaging.

    Examples
    --------
    >>> from svlearn.metrics import nmse
    >>> float(nmse([[2.0, 1.0], [1.0, 0.0]], [[2.0, 0.0], [1.0, 0.0]]))
    0.1
    """
    errors = nmse_per_matrix(y_true, y_pred)
    check_consistent_length(errors, sample_weight)
    return float(np.average(errors, weights=sample_weight))


def mae(y_true, y_pred, *, sample_weight=None):
    """Mean absolute error, per matrix then averaged (paper Eq. 1).

    In the units of the singular values, so comparable only between matrices
    of one scale. The scorer :data:`~svlearn.metrics.mae_scorer` uses it in
    model selection.

    Parameters
    ----------
    y_true : array-like of shape (n_matrices, n_values)
        Exact singular values, one row per matrix.
    y_pred : array-like of shape (n_matrices, n_values)
        Predicted singular values.
    sample_weight : array-like of shape (n_matrices,), default=None
        Weights of the matrices in the average.

    Returns
    -------
    loss : float
        In the units of the singular values.

    See Also
    --------
    mae_per_matrix : The per-matrix values.
    sklearn.metrics.mean_absolute_error : What computes it.

    Examples
    --------
    >>> from svlearn.metrics import mae
    >>> float(mae([[2.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]))
    0.5
    """
    y_true, y_pred = check_spectra(y_true, y_pred, sample_weight)
    # The mean over matrices of per-matrix means is sklearn's MAE averaged
    # over outputs, as every matrix has the same number of values.
    return float(mean_absolute_error(y_true, y_pred, sample_weight=sample_weight))


normalized_mean_squared_error = nmse
