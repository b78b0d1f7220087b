# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cut fixed-size windows out of matrices ("windowing", as in the SV-Learn paper)."""

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array, check_random_state

__all__ = ["MatrixWindowTransformer", "extract_windows", "n_windows"]

# Windows are gathered in chunks of this many rows of output so that the only
# temporary buffer on top of the output is bounded (a few MiB), whatever the
# number of windows.
_CHUNK_BYTES = 8 * 2**20


def _check_pair(value, name):
    """Return ``value`` as a pair of positive ints, accepting a single int."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        pair = tuple(value)
    except TypeError:
        pair = None
    if (
        pair is None
        or len(pair) != 2
        or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
        )
    ):
        raise TypeError(
            f"{name} must be an int or a tuple of two ints, got {value!r} instead."
        )
    if min(pair) < 1:
        raise ValueError(
            f"{name} must contain positive integers, got {value!r} instead."
        )
    return int(pair[0]), int(pair[1])


def _check_params(window_shape, strides, max_windows):
    """Validate the windowing parameters, collecting every problem."""
    errors = []
    pairs = []
    for value, name in ((window_shape, "window_shape"), (strides, "strides")):
        try:
            pairs.append(_check_pair(value, name))
        except (TypeError, ValueError) as exc:
            errors.append(exc)
    if max_windows is not None:
        if not isinstance(max_windows, numbers.Integral) or isinstance(
            max_windows, bool
        ):
            errors.append(
                TypeError(
                    f"max_windows must be None or an int, got {max_windows!r} instead."
                )
            )
        elif max_windows < 1:
            errors.append(
                ValueError(f"max_windows must be >= 1 or None, got {max_windows!r}.")
            )
    if errors:
        # One raise for all problems; TypeError wins if any type is wrong.
        kind = (
            TypeError if any(isinstance(e, TypeError) for e in errors) else ValueError
        )
        raise kind(" ".join(str(e) for e in errors))
    return pairs[0], pairs[1]


def _as_matrices(X):
    """Return the input as a validated 3-D stack or list of 2-D arrays.

    A 2-D array-like is one matrix, a 3-D array a stack of matrices, and a list
    (or tuple) whose items are all 2-D a collection of matrices of any sizes.
    Arrays are not copied when they already have a numeric dtype.
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
            return [_check_matrix(item, f"X[{i}]") for i, item in enumerate(X)]
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
        return [_check_matrix(X, "X")]
    if X.ndim == 3:
        if X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(
                f"X is a stack of empty matrices of shape {X.shape}; each matrix "
                "needs at least one row and one column."
            )
        return X
    raise ValueError(
        "X must be one 2-D matrix, a 3-D stack of matrices of shape "
        "(n_matrices, n_rows, n_cols) or a list of 2-D matrices; got an array "
        f"of shape {X.shape}. Reshape your data, e.g. X.reshape(1, -1) for a "
        "matrix with one row."
    )


def _check_matrix(M, input_name):
    # Non-finite values are copied through unchanged: windowing does no
    # arithmetic, and the downstream estimator decides what to do with them.
    return check_array(
        M,
        dtype="numeric",
        ensure_all_finite=False,
        ensure_2d=True,
        ensure_min_samples=1,
        ensure_min_features=1,
        input_name=input_name,
    )


def _grid_shapes(matrices, window_shape, strides):
    """Number of window offsets along rows and columns of each matrix."""
    (m, n), (sr, sc) = window_shape, strides
    is_stack = isinstance(matrices, np.ndarray)
    shapes = [matrices.shape[1:]] if is_stack else [M.shape for M in matrices]
    for i, (n_rows, n_cols) in enumerate(shapes):
        if m > n_rows or n > n_cols:
            if is_stack:
                which = "the matrices of X"
            else:
                which = "X" if len(matrices) == 1 else f"matrix {i} of X"
            raise ValueError(
                f"window_shape={window_shape} is larger than {which}, of shape "
                f"{(n_rows, n_cols)} (n_samples = {n_rows}, n_features = {n_cols}); "
                "each window must fit inside every matrix."
            )
    grids = [((h - m) // sr + 1, (w - n) // sc + 1) for h, w in shapes]
    return grids * len(matrices) if is_stack else grids


def _draw(n_population, n_draws, random_state):
    """Draw ``n_draws`` distinct sorted ints in [0, n_population).

    Memory is O(n_draws), never O(n_population): the population of windows of
    a large matrix at stride 1 can be billions, far more than is ever drawn.
    """
    rng = check_random_state(random_state)
    if 2 * n_draws > n_population:
        # Few windows are left out: draw those instead and keep the others.
        # The population is then at most twice the output, so arange is cheap.
        left_out = _draw(n_population, n_population - n_draws, rng)
        keep = np.ones(n_population, dtype=bool)
        keep[left_out] = False
        return np.flatnonzero(keep)
    drawn = np.empty(0, dtype=np.int64)
    while drawn.size < n_draws:
        # Draws with replacement, deduplicated; by symmetry the distinct set
        # is a uniformly random subset of its size.
        more = rng.randint(0, n_population, size=n_draws - drawn.size, dtype=np.int64)
        drawn = np.union1d(drawn, more)
    if drawn.size > n_draws:
        drawn = np.sort(rng.choice(drawn, size=n_draws, replace=False))
    return drawn


def _plan(X, window_shape, strides, max_windows, random_state):
    """Validate everything and pick the windows, without extracting any.

    Returns the matrices (a 3-D stack or a list), the grid of window positions
    of each, and either None (every window) or the picked windows as sorted
    (matrix, row position, column position) index arrays; positions times the
    strides are the offsets.
    """
    window_shape, strides = _check_params(window_shape, strides, max_windows)
    matrices = _as_matrices(X)
    grids = _grid_shapes(matrices, window_shape, strides)
    counts = np.array([r * c for r, c in grids], dtype=np.int64)
    total = int(counts.sum())
    picked = None
    if max_windows is not None and max_windows < total:
        flat = _draw(total, max_windows, random_state)
        starts = np.concatenate([[0], np.cumsum(counts)])
        which = np.searchsorted(starts, flat, side="right") - 1
        local = flat - starts[which]
        n_cols = np.array([c for _, c in grids], dtype=np.int64)[which]
        picked = (which, local // n_cols, local % n_cols)
    return matrices, window_shape, strides, grids, picked


def _all_positions(grids):
    """(matrix, row position, column position) of every window, in order."""
    n_cols = np.array([c for _, c in grids], dtype=np.int64)
    counts = np.array([r * c for r, c in grids], dtype=np.int64)
    which = np.repeat(np.arange(len(grids)), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return which, local // n_cols[which], local % n_cols[which]


def _origins(positions, strides):
    which, rows, cols = positions
    return np.column_stack([which, rows * strides[0], cols * strides[1]]).astype(
        np.int64, copy=False
    )


def _gather(view, index, out):
    """Copy ``view[index[0][k], index[1][k], ...]`` flattened into ``out[k]``.

    Fancy indexing copies its result, so gathering in chunks bounds that
    temporary to ``_CHUNK_BYTES`` instead of the size of the output.
    """
    chunk = max(1, _CHUNK_BYTES // max(1, out.shape[1] * out.itemsize))
    for a in range(0, len(index[0]), chunk):
        part = tuple(ix[a : a + chunk] for ix in index)
        out[a : a + len(part[0])] = view[part].reshape(len(part[0]), -1)
    return out


def _windows_at(M, row_offsets, col_offsets, window_shape, dtype=None):
    """Flattened windows of the 2-D array ``M`` whose top-left entries are given."""
    M = np.asarray(M)
    m, n = window_shape
    out = np.empty((len(row_offsets), m * n), dtype=dtype or M.dtype)
    view = sliding_window_view(M, (m, n))
    return _gather(view, (row_offsets, col_offsets), out)


def _extract(X, window_shape, strides, max_windows, random_state, return_origins):
    matrices, (m, n), (sr, sc), grids, picked = _plan(
        X, window_shape, strides, max_windows, random_state
    )
    n_out = sum(r * c for r, c in grids) if picked is None else len(picked[0])
    if isinstance(matrices, np.ndarray):
        dtype = matrices.dtype
    else:
        dtype = np.result_type(*matrices)
    out = np.empty((n_out, m * n), dtype=dtype)

    if isinstance(matrices, np.ndarray):
        # One read-only strided view of the whole stack, shape
        # (n_matrices, n_r, n_c, m, n): no data is copied until written to out.
        view = sliding_window_view(matrices, (m, n), axis=(1, 2))[:, ::sr, ::sc]
        if picked is None:
            out.reshape(view.shape)[...] = view
        else:
            _gather(view, picked, out)
    else:
        bounds = None
        if picked is not None:
            # Picked windows are sorted by matrix: one slice per matrix.
            bounds = np.searchsorted(picked[0], np.arange(len(matrices) + 1))
        start = 0
        for i, (M, (n_r, n_c)) in enumerate(zip(matrices, grids)):
            view = sliding_window_view(M, (m, n))[::sr, ::sc]
            if picked is None:
                # Writing the view straight into the output avoids a temporary.
                out[start : start + n_r * n_c].reshape(view.shape)[...] = view
                start += n_r * n_c
            else:
                a, b = bounds[i], bounds[i + 1]
                _gather(view, (picked[1][a:b], picked[2][a:b]), out[a:b])
    if return_origins:
        positions = _all_positions(grids) if picked is None else picked
        return out, _origins(positions, (sr, sc))
    return out


def extract_windows(
    X,
    window_shape=(32, 32),
    *,
    strides=(1, 1),
    max_windows=None,
    random_state=None,
    return_origins=False,
):
    """Extract flattened ``m x n`` windows from one or several matrices.

    Windows are read from strided views of the input (numpy's
    ``sliding_window_view``), so the only memory used on top of the output is
    a small constant, also when ``max_windows`` draws a random subset of a
    huge number of possible windows.

    Read more in the :ref:`windows user guide <windows>` (``docs/windows.md``).

    Parameters
    ----------
    X : array-like of shape (n_rows, n_cols) or (n_matrices, n_rows, n_cols), \
            or list of array-like of shape (n_rows_i, n_cols_i)
        One matrix, a stack of matrices of equal shape, or a list of matrices
        of possibly different shapes.

    window_shape : int or tuple of int (m, n), default=(32, 32)
        Number of rows and columns of each window. An int gives square
        windows.

    strides : int or tuple of int, default=(1, 1)
        Step between consecutive windows along rows and along columns. An int
        is used in both directions.

    max_windows : int, default=None
        If not None, return this many windows drawn uniformly at random without
        replacement from all windows of all matrices (or every window if there
        are fewer). Drawn windows are returned in origin order.

    random_state : int, RandomState instance or None, default=None
        Determines the random draw when ``max_windows`` is not None. Pass an
        int for reproducible output across calls.

    return_origins : bool, default=False
        Whether to also return where each window came from.

    Returns
    -------
    windows : ndarray of shape (n_windows, m * n)
        The windows, each flattened in row-major (C) order, with the dtype of
        the input. Windows are ordered by matrix, then row offset, then column
        offset.

    origins : ndarray of shape (n_windows, 3)
        Only returned if ``return_origins`` is True. For each window, the index
        of its source matrix in ``X`` and the row and column of its top-left
        entry in that matrix. ``origins[:, 0]`` is a ``groups`` array for
        splitting by source matrix.

    See Also
    --------
    MatrixWindowTransformer : The same operation as a scikit-learn transformer.
    n_windows : Count the windows without extracting them.
    sklearn.feature_extraction.image.extract_patches_2d : Patches of one image.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import extract_windows
    >>> A = np.arange(20).reshape(4, 5)
    >>> windows, origins = extract_windows(
    ...     A, window_shape=(2, 2), strides=(2, 3), return_origins=True
    ... )
    >>> windows
    array([[ 0,  1,  5,  6],
           [ 3,  4,  8,  9],
           [10, 11, 15, 16],
           [13, 14, 18, 19]])
    >>> origins
    array([[0, 0, 0],
           [0, 0, 3],
           [0, 2, 0],
           [0, 2, 3]])
    >>> stack = np.zeros((3, 40, 40), dtype=np.float32)
    >>> extract_windows(stack, (32, 32), strides=4, max_windows=5).shape
    (5, 1024)
    """
    return _extract(X, window_shape, strides, max_windows, random_state, return_origins)


def n_windows(X, window_shape=(32, 32), *, strides=(1, 1)):
    """Count the windows of each matrix without extracting them.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_cols) or (n_matrices, n_rows, n_cols), \
            or list of array-like of shape (n_rows_i, n_cols_i)
        One matrix, a stack of matrices, or a list of matrices.

    window_shape : int or tuple of int (m, n), default=(32, 32)
        Number of rows and columns of each window.

    strides : int or tuple of int, default=(1, 1)
        Step between consecutive windows along rows and along columns.

    Returns
    -------
    counts : ndarray of shape (n_matrices,)
        Number of windows of each matrix; their sum is the number of rows that
        :func:`extract_windows` returns when ``max_windows`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import n_windows
    >>> n_windows(np.zeros((4601, 58)), (32, 32))
    array([123390])
    >>> n_windows([np.zeros((40, 40)), np.zeros((32, 64))], 32, strides=8)
    array([4, 5])
    """
    window_shape, strides = _check_params(window_shape, strides, None)
    grids = _grid_shapes(_as_matrices(X), window_shape, strides)
    return np.array([r * c for r, c in grids], dtype=np.int64)


class MatrixWindowTransformer(TransformerMixin, BaseEstimator):
    """Turn matrices into flattened ``m x n`` windows ("windowing").

    Moves an ``m x n`` window over each input matrix with the given strides and
    returns every window (or a random subset) as one row, in the
    ``(n_samples, m * n)`` layout that :class:`SingularValueRegressor` takes.
    Modelled on :class:`sklearn.feature_extraction.image.PatchExtractor`.

    **This transformer changes the number of samples**: ``transform(X)``
    returns one row per window, not per row of ``X``. It may therefore only
    stand where no ``y`` has to follow the samples: as the first step of a
    :class:`~sklearn.pipeline.Pipeline` fitted with ``y=None`` (the regressor
    then computes its own targets, the exact singular values, and svlearn's
    scorers compute the ground truth of what reaches the final step), or as a
    data-preparation step before the estimator.

    Read more in the :ref:`windows user guide <windows>` (``docs/windows.md``).

    Parameters
    ----------
    window_shape : int or tuple of int (m, n), default=(32, 32)
        Number of rows and columns of each window. An int gives square
        windows.

    strides : int or tuple of int, default=(1, 1)
        Step between consecutive windows along rows and along columns. An int
        is used in both directions.

    max_windows : int, default=None
        If not None, :meth:`transform` returns this many windows drawn
        uniformly at random without replacement from all windows of all input
        matrices (or every window if there are fewer).

    random_state : int, RandomState instance or None, default=None
        Determines the random draw when ``max_windows`` is not None. Pass an
        int for reproducible output across calls.

    See Also
    --------
    extract_windows : Function form, which can also return the origins.
    sklearn.feature_extraction.image.PatchExtractor : Patches of images.

    Notes
    -----
    This estimator is stateless: :meth:`fit` only validates the parameters and
    checks that the windows fit inside ``X``.

    Inputs: a 2-D array is **one** matrix (its rows are not samples), a 3-D
    array a stack of matrices of shape ``(n_matrices, n_rows, n_cols)``, and a
    list of 2-D arrays a set of matrices of possibly different shapes. Inside
    cross-validation, the rows of ``X`` are whole matrices, so folds split by
    matrix and overlapping windows never straddle the train/test boundary.

    Windows are read from strided views, so memory use is the output plus a
    small constant. Use :meth:`window_origins` to know which matrix and offset
    each window came from, e.g. to build ``groups`` for
    :class:`~sklearn.model_selection.GroupKFold`.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import MatrixWindowTransformer
    >>> images = np.random.RandomState(0).rand(3, 40, 48)
    >>> windower = MatrixWindowTransformer(window_shape=(32, 32), strides=8)
    >>> windower.fit_transform(images).shape
    (18, 1024)
    >>> windower.window_origins(images)[:3]
    array([[ 0,  0,  0],
           [ 0,  0,  8],
           [ 0,  0, 16]])
    """

    def __init__(
        self,
        *,
        window_shape=(32, 32),
        strides=(1, 1),
        max_windows=None,
        random_state=None,
    ):
        self.window_shape = window_shape
        self.strides = strides
        self.max_windows = max_windows
        self.random_state = random_state

    def fit(self, X, y=None):
        """Validate the parameters and check that the windows fit inside ``X``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_cols) or (n_matrices, n_rows, \
                n_cols), or list of array-like of shape (n_rows_i, n_cols_i)
            One matrix, a stack of matrices, or a list of matrices.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The transformer itself.
        """
        window_shape, strides = _check_params(
            self.window_shape, self.strides, self.max_windows
        )
        _grid_shapes(_as_matrices(X), window_shape, strides)
        return self

    def transform(self, X):
        """Return the windows of ``X``, one flattened window per row.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_cols) or (n_matrices, n_rows, \
                n_cols), or list of array-like of shape (n_rows_i, n_cols_i)
            One matrix, a stack of matrices, or a list of matrices.

        Returns
        -------
        windows : ndarray of shape (n_windows, m * n)
            The windows, with the dtype of ``X``, ordered by matrix, then row
            offset, then column offset. ``n_windows`` is the total number of
            windows, or ``max_windows`` if that is smaller.
        """
        return _extract(
            X,
            self.window_shape,
            self.strides,
            self.max_windows,
            self.random_state,
            return_origins=False,
        )

    def window_origins(self, X):
        """Return where each window of :meth:`transform` comes from.

        The rows match ``transform(X)`` when ``max_windows`` is None or
        ``random_state`` is an int; otherwise call :func:`extract_windows` with
        ``return_origins=True`` to get windows and origins from one draw.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_cols) or (n_matrices, n_rows, \
                n_cols), or list of array-like of shape (n_rows_i, n_cols_i)
            One matrix, a stack of matrices, or a list of matrices.

        Returns
        -------
        origins : ndarray of shape (n_windows, 3)
            For each window, the index of its source matrix in ``X`` and the
            row and column of its top-left entry in that matrix.
        """
        _, _, strides, grids, picked = _plan(
            X, self.window_shape, self.strides, self.max_windows, self.random_state
        )
        positions = _all_positions(grids) if picked is None else picked
        return _origins(positions, strides)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Windows copy values; NaN and inf pass through unchanged.
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.requires_fit = False
        return tags
