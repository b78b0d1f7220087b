# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Leak-free train/test split of the windows of one matrix, by row blocks."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._validation import NonBoolInterval
from .._windows import SIZE_PAIR, positive_pairs, windows_at_offsets
from ._base import DatasetBunch

__all__ = ["row_block_window_split"]

# At least two blocks, so that each side gets one; shared with the protocols.
N_BLOCKS = NonBoolInterval(Integral, 2, None, closed="left")


def row_block_masks(n_rows, rows, window_rows, test_size, n_blocks, rng):
    """Boolean masks (train, test) over windows, from whole row blocks.

    Rows are cut into ``n_blocks`` contiguous blocks and a random
    ``test_size`` share of the blocks is held out. A window is a test window if
    all its rows are held out, a training window if none is, and is dropped
    otherwise, so no entry of the matrix is in both sets. The callers have
    validated ``n_blocks`` (an int >= 2) and ``test_size`` (in (0, 1)).
    """
    if n_rows // n_blocks < window_rows:
        raise ValueError(
            f"n_blocks={n_blocks} is too many for a matrix with {n_rows} rows: "
            f"each block needs at least {window_rows} rows, the window height."
        )
    n_test_blocks = min(max(1, round(test_size * n_blocks)), n_blocks - 1)
    test_blocks = rng.choice(n_blocks, size=n_test_blocks, replace=False)
    held_out = np.zeros(n_rows, dtype=bool)
    bounds = np.array_split(np.arange(n_rows), n_blocks)
    for b in test_blocks:
        held_out[bounds[b]] = True
    # Held-out rows inside each window, by prefix sums over rows.
    prefix = np.concatenate([[0], np.cumsum(held_out)])
    inside = prefix[rows + window_rows] - prefix[rows]
    return inside == 0, inside == window_rows


@validate_params(
    {
        "matrix": ["array-like"],
        "window_shape": SIZE_PAIR,
        "strides": SIZE_PAIR,
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "n_blocks": [N_BLOCKS],
        "random_state": ["random_state"],
        "dtype": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def row_block_window_split(
    matrix,
    *,
    window_shape=(32, 32),
    strides=(1, 1),
    test_size=0.15,
    n_blocks=20,
    random_state=None,
    dtype=None,
):
    """Split the windows of one matrix into train and test sets without leakage.

    The rows of ``matrix`` are cut into ``n_blocks`` contiguous blocks, and a
    random ``test_size`` share of the blocks is held out. Every window of the
    full sweep (row offsets ``0, sr, ..., <= n_rows - m``, column offsets
    ``0, sc, ..., <= n_cols - n``) whose rows are all held out is a test
    window, one with no held-out row a training window, and one straddling a
    boundary is dropped: no entry of the matrix is in both sets, unlike a
    random split of overlapping windows.

    This is the generic tool for your own matrices. The paper's Spambase
    protocol (:func:`spambase_protocol`) differs on purpose: it reproduces
    the paper's window count, whose row sweep stops one offset early.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    matrix : array-like of shape (n_rows, n_cols)
        The matrix to window.

    window_shape : int or tuple of int (m, n), default=(32, 32)
        Rows and columns of each window.

    strides : int or tuple of int, default=(1, 1)
        Step between window offsets along rows and along columns.

    test_size : float, default=0.15
        Share of the row blocks held out, in (0, 1); at least one block goes
        to each side.

    n_blocks : int, default=20
        Number of contiguous row blocks, at least 2; each must have at least
        ``m`` rows.

    random_state : int, RandomState instance or None, default=None
        Determines which blocks are held out. Pass an int for a reproducible
        split.

    dtype : data-type, default=None
        Data type of the returned windows; None keeps the matrix's.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train, m * n)
            Flattened training windows, in origin order (row, then column).
        X_test : ndarray of shape (n_test, m * n)
            Flattened test windows, in origin order.
        origins_train : ndarray of shape (n_train, 2)
            Row and column offsets of each training window.
        origins_test : ndarray of shape (n_test, 2)
            Row and column offsets of each test window.
        matrix_shape : tuple of int
            ``(m, n)``, the shape of each window.

    See Also
    --------
    spambase_protocol : The paper's Spambase split, with its window count.
    svlearn.extract_windows : Windows of matrices, without a split.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn.datasets import row_block_window_split
    >>> matrix = np.arange(40 * 6, dtype=float).reshape(40, 6)
    >>> split = row_block_window_split(
    ...     matrix, window_shape=4, n_blocks=4, test_size=0.25, random_state=0)
    >>> split.X_train.shape, split.X_test.shape
    ((72, 16), (21, 16))
    >>> np.unique(split.origins_test[:, 0])  # rows 20-29 are held out
    array([20, 21, 22, 23, 24, 25, 26])
    """
    (m, n), (sr, sc) = positive_pairs(window_shape=window_shape, strides=strides)
    matrix = check_array(matrix, dtype="numeric", input_name="matrix")
    n_rows, n_cols = matrix.shape
    if m > n_rows or n > n_cols:
        raise ValueError(
            f"window_shape={(m, n)} is larger than the matrix, of shape "
            f"{(n_rows, n_cols)}."
        )
    row_offsets = np.arange(0, n_rows - m + 1, sr)
    col_offsets = np.arange(0, n_cols - n + 1, sc)
    rows = np.repeat(row_offsets, len(col_offsets))
    cols = np.tile(col_offsets, len(row_offsets))
    rng = check_random_state(random_state)
    is_train, is_test = row_block_masks(n_rows, rows, m, test_size, n_blocks, rng)

    def windows(mask):
        return windows_at_offsets(matrix, rows[mask], cols[mask], (m, n), dtype)

    return DatasetBunch(
        X_train=windows(is_train),
        X_test=windows(is_test),
        origins_train=np.column_stack([rows[is_train], cols[is_train]]),
        origins_test=np.column_stack([rows[is_test], cols[is_test]]),
        matrix_shape=(m, n),
    )
