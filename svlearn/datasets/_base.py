# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data home, downloads with checksums, the BT.601 gray conversion, the Bunch.

Downloads go through pooch (known hashes, retries, a temporary file moved into
place only once checked); local files in the official formats are read
without it and without network.
"""

import os
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home as _sklearn_data_home
from sklearn.utils import Bunch

__all__ = ["get_data_home"]

# ITU-R BT.601 luma weights for R, G and B.
_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def get_data_home(data_home=None):
    """Return the folder where svlearn's dataset loaders look for their files.

    The folder is, in order of precedence: the ``data_home`` argument, the
    ``SVLEARN_DATA`` environment variable, or scikit-learn's data home
    (:func:`sklearn.datasets.get_data_home`: the ``SCIKIT_LEARN_DATA``
    environment variable, else ``~/scikit_learn_data``). Dataset files sit
    directly in it under their official names, e.g. ``cifar-10-binary.tar.gz``
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

    See Also
    --------
    load_cifar10 : Reads CIFAR-10 from the data home.
    load_spambase : Reads Spambase from the data home.

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


# Further attempts after a failed or corrupted download (pooch waits 1 s, 2 s).
_DOWNLOAD_RETRIES = 2


def _fetch_file(url, output_file):
    """Download ``url`` to ``output_file`` (pooch's downloader protocol).

    The one place that touches the network; tests replace it to stay offline.
    """
    import pooch

    pooch.HTTPDownloader(timeout=60, progressbar=False)(url, output_file, None)


def find_or_fetch(
    *,
    data_home,
    candidates,
    filename,
    url,
    md5,
    download,
    title,
    validate=None,
    note=None,
):
    """Return the path of the first candidate present, downloading if allowed.

    ``candidates`` are names in the data home that hold the dataset (e.g. an
    extracted folder, then the archive); ``filename`` is the one downloaded.
    The network is only touched when no candidate exists and ``download`` is
    true. A download is checked against ``md5`` by pooch and by ``validate`` (a
    callable raising ValueError), and deleted if either fails. ``note``, if
    given, ends the message of the FileNotFoundError raised when no candidate
    is there and none could be downloaded.
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
    if note:
        where = f"{where} {note}"
    if not download:
        raise FileNotFoundError(f"{title} was not found and download=False. {where}")
    import pooch

    fetcher = pooch.create(
        path=home,
        base_url="",
        registry={filename: None if md5 is None else f"md5:{md5}"},
        urls={filename: url},
        retry_if_failed=_DOWNLOAD_RETRIES,
    )
    try:
        # The lambda looks _fetch_file up at call time, so tests can replace it.
        target = Path(
            fetcher.fetch(
                filename, downloader=lambda url, out, _: _fetch_file(url, out)
            )
        )
    except OSError as exc:  # requests' and urllib's errors are OSErrors
        raise FileNotFoundError(
            f"{title} was not found and downloading it from {url} failed ({exc}). "
            f"{where}"
        ) from exc
    except ValueError as exc:  # pooch: the hash did not match; nothing was kept
        raise OSError(
            f"The downloaded {filename!r} failed its checksum ({exc}); it was "
            "deleted. The download was probably corrupted: try again."
        ) from exc
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


def to_gray(rgb):
    """ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` as float32, unrounded.

    ``rgb`` has its channels last.
    """
    return np.asarray(rgb, dtype=np.float32) @ _BT601


class DatasetBunch(Bunch):
    """A :class:`~sklearn.utils.Bunch` that says how to slice a dataset.

    Every loader and protocol of :mod:`svlearn.datasets` returns one. It is a
    Bunch in every other respect (key and attribute access, pickling), but
    indexing it by anything other than a field name, as in ``dataset[:10]``,
    raises a :class:`TypeError` that names the fields to slice instead,
    rather than sklearn's "unhashable type: 'slice'".

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn.datasets._base import DatasetBunch
    >>> dataset = DatasetBunch(data=np.arange(6).reshape(3, 2), target=np.arange(3))
    >>> dataset.data[:2].tolist(), dataset["target"][:2].tolist()
    ([[0, 1], [2, 3]], [0, 1])
    >>> dataset[:2]
    Traceback (most recent call last):
    ...
    TypeError: A dataset Bunch is indexed by field name ('data', 'target'), ...
    """

    def __getitem__(self, key):
        if not isinstance(key, str):
            raise TypeError(self._slicing_message(key))
        return super().__getitem__(key)

    def _slicing_message(self, key):
        fields = ", ".join(repr(name) for name in self)
        if "data" in self:
            hint = (
                "Slice its arrays instead, e.g. dataset.data[:10] and "
                "dataset.target[:10], or call the loader with return_X_y=True "
                "to get (data, target)."
            )
        else:
            arrays = [name for name, value in self.items() if hasattr(value, "ndim")]
            first = arrays[0] if arrays else next(iter(self), "field")
            hint = f"Slice its arrays instead, e.g. dataset.{first}[:10]."
        return (
            f"A dataset Bunch is indexed by field name ({fields}), not by "
            f"{key!r}. {hint}"
        )
