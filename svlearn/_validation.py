# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Input handling: matrix shapes of flattened or stacked input, and targets."""

import math
import numbers

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data


def resolve_matrix_shape(matrix_shape, n_features):
    """Return the ``(m, n)`` shape of matrices flattened into ``n_features`` columns.

    Parameters
    ----------
    matrix_shape : tuple of two ints or None
        ``None`` means square matrices, ``n_features`` must then be a perfect
        square. One entry may be ``-1``, which is inferred as in
        :func:`numpy.reshape`.
    n_features : int
        Width of the flattened input.

    Returns
    -------
    shape : tuple of two ints

    Examples
    --------
    >>> from svlearn._validation import resolve_matrix_shape
    >>> resolve_matrix_shape(None, 1024)
    (32, 32)
    >>> resolve_matrix_shape((1, -1), 10)
    (1, 10)
    """
    if matrix_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features or side == 0:
            raise ValueError(
                f"X has {n_features} features, which is not a perfect square, so "
                "the matrix shape cannot be inferred; pass matrix_shape=(m, n) "
                "with m * n == n_features (or a 3-D array of matrices)."
            )
        return (side, side)
    if (
        not isinstance(matrix_shape, (tuple, list))
        or len(matrix_shape) != 2
        or not all(isinstance(d, numbers.Integral) for d in matrix_shape)
    ):
        raise ValueError(
            "matrix_shape must be None or a tuple of two ints (m, n); "
            f"got matrix_shape={matrix_shape!r}."
        )
    m, n = (int(d) for d in matrix_shape)
    if m == -1 and n == -1 or any(d == 0 or d < -1 for d in (m, n)):
        raise ValueError(
            "matrix_shape must hold positive sizes, at most one of them -1; "
            f"got matrix_shape={matrix_shape!r}."
        )
    if m == -1 or n == -1:
        known = n if m == -1 else m
        if n_features % known:
            raise ValueError(
                f"matrix_shape={matrix_shape!r} does not divide n_features="
                f"{n_features}."
            )
        m, n = (n_features // known, n) if m == -1 else (m, n_features // known)
    if m * n != n_features:
        raise ValueError(
            f"matrix_shape={matrix_shape!r} holds {m * n} entries but X has "
            f"{n_features} features."
        )
    return (m, n)


def flatten_matrices(X):
    """Flatten a 3-D stack of matrices to rows; return it with its matrix shape.

    Anything that is not a 3-D array is returned unchanged with shape ``None``.
    """
    if (
        hasattr(X, "ndim")
        and X.ndim == 3
        or (isinstance(X, (list, tuple)) and np.ndim(X) == 3)
    ):
        X = np.asarray(X)
        return X.reshape(X.shape[0], -1), (X.shape[1], X.shape[2])
    return X, None


def matrix_shape_of(shape3d, matrix_shape, n_features):
    """The matrix shape of validated input, from a 3-D stack or ``matrix_shape``.

    ``shape3d`` is the shape a 3-D input carried (see :func:`flatten_matrices`);
    a given ``matrix_shape`` must then agree with it.
    """
    if shape3d is None:
        return resolve_matrix_shape(matrix_shape, n_features)
    if matrix_shape is not None and (
        resolve_matrix_shape(matrix_shape, n_features) != shape3d
    ):
        raise ValueError(
            f"matrix_shape={matrix_shape!r} disagrees with the 3-D input's "
            f"matrices of shape {shape3d}."
        )
    return shape3d


def check_matrices(X, matrix_shape=None, dtype=(np.float64, np.float32)):
    """Validate flat or 3-D ``X``; return it flattened, with the matrix shape."""
    X, shape3d = flatten_matrices(X)
    X = check_array(X, dtype=dtype)
    return X, matrix_shape_of(shape3d, matrix_shape, X.shape[1])


def check_targets(estimator, X, y, shape):
    """Validate given singular values ``y`` of matrices of shape ``shape``.

    ``y`` must be finite, non-negative and descending along each row; a 1-D
    ``y`` means one singular value per matrix (``1 x n`` or ``n x 1``), as
    in scikit-learn's single-output targets. Returns ``y`` as 2-D and whether
    it came 1-D.
    """
    _, y = validate_data(
        estimator,
        X,
        y,
        reset=False,
        multi_output=True,
        y_numeric=True,
        dtype=(np.float64, np.float32),
    )
    n_values = min(shape)
    y_2d = y.reshape(-1, 1) if y.ndim == 1 else y
    if y_2d.shape[1] != n_values:
        raise ValueError(
            f"y has shape {y.shape}, but {shape[0]} x {shape[1]} matrices have "
            f"{n_values} singular values: y must have shape (n_samples, "
            f"{n_values})."
        )
    if (y_2d < 0).any():
        raise ValueError(
            f"y holds negative values (min {y_2d.min():.3g}); singular values "
            "are non-negative."
        )
    rises = np.diff(y_2d, axis=1) > 0
    if rises.any():
        row = int(np.flatnonzero(rises.any(axis=1))[0])
        raise ValueError(
            f"y must list each matrix's singular values in descending order; "
            f"row {row} rises: {y_2d[row]}."
        )
    return y_2d, y.ndim == 1


class IntegerInterval(Interval):
    """``Interval(Integral, ...)`` that rejects bools.

    scikit-learn's Integral intervals accept ``True``, because bool subclasses
    int; a flag passed for a count is almost always a mistake.

    Examples
    --------
    >>> from svlearn._validation import IntegerInterval
    >>> constraint = IntegerInterval(0, None)
    >>> constraint.is_satisfied_by(2), constraint.is_satisfied_by(True)
    (True, False)
    """

    def __init__(self, left, right, *, closed="left"):
        super().__init__(numbers.Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)
