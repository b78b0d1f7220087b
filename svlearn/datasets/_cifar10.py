# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""CIFAR-10 (binary version) as 32x32 gray matrices, read without pickle."""

import gzip
import tarfile
import zlib
from pathlib import Path

import numpy as np

from . import _base

__all__ = ["load_cifar10"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
_ARCHIVE = "cifar-10-binary.tar.gz"
_FOLDER = "cifar-10-batches-bin"
_BATCHES = {
    "train": [f"data_batch_{i}.bin" for i in range(1, 6)],
    "test": ["test_batch.bin"],
}
# The python version's names: recognised only to say it is not read, since
# its batches are pickles, which can run arbitrary code when loaded.
_PYTHON_VERSION = ("cifar-10-batches-py", "cifar-10-python.tar.gz")
# One record: 1 label byte, then 3,072 pixel bytes.
_RECORD_BYTES = 1 + 3 * 32 * 32
# The class names, in label order, as the archive's batches.meta.txt lists
# them; they are fixed by the data set, so that file is not read.
_LABEL_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_DESCR = """\
CIFAR-10 as gray matrices
-------------------------
60,000 32x32 colour images in 10 classes (Krizhevsky, 2009), read from the
official binary version (cifar-10-binary.tar.gz: fixed-size records of one
label byte and 3,072 pixel bytes; no pickle is loaded) and converted to gray
with the ITU-R BT.601 luma weights 0.299 R + 0.587 G + 0.114 B, as float32
values in [0, 255] (not rounded). The official split is 50,000 training images
(data_batch_1.bin..data_batch_5.bin) and 10,000 test images (test_batch.bin),
in file order.
"""


def _gray_batch(buffer, where):
    """Gray images and labels of one batch file's bytes; ``where`` names it."""
    n_bytes = len(buffer)
    if n_bytes == 0 or n_bytes % _RECORD_BYTES:
        raise ValueError(
            f"{where} holds {n_bytes} bytes, which is not a whole number of "
            f"CIFAR-10 records of {_RECORD_BYTES} bytes (1 label byte and 3,072 "
            "pixel bytes): it is truncated or not from the binary version. Get a "
            f"fresh {_ARCHIVE!r} from {CIFAR10_URL}."
        )
    records = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, _RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(_LABEL_NAMES))
    if bad.size:
        raise ValueError(
            f"{where} is not a CIFAR-10 batch: record {bad[0]} has label "
            f"{labels[bad[0]]}, outside 0..9 ({bad.size} such records). Get a "
            f"fresh {_ARCHIVE!r} from {CIFAR10_URL}."
        )
    # The 1024 red, then green, then blue values of each image, row-major:
    # made contiguous like the python version's arrays, so that the gray
    # values are the same to the bit.
    pixels = np.ascontiguousarray(records[:, 1:])
    rgb = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return _base.to_gray(rgb), labels


def _read_batches(path, names):
    """Gray images and labels of the batches ``names``, in that order."""
    path = Path(path)
    found = {}
    if path.is_dir():
        folder = path / _FOLDER if (path / _FOLDER).is_dir() else path
        for name in names:
            if (folder / name).is_file():
                where = repr(str(folder / name))
                found[name] = _gray_batch((folder / name).read_bytes(), where)
    else:
        # One pass in archive order: seeking back in a gzip stream would
        # decompress it again from the start for every batch. Each batch is
        # converted as it is read, so one batch's bytes are held at a time.
        wanted = {f"{_FOLDER}/{name}": name for name in names}
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    if member.name in wanted and member.isfile():
                        where = f"{member.name!r} in {str(path)!r}"
                        buffer = tar.extractfile(member).read()
                        found[wanted[member.name]] = _gray_batch(buffer, where)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(
                f"{str(path)!r} is not a readable .tar.gz archive ({exc}); it is "
                f"probably truncated. Delete it and get a fresh {_ARCHIVE!r} from "
                f"{CIFAR10_URL}."
            ) from exc
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(
            f"{str(path)!r} is not a complete CIFAR-10 binary version: "
            f"{missing} missing from {_FOLDER}/. Get a fresh {_ARCHIVE!r} from "
            f"{CIFAR10_URL}."
        )
    return [found[name] for name in names]


def _python_version_note(data_home):
    """What to say when the data home holds only the python version."""
    home = Path(_base.get_data_home(data_home))
    present = [name for name in _PYTHON_VERSION if (home / name).exists()]
    if not present:
        return None
    return (
        f"The data home holds {present[0]!r}, CIFAR-10's python version, which "
        "svlearn does not read: its batches are pickles, and loading a pickle "
        f"can run arbitrary code. Get the binary version, {_ARCHIVE!r} from "
        f"{CIFAR10_URL}, instead."
    )


def load_cifar10(*, subset="train", data_home=None, download=True, return_X_y=False):
    """Load CIFAR-10 as 32x32 gray matrices (ITU-R BT.601 luma).

    Reads the official binary version, ``cifar-10-binary.tar.gz`` or its
    extracted ``cifar-10-batches-bin`` folder, from the data home: fixed-size
    records of one label byte and 3,072 pixel bytes, so no pickle is loaded.
    If neither is there and ``download`` is True, the archive is downloaded
    from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and its MD5
    checksum verified. The python version (``cifar-10-python.tar.gz``) is not
    read, because its batches are pickles.

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

    Raises
    ------
    ValueError
        If a batch file is truncated, holds a label outside 0..9, or is
        missing from the archive or folder.

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
    path = _base.find_or_fetch(
        data_home=data_home,
        candidates=[_FOLDER, _ARCHIVE],
        filename=_ARCHIVE,
        url=CIFAR10_URL,
        md5=CIFAR10_MD5,
        download=download,
        title="CIFAR-10 (binary version)",
        note=_python_version_note(data_home),
    )
    if subset == "all":
        names = _BATCHES["train"] + _BATCHES["test"]
    else:
        names = _BATCHES[subset]
    parts = _read_batches(path, names)
    images = np.concatenate([p[0] for p in parts])
    target = np.concatenate([p[1] for p in parts])
    del parts
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return _base.DatasetBunch(
        data=data,
        images=images,
        target=target,
        target_names=list(_LABEL_NAMES),
        DESCR=_DESCR,
    )
