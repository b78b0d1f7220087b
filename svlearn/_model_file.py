# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The on-disk container of a model file: one safetensors file.

Its tensors hold the arrays; its string metadata holds the format name
(:data:`FORMAT`), the format version (:data:`FORMAT_VERSION`), the JSON
description of the estimator tree (``spec``) and a SHA-256 digest over all of
them (``sha256``), an integrity check, not authentication. Writing is atomic;
reading checks the file, the header and the digest before the description is
parsed.
"""

import errno
import hashlib
import json
import os
import secrets
import stat

import numpy as np

FORMAT = "svlearn-estimator"
FORMAT_VERSION = 2


def write_model_file(spec, arrays, path, *, version=FORMAT_VERSION):
    """Write a spec and its arrays as a safetensors file, atomically.

    The file is created as ``open()`` creates one (mode ``0o666`` less the
    umask), written and synced beside the target under a temporary name, then
    renamed over it: a reader never sees a partial file.

    Parameters
    ----------
    spec : dict
        The JSON-able description of the estimator tree.
    arrays : dict of str to ndarray
        The arrays it refers to, by key.
    path : str or path-like
        The destination file.
    version : int, default=FORMAT_VERSION
        The format version recorded (tests write other versions).
    """
    from safetensors.numpy import save

    header = json.dumps(spec, allow_nan=False, sort_keys=True)
    metadata = {
        "format": FORMAT,
        "format_version": str(version),
        "spec": header,
        "sha256": _digest(f"{FORMAT}\0{version}\0{header}", arrays),
    }
    data = save(arrays, metadata=metadata)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Cannot save a model over a folder", path)
    folder, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 64 random bits
        raise FileExistsError(errno.EEXIST, "No free temporary name", folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _digest(header, arrays):
    """SHA-256 over the header text and every array's key, dtype, shape, bytes."""
    h = hashlib.sha256(header.encode())
    for key in sorted(arrays):
        arr = arrays[key]
        h.update(f"\0{key}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _check_header(meta, path):
    if meta.get("format") != FORMAT or "spec" not in meta:
        raise ValueError(
            f"{path!r} is a safetensors file but not an svlearn model file "
            f"(format {meta.get('format')!r}, expected {FORMAT!r})."
        )
    version = meta.get("format_version", "")
    if not version.isdigit():
        raise ValueError(f"{path!r} has an invalid format version {version!r}.")
    if int(version) > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses format version {version}, newer than this svlearn "
            f"reads (version {FORMAT_VERSION}); upgrade svlearn to load it."
        )
    if int(version) < FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses format version {version}, written by an earlier "
            f"development version of svlearn, whose files are not checked as "
            f"version {FORMAT_VERSION} files are; load it with that version and "
            "save it again."
        )


def _read_safetensors(path):
    """The metadata and arrays of a safetensors file, with clear errors."""
    from safetensors import SafetensorError, safe_open

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, "No svlearn model file at this path", path
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(
            errno.EISDIR,
            "This is a folder; svlearn.load takes the path of a model file",
            path,
        )
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path!r} is not a regular file, so not a model file.")
    if info.st_size == 0:
        raise ValueError(
            f"{path!r} is empty (0 bytes), not an svlearn model file; was it "
            "saved completely?"
        )
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            _check_header(meta, path)
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, TypeError, OverflowError) as exc:
        raise ValueError(
            f"{path!r} is not a readable svlearn model file (truncated or not a "
            f"safetensors file): {exc}"
        ) from None
    return meta, arrays


def read_model_file(path):
    """The description and arrays of a model file, its digest checked.

    Parameters
    ----------
    path : str
        The model file.

    Returns
    -------
    spec : object
        The parsed JSON description, not yet checked in any way.
    arrays : dict of str to ndarray
        The arrays the file stores, by key.
    """
    meta, arrays = _read_safetensors(path)
    header = meta["spec"]
    expected = _digest(f"{FORMAT}\0{meta['format_version']}\0{header}", arrays)
    if meta.get("sha256") != expected:
        raise ValueError(
            f"{path!r} has been altered or corrupted: its content does not match "
            "the SHA-256 digest recorded when it was saved."
        )
    try:
        spec = json.loads(header, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path!r} holds an unreadable description: {exc}") from None
    return spec, arrays


def _refuse_constant(name):
    raise ValueError(f"the JSON constant {name} is not allowed")
