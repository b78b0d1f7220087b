# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The user's own matrices, from .npy and .npz files."""

from pathlib import Path

import numpy as np

from ._base import DatasetBunch

__all__ = ["load_matrices"]


def load_matrices(path, *, key="X", target_key="y", mmap_mode=None, return_X_y=False):
    """Load one matrix or a stack of matrices from a ``.npy`` or ``.npz`` file.

    Files are read with ``allow_pickle=False``, so only plain numeric arrays
    load.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding one array, or a ``.npz`` archive.

    key : str, default="X"
        Name of the matrices in a ``.npz`` archive. Ignored for ``.npy``.

    target_key : str or None, default="y"
        Name of optional labels in a ``.npz`` archive; ``target`` is None when
        the archive has no such array or ``target_key`` is None.

    mmap_mode : {None, "r", "r+", "c"}, default=None
        Memory-map a ``.npy`` file instead of reading it, as in
        :func:`numpy.load`; useful for a matrix larger than memory. Ignored for
        ``.npz``.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_rows, n_cols) or (n_matrices, n_rows, n_cols)
            The matrices, with their stored dtype.
        target : ndarray of shape (n_matrices,) or None
            The labels, if any.
        filename : str
            The path read.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    See Also
    --------
    load_cifar10 : CIFAR-10 as 32x32 gray matrices.
    load_spambase : UCI Spambase, whose whole matrix the paper windows.
    svlearn.extract_windows : Cut a large matrix into a stack of windows.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from svlearn.datasets import load_matrices
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "stack.npz")
    >>> np.savez(path, X=np.zeros((5, 32, 32), np.uint8), y=np.arange(5))
    >>> stack = load_matrices(path)
    >>> stack.data.shape, stack.target
    ((5, 32, 32), array([0, 1, 2, 3, 4]))
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise ValueError(
            f"path must name a .npy or .npz file, got {str(path)!r} instead."
        )
    target = None
    if suffix == ".npy":
        data = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    else:
        with np.load(path, allow_pickle=False) as archive:
            if key not in archive.files:
                raise ValueError(
                    f"key={key!r} is not in {str(path)!r}; it holds {archive.files}."
                )
            data = archive[key]
            if target_key is not None and target_key in archive.files:
                target = archive[target_key]
    if data.ndim not in (2, 3) or not np.issubdtype(data.dtype, np.number):
        raise ValueError(
            f"{str(path)!r} must hold a numeric 2-D matrix or 3-D stack of "
            f"matrices, got an array of shape {data.shape} and dtype {data.dtype}."
        )
    if target is not None and (data.ndim != 3 or len(target) != len(data)):
        raise ValueError(
            f"The labels {target_key!r} in {str(path)!r} have shape "
            f"{target.shape}, which does not match the {data.shape} matrices."
        )
    if return_X_y:
        return data, target
    return DatasetBunch(data=data, target=target, filename=str(path))
