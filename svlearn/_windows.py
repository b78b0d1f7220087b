# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cut fixed-size windows out of matrices ("windowing", as in the SV-Learn paper)."""

from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_params

from ._validation import POSITIVE_INT, check_matrix_stacks

__all__ = ["MatrixWindowTransformer", "extract_windows", "n_windows"]

# Windows are gathered in chunks of this many bytes of output so that the only
# temporary buffer on top of the output is bounded (a few MiB), whatever the
# number of windows.
_CHUNK_BYTES = 8 * 2**20

# Shared by MatrixWindowTransformer and the functions. An int or a pair:
# sklearn has no constraint for "pair of positive ints", so "array-like" lets
# pairs through to positive_pairs, which checks their contents. Also used by
# svlearn.dask and svlearn.datasets, which take the same two parameters.
SIZE_PAIR = [POSITIVE_INT, "array-like"]
_WINDOW_PARAMS = {
    "window_shape": SIZE_PAIR,
    "strides": SIZE_PAIR,
    "max_windows": [POSITIVE_INT, None],
    "random_state": ["random_state"],
}


def positive_pairs(**named_values):
    """Return each value as a pair of positive ints, accepting a single int.

    Bespoke messages: sklearn's validation only knows the value is
    "array-like", while the user needs to hear "two positive ints". Every bad
    pair is reported in one raise; TypeError wins if any type is wrong.
    """
    pairs, errors = [], []
    for name, value in named_values.items():
        if isinstance(value, Integral) and not isinstance(value, bool):
            value = (value, value)
        pair = tuple(value)
        if len(pair) != 2 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) for v in pair
        ):
            errors.append(
                TypeError(
                    f"{name} must be an int or a tuple of two ints, got {value!r} "
                    "instead."
                )
            )
        elif min(pair) < 1:
            errors.append(
                ValueError(
                    f"{name} must contain positive integers, got {value!r} instead."
                )
            )
        else:
            pairs.append((int(pair[0]), int(pair[1])))
    if errors:
        kind = ValueError
        if any(isinstance(e, TypeError) for e in errors):
            kind = TypeError
        raise kind(" ".join(str(e) for e in errors))
    return pairs


def _window_grids(stacks, window_shape, strides):
    """Number of window positions (down, across) in the matrices of each stack."""
    (m, n), (sr, sc) = window_shape, strides
    for i, stack in enumerate(stacks):
        n_rows, n_cols = stack.shape[1:]
        if m > n_rows or n > n_cols:
            if len(stack) > 1:
                which = "the matrices of X"
            else:
                which = "X" if len(stacks) == 1 else f"matrix {i} of X"
            raise ValueError(
                f"window_shape={window_shape} is larger than {which}, of shape "
                f"{(n_rows, n_cols)} (n_samples = {n_rows}, n_features = {n_cols}); "
                "each window must fit inside every matrix."
            )
    return [((s.shape[1] - m) // sr + 1, (s.shape[2] - n) // sc + 1) for s in stacks]


def _windows_per_stack(stacks, grids):
    return np.array(
        [len(s) * down * across for s, (down, across) in zip(stacks, grids)],
        dtype=np.int64,
    )


def _draw_windows(n_total, max_windows, random_state):
    """Sorted numbers of ``max_windows`` windows drawn without replacement.

    numpy's ``Generator.choice`` uses Floyd's algorithm when few of many are
    drawn, so memory is O(max_windows), never O(n_total): the windows of a
    large matrix at stride 1 can be billions. (sklearn's
    ``sample_without_replacement`` does the same but about 15x slower.)
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=max_windows, replace=False, shuffle=False))


class _WindowLayout:
    """Where the windows of some matrices are, without copying any.

    Windows are numbered stack by stack, then matrix by matrix, then by row
    and column position: ``selected`` holds the numbers of the windows to
    return (sorted), or None for every window.
    """

    def __init__(self, X, window_shape, strides, max_windows, random_state):
        self.window_shape, self.strides = positive_pairs(
            window_shape=window_shape, strides=strides
        )
        self.stacks = check_matrix_stacks(X)
        self.grids = _window_grids(self.stacks, self.window_shape, self.strides)
        counts = _windows_per_stack(self.stacks, self.grids)
        self.first_window = np.concatenate([[0], np.cumsum(counts)])
        n_total = int(self.first_window[-1])
        self.selected = None
        if max_windows is not None and max_windows < n_total:
            self.selected = _draw_windows(n_total, max_windows, random_state)

    @property
    def n_windows(self):
        if self.selected is None:
            return int(self.first_window[-1])
        return len(self.selected)

    def windows_of_stacks(self):
        """Yield, per stack, its index, its slice of output rows and its windows.

        The windows are None when every window is returned, else the numbers
        of the selected ones within the stack.
        """
        if self.selected is None:
            bounds = self.first_window
        else:
            bounds = np.searchsorted(self.selected, self.first_window)
        for j in range(len(self.stacks)):
            rows = slice(int(bounds[j]), int(bounds[j + 1]))
            local = None
            if self.selected is not None:
                local = self.selected[rows] - self.first_window[j]
            yield j, rows, local

    def positions(self, j, local):
        """(matrix, row position, column position) of windows of stack ``j``."""
        down, across = self.grids[j]
        if local is None:
            local = np.arange(len(self.stacks[j]) * down * across)
        matrix, within = np.divmod(local, down * across)
        return (matrix, *np.divmod(within, across))

    def copy_windows(self):
        """The selected windows, flattened, one per row."""
        m, n = self.window_shape
        sr, sc = self.strides
        dtype = np.result_type(*self.stacks)
        out = np.empty((self.n_windows, m * n), dtype=dtype)
        for j, rows, local in self.windows_of_stacks():
            # A read-only strided view of shape (n_matrices, down, across, m, n):
            # nothing is copied until written into out.
            view = sliding_window_view(self.stacks[j], (m, n), axis=(1, 2))
            view = view[:, ::sr, ::sc]
            if local is None:
                # Every window, in order: one write, no temporary.
                out[rows].reshape(view.shape)[...] = view
            else:
                _gather_windows(view, self.positions(j, local), out[rows])
        return out

    def origins(self):
        """Source matrix, top row and left column of each selected window."""
        first_matrix = np.cumsum([0] + [len(s) for s in self.stacks])
        out = np.empty((self.n_windows, 3), dtype=np.int64)
        for j, rows, local in self.windows_of_stacks():
            matrix, down, across = self.positions(j, local)
            out[rows, 0] = first_matrix[j] + matrix
            out[rows, 1] = down * self.strides[0]
            out[rows, 2] = across * self.strides[1]
        return out


def _gather_windows(view, index, out):
    """Copy ``view[index[0][k], index[1][k], ...]`` flattened into ``out[k]``.

    Fancy indexing copies its result, so gathering in chunks bounds that
    temporary to ``_CHUNK_BYTES`` instead of the size of the output.
    """
    chunk = max(1, _CHUNK_BYTES // max(1, out.shape[1] * out.itemsize))
    for a in range(0, len(index[0]), chunk):
        part = tuple(ix[a : a + chunk] for ix in index)
        out[a : a + len(part[0])] = view[part].reshape(len(part[0]), -1)
    return out


def windows_at_offsets(M, row_offsets, col_offsets, window_shape, dtype=None):
    """Flattened windows of the 2-D array ``M`` whose top-left entries are given.

    For callers that pick the offsets themselves (the paper's Spambase
    protocol); no validation.
    """
    M = np.asarray(M)
    m, n = window_shape
    out = np.empty((len(row_offsets), m * n), dtype=dtype or M.dtype)
    view = sliding_window_view(M, (m, n))
    return _gather_windows(view, (row_offsets, col_offsets), out)


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        **_WINDOW_PARAMS,
        "return_origins": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
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
    layout = _WindowLayout(X, window_shape, strides, max_windows, random_state)
    windows = layout.copy_windows()
    if return_origins:
        return windows, layout.origins()
    return windows


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "window_shape": SIZE_PAIR,
        "strides": SIZE_PAIR,
    },
    prefer_skip_nested_validation=True,
)
def n_windows(X, window_shape=(32, 32), *, strides=(1, 1)):
    """Count the windows of each matrix without extracting them.

    Along each axis a matrix of size ``n`` has ``(n - w) // s + 1`` windows of
    size ``w`` at stride ``s`` (none if ``n < w``); the count is their product.
    Use it to size a computation before :func:`extract_windows` allocates it.

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

    See Also
    --------
    extract_windows : Extract the windows themselves.
    MatrixWindowTransformer : The same windows as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import n_windows
    >>> n_windows(np.zeros((4601, 58)), (32, 32))
    array([123390])
    >>> n_windows([np.zeros((40, 40)), np.zeros((32, 64))], 32, strides=8)
    array([4, 5])
    """
    layout = _WindowLayout(X, window_shape, strides, None, None)
    return np.concatenate(
        [
            np.full(len(stack), down * across, dtype=np.int64)
            for stack, (down, across) in zip(layout.stacks, layout.grids)
        ]
    )


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

    _parameter_constraints = dict(_WINDOW_PARAMS)

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
        self._layout(X)
        return self

    def _layout(self, X):
        # Stateless, so transform may come without fit: every entry point
        # validates (sklearn's _validate_params, as _fit_context would).
        self._validate_params()
        return _WindowLayout(
            X, self.window_shape, self.strides, self.max_windows, self.random_state
        )

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
        return self._layout(X).copy_windows()

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
        return self._layout(X).origins()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Windows copy values; NaN and inf pass through unchanged.
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.requires_fit = False
        return tags

    # Model files (svlearn.save / svlearn.load): stateless, so a file stores
    # the parameters and no fitted attribute; loading checks them as
    # transform would.
    _persisted_attributes = {}

    def _check_persisted_state(self):
        """Raise unless the parameters are ones transform accepts."""
        positive_pairs(window_shape=self.window_shape, strides=self.strides)
