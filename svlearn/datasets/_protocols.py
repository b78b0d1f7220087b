# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The SV-Learn paper's train/test protocols for CIFAR-10 and Spambase."""

import os
from numbers import Real

import numpy as np
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._validation import POSITIVE_INT
from .._windows import windows_at_offsets
from ._base import DatasetBunch
from ._cifar10 import load_cifar10
from ._files import load_matrices
from ._spambase import load_spambase
from ._splits import N_BLOCKS, row_block_masks

__all__ = ["cifar10_protocol", "spambase_protocol"]

_WINDOW = (32, 32)
_PATH = [str, os.PathLike, None]


@validate_params(
    {
        "path": _PATH,
        "n_test": [POSITIVE_INT, None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "data_home": _PATH,
        "download": ["boolean"],
        "dtype": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def cifar10_protocol(
    *,
    path=None,
    n_test=None,
    shuffle=False,
    random_state=None,
    data_home=None,
    download=True,
    dtype=np.float32,
):
    """The paper's CIFAR-10 protocol: 32x32 gray images, train / test.

    Without ``path``, returns the official split of :func:`load_cifar10`:
    50,000 training and 10,000 test images, as in the paper. With ``path``,
    reads a stack of gray images from a ``.npy`` / ``.npz`` file (see
    :func:`load_matrices`) and holds out ``n_test`` of them: by default the
    last 10,000, e.g. the first 40,000 / last 10,000 of a 50,000-image
    training set used as train / validation.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    path : str or path-like, default=None
        A ``.npy`` or ``.npz`` file with a stack of matrices (key ``"X"``, and
        optional labels ``"y"``). If None, the official CIFAR-10 files are read
        from the data home.

    n_test : int, default=None
        Number of test images taken from the file at ``path``; None means
        10,000. Only valid with ``path``.

    shuffle : bool, default=False
        Whether to hold out a random set of ``n_test`` images instead of the
        last ones. Only valid with ``path``. A file ordered by class (such as
        one sorted by class name) needs ``shuffle=True`` for both sets to cover
        every class.

    random_state : int, RandomState instance or None, default=None
        Determines the held-out images when ``shuffle`` is True.

    data_home : str or path-like, default=None
        Folder holding the official files when ``path`` is None; see
        :func:`get_data_home`.

    download : bool, default=True
        Whether to download the official archive when it is missing.

    dtype : data-type, default=np.float32
        Data type of the returned matrices.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train, n_rows * n_cols)
            Flattened training matrices, the layout that
            :class:`~svlearn.SingularValueRegressor` takes.
        X_test : ndarray of shape (n_test, n_rows * n_cols)
            Flattened test matrices.
        target_train, target_test : ndarray of shape (n_train,) and (n_test,)
            Class labels (not singular values), or None if the file has none.
        matrix_shape : tuple of int
            Shape of each matrix, ``(32, 32)`` for CIFAR-10.

    See Also
    --------
    load_cifar10 : The official files as gray images.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from svlearn.datasets import cifar10_protocol
    >>> path = os.path.join(tempfile.mkdtemp(), "gray.npz")
    >>> np.savez(path, X=np.zeros((50, 32, 32), np.uint8), y=np.arange(50) % 10)
    >>> split = cifar10_protocol(path=path, n_test=10)
    >>> split.X_train.shape, split.X_test.shape, split.target_test[:3]
    ((40, 1024), (10, 1024), array([0, 1, 2]))
    """
    if path is None:
        problems = [
            f"{name}={value!r}"
            for name, value in (("n_test", n_test), ("shuffle", shuffle))
            if value not in (None, False)
        ]
        if problems:
            raise ValueError(
                f"{' and '.join(problems)} only apply with path=; the official "
                "CIFAR-10 split is fixed at 50,000 / 10,000."
            )
        train = load_cifar10(subset="train", data_home=data_home, download=download)
        test = load_cifar10(subset="test", data_home=data_home, download=download)
        return DatasetBunch(
            X_train=train.data.astype(dtype, copy=False),
            X_test=test.data.astype(dtype, copy=False),
            target_train=train.target,
            target_test=test.target,
            matrix_shape=train.images.shape[1:],
        )

    images, target = load_matrices(path, return_X_y=True)
    if images.ndim != 3:
        raise ValueError(
            f"path must hold a 3-D stack of matrices, got shape {images.shape} "
            f"from {str(path)!r}."
        )
    n_test = 10_000 if n_test is None else n_test
    return hold_out(images, target, n_test, shuffle, random_state, dtype)


@validate_params(
    {
        "images": ["array-like"],
        "target": ["array-like", None],
        "n_test": [POSITIVE_INT],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "dtype": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def hold_out(images, target, n_test, shuffle=False, random_state=None, dtype=None):
    """Split a 3-D stack: the last ``n_test`` matrices (or random ones) test.

    Used by :func:`cifar10_protocol` on a file and by ``svlearn reproduce`` on
    a user's stack of matrices. ``n_test`` must leave at least one training
    matrix.
    """
    n_images = len(images)
    if n_test >= n_images:
        raise ValueError(
            f"n_test must be an int between 1 and n_images - 1 = {n_images - 1}, "
            f"got {n_test!r} instead."
        )
    if shuffle:
        order = check_random_state(random_state).permutation(n_images)
        train_idx, test_idx = np.sort(order[n_test:]), np.sort(order[:n_test])
    else:
        train_idx = np.arange(n_images - n_test)
        test_idx = np.arange(n_images - n_test, n_images)
    flat = images.reshape(n_images, -1)
    dtype = flat.dtype if dtype is None else dtype
    return DatasetBunch(
        X_train=flat[train_idx].astype(dtype, copy=False),
        X_test=flat[test_idx].astype(dtype, copy=False),
        target_train=None if target is None else target[train_idx],
        target_test=None if target is None else target[test_idx],
        matrix_shape=images.shape[1:],
    )


def _spambase_offsets(n_rows, n_cols, window_shape):
    """Top-left offsets of the paper's windows, as (row, col) arrays.

    Row offsets run over 0 .. n_rows - m - 1: the paper's 4569 = 4601 - 32
    offsets, one fewer than a full sweep (its loop stops one row early).
    Column offsets run over 0 .. n_cols - n.
    """
    m, n = window_shape
    n_r, n_c = n_rows - m, n_cols - n + 1
    if n_r < 1 or n_c < 1:
        raise ValueError(
            f"The matrix of shape {(n_rows, n_cols)} is too small for the "
            f"{window_shape} windows of the protocol; it needs at least "
            f"{m + 1} rows and {n} columns."
        )
    return np.repeat(np.arange(n_r), n_c), np.tile(np.arange(n_c), n_r)


@validate_params(
    {
        "matrix": ["array-like", None],
        "split": [StrOptions({"random", "row_blocks"})],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "n_blocks": [N_BLOCKS],
        "random_state": ["random_state"],
        "data_home": _PATH,
        "download": ["boolean"],
        "dtype": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def spambase_protocol(
    matrix=None,
    *,
    split="random",
    test_size=0.15,
    n_blocks=20,
    random_state=None,
    data_home=None,
    download=True,
    dtype=np.float32,
):
    """The paper's Spambase protocol: 32x32 windows of the 4601 x 58 matrix.

    The whole matrix, label column included, is windowed 32 x 32 at stride 1
    with row offsets 0..4568 and column offsets 0..26: 4569 x 27 = 123,363
    windows (the paper's loop stops one row offset short of the 4570 a full
    sweep gives). ``split="random"`` splits them at random 85% / 15%, i.e.
    104,858 / 18,505 windows, as in the paper. Because neighbouring windows
    overlap, that split puts near-copies of test windows into the training
    set; ``split="row_blocks"`` is a leakage-free variant that holds out whole
    contiguous blocks of rows, dropping the windows that straddle a train/test
    boundary, so no matrix entry is in both a training and a test window.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    matrix : array-like of shape (n_rows, n_cols), default=None
        The matrix to window. If None, the whole of :func:`load_spambase`
        (``matrix``, 4601 x 58) is used.

    split : {"random", "row_blocks"}, default="random"
        ``"random"``: the paper's random split of all windows.
        ``"row_blocks"``: hold out whole row blocks (leakage-free).

    test_size : float, default=0.15
        Share of the windows (``"random"``, rounded up as in
        :func:`~sklearn.model_selection.train_test_split`) or of the row
        blocks (``"row_blocks"``) held out for testing.

    n_blocks : int, default=20
        Number of contiguous row blocks for ``split="row_blocks"``, at least
        2; each must have at least 32 rows. Not used by ``"random"``.

    random_state : int, RandomState instance or None, default=None
        Determines the split and the (random) order of the windows in each
        set. Pass an int for a reproducible split.

    data_home : str or path-like, default=None
        Folder holding ``spambase.data`` when ``matrix`` is None; see
        :func:`get_data_home`.

    download : bool, default=True
        Whether to download ``spambase.data`` when it is missing.

    dtype : data-type, default=np.float32
        Data type of the returned windows.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (n_train, 1024)
            Flattened training windows, in random order.
        X_test : ndarray of shape (n_test, 1024)
            Flattened test windows, in random order.
        origins_train : ndarray of shape (n_train, 2)
            Row and column offsets of each training window in the matrix.
        origins_test : ndarray of shape (n_test, 2)
            Row and column offsets of each test window.
        matrix_shape : tuple of int
            ``(32, 32)``, the shape of each window.

    See Also
    --------
    load_spambase : The data set.
    svlearn.extract_windows : General windowing.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn.datasets import spambase_protocol
    >>> spam = np.zeros((4601, 58), dtype=np.uint8)  # the shape of Spambase
    >>> split = spambase_protocol(spam, random_state=0, dtype=np.uint8)
    >>> len(split.X_train), len(split.X_test)
    (104858, 18505)
    >>> blocks = spambase_protocol(
    ...     spam, split="row_blocks", random_state=0, dtype=np.uint8
    ... )
    >>> len(blocks.X_train) + len(blocks.X_test) < 123363
    True
    """
    if matrix is None:
        matrix = load_spambase(data_home=data_home, download=download).matrix
    matrix = check_array(matrix, dtype="numeric", input_name="matrix")
    rng = check_random_state(random_state)
    rows, cols = _spambase_offsets(*matrix.shape, _WINDOW)

    if split == "random":
        n_windows = len(rows)
        # Same sizes as train_test_split: the test set is rounded up.
        n_test = int(np.ceil(test_size * n_windows))
        order = rng.permutation(n_windows)
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        is_train, is_test = row_block_masks(
            matrix.shape[0], rows, _WINDOW[0], test_size, n_blocks, rng
        )
        train_idx = rng.permutation(np.flatnonzero(is_train))
        test_idx = rng.permutation(np.flatnonzero(is_test))

    def windows(idx):
        return windows_at_offsets(matrix, rows[idx], cols[idx], _WINDOW, dtype=dtype)

    return DatasetBunch(
        X_train=windows(train_idx),
        X_test=windows(test_idx),
        origins_train=np.column_stack([rows[train_idx], cols[train_idx]]),
        origins_test=np.column_stack([rows[test_idx], cols[test_idx]]),
        matrix_shape=_WINDOW,
    )
