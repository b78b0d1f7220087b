# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data home, downloads with checksums, and the BT.601 gray conversion."""

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home as _sklearn_data_home

__all__ = ["get_data_home"]

# ITU-R BT.601 luma weights for R, G and B.
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def get_data_home(data_home=None):
    """Return the folder where svlearn's dataset loaders look for their files.

    The folder is, in order of precedence: the ``data_home`` argument, the
    ``SVLEARN_DATA`` environment variable, or scikit-learn's data home
    (:func:`sklearn.datasets.get_data_home`: the ``SCIKIT_LEARN_DATA``
    environment variable, else ``~/scikit_learn_data``). Dataset files sit
    directly in it under their official names, e.g. ``cifar-10-python.tar.gz``
    and ``spambase.data``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use instead of the environment variables and the default.

    Returns
    -------
    data_home : str
        Path of the data home. Only scikit-learn's default is created if
        missing; other folders are created when a file is downloaded.

    Examples
    --------
    >>> from svlearn.datasets import get_data_home
    >>> get_data_home("/tmp/my_data")
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get("SVLEARN_DATA") or None
    if data_home is None:
        return _sklearn_data_home()
    return str(Path(data_home).expanduser())


def _fetch_file(url, path):
    """Download ``url`` to ``path``; tests replace this function to stay offline."""
    partial = Path(f"{path}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            with open(partial, "wb") as out:
                shutil.copyfileobj(response, out, length=2**20)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _find_or_fetch(
    *, data_home, candidates, filename, url, md5, download, title, validate=None
):
    """Return the path of the first candidate present, downloading if allowed.

    ``candidates`` are names in the data home that hold the dataset (e.g. an
    extracted folder, then the archive); ``filename`` is the one downloaded.
    The network is only touched when no candidate exists and ``download`` is
    true. A download is checked against ``md5`` and by ``validate`` (a callable
    raising ValueError), and deleted if either fails.
    """
    home = Path(get_data_home(data_home))
    for name in candidates:
        if (home / name).exists():
            return home / name
    others = [repr(name) for name in candidates if name != filename]
    instead = f" (or {' or '.join(others)} there instead)" if others else ""
    where = (
        f"Put {filename!r} (from {url}) into the data home {str(home)!r}{instead}, "
        "or choose another data home with data_home= or the SVLEARN_DATA or "
        "SCIKIT_LEARN_DATA environment variables."
    )
    if not download:
        raise FileNotFoundError(f"{title} was not found and download=False. {where}")
    target = home / filename
    try:
        home.mkdir(parents=True, exist_ok=True)
        _fetch_file(url, target)
    except OSError as exc:  # urllib's URLError is an OSError
        raise FileNotFoundError(
            f"{title} was not found and downloading it from {url} failed ({exc}). "
            f"{where}"
        ) from exc
    if md5 is not None:
        actual = _md5(target)
        if actual != md5:
            target.unlink(missing_ok=True)
            raise OSError(
                f"The downloaded {filename!r} has MD5 {actual}, expected {md5}; it "
                "was deleted. The download was probably corrupted: try again."
            )
    if validate is not None:
        try:
            validate(target)
        except ValueError as exc:
            target.unlink(missing_ok=True)
            raise OSError(
                f"The downloaded {filename!r} is not the expected file ({exc}); it "
                "was deleted. Try again, or put a good copy there yourself."
            ) from exc
    return target


def _to_gray(rgb):
    """ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` as float32, unrounded.

    ``rgb`` has its channels last.
    """
    return np.asarray(rgb, dtype=np.float32) @ _BT601
