# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Input handling: matrices given flat, stacked or as a list, and targets.

Every public entry point of svlearn validates its matrices here, in one of two
layouts:

- :func:`check_matrices` / :func:`check_matrix_stack`: estimators, metrics,
  SVD and plots take matrices *as samples*: a 2-D array is ``n_samples``
  flattened matrices (``matrix_shape`` says their shape), a 3-D array a stack.
- :func:`check_matrix_stacks`: windowing takes matrices *to cut*: a 2-D array
  is **one** matrix, a 3-D array a stack, and a list a set of matrices of any
  sizes.
"""

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


def check_matrices(
    X, matrix_shape=None, dtype=(np.float64, np.float32), *, ensure_all_finite=True
):
    """Validate flat or 3-D ``X``; return it flattened, with the matrix shape."""
    X, shape3d = flatten_matrices(X)
    X = check_array(X, dtype=dtype, ensure_all_finite=ensure_all_finite)
    return X, matrix_shape_of(shape3d, matrix_shape, X.shape[1])


def check_matrix_stack(
    X, matrix_shape=None, *, dtype=np.float64, ensure_all_finite=True
):
    """Validate flat or 3-D ``X``; return a 3-D stack and the matrix shape.

    Parameters
    ----------
    X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
        Matrices flattened in row-major order, or stacked.
    matrix_shape : tuple of two ints or None, default=None
        Shape of the matrices of a flat ``X``; see :func:`resolve_matrix_shape`.
    dtype : data-type or tuple of data-types, default=np.float64
        As in :func:`sklearn.utils.check_array`.
    ensure_all_finite : bool, default=True
        Whether NaN and infinite entries raise (plots show them instead).

    Returns
    -------
    stack : ndarray of shape (n_samples, m, n)
    shape : tuple of two ints

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._validation import check_matrix_stack
    >>> stack, shape = check_matrix_stack(np.ones((2, 6)), (2, 3))
    >>> stack.shape, shape
    ((2, 2, 3), (2, 3))
    """
    X, shape = check_matrices(
        X, matrix_shape, dtype=dtype, ensure_all_finite=ensure_all_finite
    )
    return X.reshape(-1, *shape), shape


def _check_one_matrix(M, input_name):
    # Non-finite values are kept: windowing does no arithmetic, and the
    # downstream estimator decides what to do with them.
    return check_array(
        M,
        dtype="numeric",
        ensure_all_finite=False,
        ensure_2d=True,
        ensure_min_samples=1,
        ensure_min_features=1,
        input_name=input_name,
    )


def check_matrix_stacks(X):
    """Validate matrices to cut windows from; return them as 3-D stacks.

    A 2-D array-like is **one** matrix, a 3-D array a stack of matrices of one
    shape, and a list (or tuple, or 1-D object array) of 2-D array-likes a set
    of matrices of any sizes. Numeric arrays are not copied.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_cols) or (n_matrices, n_rows, n_cols), \
            or list of array-like of shape (n_rows_i, n_cols_i)
        The matrices.

    Returns
    -------
    stacks : list of ndarray of shape (n_matrices_j, n_rows_j, n_cols_j)
        Matrices of one shape stacked together, in input order: a 3-D ``X``
        is one stack, a 2-D ``X`` one stack of one matrix, and a list one
        stack per matrix (views, not copies).

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._validation import check_matrix_stacks
    >>> [s.shape for s in check_matrix_stacks(np.zeros((3, 4, 5)))]
    [(3, 4, 5)]
    >>> [s.shape for s in check_matrix_stacks([np.zeros((2, 2)), np.zeros((4, 3))])]
    [(1, 2, 2), (1, 4, 3)]
    """
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1:
        # An object array holding matrices, as produced by indexing a ragged set.
        X = list(X)
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError(
                "X is an empty list; expected at least one 2-D matrix to window."
            )
        if all(np.ndim(item) == 2 for item in X):
            return [
                _check_one_matrix(item, f"X[{i}]")[np.newaxis]
                for i, item in enumerate(X)
            ]
    X = check_array(
        X,
        dtype="numeric",
        ensure_all_finite=False,
        ensure_2d=False,
        allow_nd=True,
        ensure_min_samples=1,
        input_name="X",
    )
    if X.ndim == 2:
        return [_check_one_matrix(X, "X")[np.newaxis]]
    if X.ndim == 3:
        if X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(
                f"X is a stack of empty matrices of shape {X.shape}; each matrix "
                "needs at least one row and one column."
            )
        return [X]
    raise ValueError(
        "X must be one 2-D matrix, a 3-D stack of matrices of shape "
        "(n_matrices, n_rows, n_cols) or a list of 2-D matrices; got an array "
        f"of shape {X.shape}. Reshape your data, e.g. X.reshape(1, -1) for a "
        "matrix with one row."
    )


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


class NonBoolInterval(Interval):
    """sklearn's ``Interval`` constraint, with bools rejected.

    ``bool`` is an ``int`` subclass, so ``Interval(Integral, ...)`` lets
    ``k=True`` through as ``1``; a bool passed for a count is almost surely a
    mistake. Use it in ``_parameter_constraints`` and ``validate_params``
    wherever ``Interval`` would be used for a number.

    Examples
    --------
    >>> from numbers import Integral
    >>> from svlearn._validation import NonBoolInterval
    >>> constraint = NonBoolInterval(Integral, 1, None, closed="left")
    >>> constraint.is_satisfied_by(3), constraint.is_satisfied_by(True)
    (True, False)

    The counts of svlearn share two such constraints:

    >>> from svlearn._validation import NON_NEGATIVE_INT, POSITIVE_INT
    >>> POSITIVE_INT.is_satisfied_by(0), NON_NEGATIVE_INT.is_satisfied_by(0)
    (False, True)
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


# Shared parameter constraints for counts, for ``_parameter_constraints`` and
# ``validate_params``: every count in svlearn rejects bools the same way.
POSITIVE_INT = NonBoolInterval(numbers.Integral, 1, None, closed="left")
NON_NEGATIVE_INT = NonBoolInterval(numbers.Integral, 0, None, closed="left")
