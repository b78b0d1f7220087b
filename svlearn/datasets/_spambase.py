# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""UCI Spambase, the paper's tabular data set."""

import numpy as np

from . import _base

__all__ = ["load_spambase"]

SPAMBASE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/spambase/spambase.data"
)
_FILENAME = "spambase.data"
_N_ROWS, _N_COLS = 4601, 58

_DESCR = """\
Spambase
--------
UCI Spambase (Hopkins, Reeber, Forman, Suermondt, 1999; CC BY 4.0): 4601 e-mails
described by 57 numeric features, with the 0/1 spam label in the last of 58
comma-separated columns of spambase.data (no header). The SV-Learn paper
windows the whole 4601 x 58 matrix, label column included.
"""


def _read(path):
    matrix = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    if matrix.shape[1] != _N_COLS:
        raise ValueError(
            f"{str(path)!r} has {matrix.shape[1]} columns; UCI's spambase.data has "
            f"{_N_COLS} comma-separated columns (57 features and the label)."
        )
    return matrix


def _validate_download(path):
    # Only a file svlearn fetched is held to the official shape; a user's own
    # spambase-like file in the data home may have any number of rows.
    shape = _read(path).shape
    if shape != (_N_ROWS, _N_COLS):
        raise ValueError(f"expected a {_N_ROWS} x {_N_COLS} matrix, got {shape}")


def load_spambase(*, data_home=None, download=True, return_X_y=False):
    """Load UCI Spambase, as features, labels and the whole 4601 x 58 matrix.

    Reads UCI's ``spambase.data`` (comma-separated, no header) from the data
    home. If it is missing and ``download`` is True, it is downloaded from
    https://archive.ics.uci.edu/ml/machine-learning-databases/spambase/spambase.data.
    UCI publishes no checksum for this file, so a download is accepted only if
    it parses as a 4601 x 58 matrix.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``spambase.data``; see :func:`get_data_home`.

    download : bool, default=True
        Whether to download the file when it is missing. When False, or when
        the download fails, a :class:`FileNotFoundError` says which file to put
        where.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (4601, 57)
            The 57 features.
        target : ndarray of shape (4601,)
            The spam label, 0 or 1.
        matrix : ndarray of shape (4601, 58)
            The whole file, label column last: what the paper windows.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    See Also
    --------
    spambase_protocol : The paper's windowing and 85% / 15% split.

    Examples
    --------
    >>> from svlearn.datasets import load_spambase
    >>> spam = load_spambase(data_home="../shared/data")  # doctest: +SKIP
    >>> spam.matrix.shape  # doctest: +SKIP
    (4601, 58)
    """
    path = _base.find_or_fetch(
        data_home=data_home,
        candidates=[_FILENAME],
        filename=_FILENAME,
        url=SPAMBASE_URL,
        # UCI publishes no checksum for spambase.data, and none could be
        # checked against the official server here: checked by shape instead.
        md5=None,
        validate=_validate_download,
        download=download,
        title="Spambase (spambase.data)",
    )
    matrix = _read(path)
    data, target = matrix[:, :-1], matrix[:, -1].astype(np.int64)
    if return_X_y:
        return data, target
    return _base.DatasetBunch(data=data, target=target, matrix=matrix, DESCR=_DESCR)
