# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""CIFAR-10 (python version) as 32x32 gray matrices."""

import pickle
import tarfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from . import _base

__all__ = ["load_cifar10"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
_ARCHIVE = "cifar-10-python.tar.gz"
_FOLDER = "cifar-10-batches-py"
_BATCHES = {
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
}

_DESCR = """\
CIFAR-10 as gray matrices
-------------------------
60,000 32x32 colour images in 10 classes (Krizhevsky, 2009), read from the
official python version (cifar-10-python.tar.gz) and converted to gray with the
ITU-R BT.601 luma weights 0.299 R + 0.587 G + 0.114 B, as float32 values in
[0, 255] (not rounded). The official split is 50,000 training images
(data_batch_1..5) and 10,000 test images (test_batch), in file order.
"""


def _get(d, key):
    # Batches pickled by Python 2 load with bytes keys under encoding="bytes".
    return d[key] if key in d else d[key.encode()]


def _unpickle(f):
    # The official batches are pickles; only read a copy you trust (its MD5 is
    # checked when svlearn downloads it).
    return pickle.load(f, encoding="bytes")


def _read_batches(path, names):
    """Return the unpickled batches ``names``, in that order, from either form."""
    path = Path(path)
    if path.is_dir():
        folder = path / _FOLDER if (path / _FOLDER).is_dir() else path
        found = {}
        for name in names:
            if (folder / name).is_file():
                with open(folder / name, "rb") as f:
                    found[name] = _unpickle(f)
    else:
        # One pass in archive order: seeking back in a gzip stream would
        # decompress it again from the start for every batch.
        wanted = {f"{_FOLDER}/{name}": name for name in names}
        found = {}
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.name in wanted:
                    found[wanted[member.name]] = _unpickle(tar.extractfile(member))
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(
            f"{str(path)!r} is not a complete CIFAR-10 python version: "
            f"{missing} missing from {_FOLDER}/."
        )
    return [found[name] for name in names]


def _gray_batch(batch):
    data = np.asarray(_get(batch, "data"), dtype=np.uint8)
    # Each row holds the 1024 red, then green, then blue values, row-major.
    rgb = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = np.asarray(_get(batch, "labels"), dtype=np.int64)
    return _base._to_gray(rgb), labels


def load_cifar10(*, subset="train", data_home=None, download=True, return_X_y=False):
    """Load CIFAR-10 as 32x32 gray matrices (ITU-R BT.601 luma).

    Reads the official python version, ``cifar-10-python.tar.gz`` or its
    extracted ``cifar-10-batches-py`` folder, from the data home. If neither is
    there and ``download`` is True, the archive is downloaded from
    https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and its MD5
    checksum verified.

    Read more in the :ref:`datasets user guide <datasets>` (``docs/datasets.md``).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The official 50,000 training images, the 10,000 test images, or both
        (training first).

    data_home : str or path-like, default=None
        Folder holding the data; see :func:`get_data_home`.

    download : bool, default=True
        Whether to download the archive when it is missing. When False, or
        when the download fails, a :class:`FileNotFoundError` says which file
        to put where.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_images, 1024)
            Flattened gray images (a view of ``images``), float32 in [0, 255].
        images : ndarray of shape (n_images, 32, 32)
            Gray images, float32 luma ``0.299 R + 0.587 G + 0.114 B``.
        target : ndarray of shape (n_images,)
            Class index of each image.
        target_names : list of str
            Class names, in index order.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    See Also
    --------
    cifar10_protocol : The paper's 50,000 / 10,000 train / test protocol.

    Examples
    --------
    >>> from svlearn.datasets import load_cifar10
    >>> cifar = load_cifar10(subset="test")  # doctest: +SKIP
    >>> cifar.images.shape  # doctest: +SKIP
    (10000, 32, 32)
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(
            f"subset must be 'train', 'test' or 'all', got {subset!r} instead."
        )
    path = _base._find_or_fetch(
        data_home=data_home,
        candidates=[_FOLDER, _ARCHIVE],
        filename=_ARCHIVE,
        url=CIFAR10_URL,
        md5=CIFAR10_MD5,
        download=download,
        title="CIFAR-10 (python version)",
    )
    if subset == "all":
        names = _BATCHES["train"] + _BATCHES["test"]
    else:
        names = _BATCHES[subset]
    *batches, meta = _read_batches(path, [*names, "batches.meta"])
    parts = [_gray_batch(batch) for batch in batches]
    del batches
    images = np.concatenate([p[0] for p in parts])
    target = np.concatenate([p[1] for p in parts])
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    target_names = [
        n.decode() if isinstance(n, bytes) else str(n)
        for n in _get(meta, "label_names")
    ]
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=target_names,
        DESCR=_DESCR,
    )
