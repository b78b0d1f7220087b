# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Save and load fitted estimators without pickle: safetensors plus JSON.

A model file is one safetensors file. Its tensors hold every array (numpy
arrays, numpy scalars, the network's weights); its string metadata holds a
JSON description of the estimator tree (class names, constructor parameters,
fitted scalars), a format name and version, and a SHA-256 digest over both.
Loading parses JSON and raw little-endian buffers, maps class names to classes
through an allow-list written here, and calls only those classes' constructors:
nothing named in the file is imported or executed.
"""

import hashlib
import importlib
import inspect
import json
import math
import os
import re
import sys
import tempfile
import warnings

import numpy as np
from sklearn.base import BaseEstimator

__all__ = ["save", "load"]

FORMAT = "svlearn-estimator"
FORMAT_VERSION = 1

# The only classes a file may name: the name written in the file maps to the
# public module and attribute that this library (never the file) imports.
_ALLOWED = {
    "svlearn.SingularValueRegressor": ("svlearn", "SingularValueRegressor"),
    "svlearn.MeanSpectrumRegressor": ("svlearn", "MeanSpectrumRegressor"),
    "svlearn.MatrixWindowTransformer": ("svlearn", "MatrixWindowTransformer"),
    "svlearn.SVDLight": ("svlearn", "SVDLight"),
    "sklearn.pipeline.Pipeline": ("sklearn.pipeline", "Pipeline"),
    "sklearn.frozen.FrozenEstimator": ("sklearn.frozen", "FrozenEstimator"),
    "sklearn.preprocessing.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "sklearn.preprocessing.MinMaxScaler": ("sklearn.preprocessing", "MinMaxScaler"),
    "sklearn.preprocessing.MaxAbsScaler": ("sklearn.preprocessing", "MaxAbsScaler"),
    "sklearn.preprocessing.RobustScaler": ("sklearn.preprocessing", "RobustScaler"),
    "sklearn.preprocessing.Normalizer": ("sklearn.preprocessing", "Normalizer"),
    "sklearn.decomposition.PCA": ("sklearn.decomposition", "PCA"),
    "sklearn.decomposition.TruncatedSVD": ("sklearn.decomposition", "TruncatedSVD"),
}
# safetensors stores these numpy dtype kinds: bool, signed, unsigned, float.
_ARRAY_KINDS = "biuf"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_JOBLIB_HINT = (
    "svlearn.save stores only svlearn estimators, sklearn Pipelines of them and "
    f"these sklearn classes: {sorted(_ALLOWED)}. Use joblib.dump for anything "
    "else (a pickle: load it only from sources you trust)."
)


def _class_name(obj):
    """The allow-list name of ``type(obj)``, or None when it is not listed."""
    cls = type(obj)
    for name, (module, attr) in _ALLOWED.items():
        # Compare the class object itself: a subclass, or a class of the same
        # name from another module, is not on the list.
        if cls.__name__ != attr:
            continue
        if getattr(importlib.import_module(module), attr) is cls:
            return name
    return None


def _torch_type(obj, name):
    """``torch.<name>`` if torch is imported and ``obj`` is one, without importing."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, getattr(torch, name))


class _Writer:
    """Turn an estimator tree into a JSON-able spec plus a dict of arrays."""

    def __init__(self):
        self.arrays = {}
        self.ids = {}  # id(estimator) -> index, so shared objects stay shared
        self.alive = []  # keeps encoded objects alive so that ids stay unique

    def array(self, arr):
        arr = np.ascontiguousarray(arr)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return key

    def value(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value  # json writes repr(float), which round-trips exactly
            return {"type": "float", "value": repr(value)}
        if isinstance(value, np.generic) and value.dtype.kind in _ARRAY_KINDS:
            return {"type": "scalar", "key": self.array(np.asarray(value))}
        if isinstance(value, np.ndarray):
            return self.ndarray(value, where)
        if isinstance(value, (list, tuple)):
            items = [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"type": type(value).__name__, "items": items}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items = {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"type": "dict", "items": items}
        if _torch_type(value, "Tensor"):
            return {"type": "tensor", "key": self.array(value.detach().cpu().numpy())}
        if _torch_type(value, "device"):
            return {"type": "torch_device", "value": str(value)}
        if isinstance(value, BaseEstimator):
            return self.estimator(value, where)
        raise TypeError(
            f"Cannot save {where}: values of type {type(value).__module__}."
            f"{type(value).__qualname__} are not supported. {_JOBLIB_HINT}"
        )

    def ndarray(self, arr, where):
        if arr.dtype.kind in _ARRAY_KINDS:
            if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous:
                # Keep Fortran order (e.g. PCA's components_): BLAS results
                # depend on the memory layout, and predictions must not change.
                return {"type": "ndarray", "key": self.array(arr.T), "order": "F"}
            return {"type": "ndarray", "key": self.array(arr)}
        if arr.dtype.kind in "OU" and all(isinstance(v, str) for v in arr.flat):
            # e.g. feature_names_in_: strings go to JSON, not to code.
            return {
                "type": "str_array",
                "object": arr.dtype.kind == "O",
                "shape": list(arr.shape),
                "items": [str(v) for v in arr.flat],
            }
        raise TypeError(
            f"Cannot save {where}: an array of dtype {arr.dtype} is not supported "
            f"(only bool, integer, float and string arrays). {_JOBLIB_HINT}"
        )

    def estimator(self, est, where):
        if id(est) in self.ids:
            return {"type": "ref", "id": self.ids[id(est)]}
        name = _class_name(est)
        if name is None:
            cls = type(est)
            raise TypeError(
                f"Cannot save {where}: {cls.__module__}.{cls.__qualname__} is not "
                f"on svlearn's allow-list. {_JOBLIB_HINT}"
            )
        self.ids[id(est)] = index = len(self.ids)
        self.alive.append(est)
        params = est.get_params(deep=False)
        node = {
            "type": "estimator",
            "class": name,
            "id": index,
            "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()},
            "state": {},
        }
        for attr, value in vars(est).items():
            if attr in params:
                continue
            if name == "svlearn.SingularValueRegressor" and attr == "net_":
                node["state"][attr] = _encode_net(self, value)
            else:
                node["state"][attr] = self.value(value, f"{where}.{attr}")
        return node


def _encode_net(writer, net):
    """The skorch net of a SingularValueRegressor: its module's weights only."""
    state = net.module_.state_dict()
    keys = {k: writer.array(t.detach().cpu().numpy()) for k, t in state.items()}
    # The architecture as fitted, which set_params may since have changed.
    module_params = {
        k: writer.value(v, f"net_.{k}")
        for k, v in net.get_params(deep=False).items()
        if k.startswith("module__")
    }
    return {
        "type": "skorch_net",
        "device": str(net.device),
        "module_params": module_params,
        "state_dict": keys,
    }


def _rebuild_net(est, node, reader):
    """Rebuild ``est.net_`` from saved weights (the regressor-specific part).

    Relies on :func:`svlearn._training.build_net` returning an uninitialised
    skorch net on ``est.device`` for ``est.matrix_shape_``; the module's
    settings are the saved ones (the architecture as fitted). The optimizer
    state and training history are not saved: a loaded model
    predicts exactly like the saved one; further ``warm_start`` training starts
    a fresh optimizer.
    """
    import torch
    from skorch.exceptions import DeviceWarning

    if (
        torch.device(node["device"]).type == "cuda"
        or torch.device(est.device).type == "cuda"
    ):
        if not torch.cuda.is_available():
            warnings.warn(
                f"The model was saved with device={node['device']!r} but CUDA is "
                "not available here; it is loaded on the CPU (device='cpu').",
                DeviceWarning,
                stacklevel=3,
            )
            est.device = "cpu"
    from ._training import build_net

    net = build_net(est, est.matrix_shape_, 0)
    net.set_params(
        **{k: reader.value(v) for k, v in node.get("module_params", {}).items()}
    )
    # initialize() draws random weights, soon overwritten: keep the user's
    # global torch RNG untouched.
    with torch.random.fork_rng(devices=[]):
        net.initialize()
    arrays = reader.arrays
    state = {k: torch.from_numpy(arrays[key]) for k, key in node["state_dict"].items()}
    try:
        net.module_.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(
            f"The saved network weights do not fit the model: {exc}"
        ) from None
    net.module_.to(net.device)
    return net


class _Reader:
    """Rebuild an estimator tree from a spec and arrays, allowing listed classes."""

    def __init__(self, arrays):
        self.arrays = arrays
        self.objects = {}

    def array(self, node):
        key = node.get("key")
        if key not in self.arrays:
            raise ValueError(f"The file refers to a missing array {key!r}.")
        return self.arrays[key]

    def value(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise ValueError(f"Unexpected value in the file: {node!r:.80}.")
        kind = node.get("type")
        if kind == "float" and node.get("value") in _NON_FINITE:
            return _NON_FINITE[node["value"]]
        if kind == "scalar":
            return self.array(node)[()]
        if kind == "ndarray":
            arr = self.array(node)
            return arr.T if node.get("order") == "F" else arr
        if kind == "tensor":
            import torch

            return torch.from_numpy(self.array(node))
        if kind == "torch_device":
            import torch

            return torch.device(str(node["value"]))
        if kind == "str_array":
            items = [str(v) for v in node["items"]]
            out = np.array(items, dtype=object if node["object"] else str)
            return out.reshape([int(d) for d in node["shape"]])
        if kind in ("list", "tuple"):
            items = [self.value(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {str(k): self.value(v) for k, v in node["items"].items()}
        if kind == "ref":
            if node.get("id") not in self.objects:
                raise ValueError(f"The file refers to a missing object {node!r:.80}.")
            return self.objects[node["id"]]
        if kind == "estimator":
            return self.estimator(node)
        raise ValueError(f"Unknown value type {kind!r} in the file.")

    def estimator(self, node):
        name = node.get("class")
        if name not in _ALLOWED:
            raise ValueError(
                f"The file names the class {name!r}, which is not on svlearn's "
                f"allow-list {sorted(_ALLOWED)}; nothing was imported or run."
            )
        module, attr = _ALLOWED[name]
        cls = getattr(importlib.import_module(module), attr)
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        params = node.get("params", {})
        state = node.get("state", {})
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ValueError(f"{name} takes no parameters {unknown}.")
        est = cls(**{k: self.value(v) for k, v in params.items()})
        self.objects[node.get("id")] = est
        net = None
        for attr_name, value in state.items():
            descriptor = inspect.getattr_static(cls, attr_name, None)
            if (
                not _NAME.match(attr_name)
                or attr_name.startswith("__")
                or callable(descriptor)
                or isinstance(descriptor, property)
            ):
                raise ValueError(f"Refusing to set attribute {attr_name!r} of {name}.")
            if isinstance(value, dict) and value.get("type") == "skorch_net":
                if name != "svlearn.SingularValueRegressor" or attr_name != "net_":
                    raise ValueError(f"Unexpected network in {name}.{attr_name}.")
                net = value
            else:
                setattr(est, attr_name, self.value(value))
        if net is not None:
            est.net_ = _rebuild_net(est, net, self)
        return est


def _digest(header, arrays):
    h = hashlib.sha256(header.encode())
    for key in sorted(arrays):
        arr = arrays[key]
        h.update(f"\0{key}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _write(spec, arrays, path, *, version=FORMAT_VERSION):
    """Write a spec and its arrays as a safetensors file, atomically."""
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
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".svlearn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save(estimator, path):
    """Save a fitted estimator or Pipeline to a file that loads without pickle.

    The file is a `safetensors <https://huggingface.co/docs/safetensors>`_
    file: arrays and network weights as raw tensors, the estimator's class
    names, parameters and fitted scalars as JSON in its metadata, with a
    format version and a SHA-256 digest. :func:`load` runs no code from it.

    Read more in ``docs/persistence.md``.

    Parameters
    ----------
    estimator : estimator object
        A :class:`SingularValueRegressor`, :class:`MeanSpectrumRegressor`,
        :class:`MatrixWindowTransformer` or :class:`SVDLight` (fitted or
        not), or a :class:`sklearn.pipeline.Pipeline` of these and of
        scikit-learn's scalers (``StandardScaler``, ``MinMaxScaler``,
        ``MaxAbsScaler``, ``RobustScaler``, ``Normalizer``), ``PCA``,
        ``TruncatedSVD`` or ``FrozenEstimator``. Parameters must be None,
        bools, numbers, strings, arrays, tuples, lists, dicts or such
        estimators; e.g. a ``RandomState`` instance is refused.
    path : str or path-like
        Destination file, conventionally ``*.safetensors``. It is replaced
        atomically.

    Raises
    ------
    TypeError
        If the estimator (or anything it holds) has a type that the format
        does not store; the message points to :func:`joblib.dump`.

    See Also
    --------
    load : Load the estimator back.
    joblib.dump : Stores anything, as a pickle that runs code when loaded.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import svlearn
    >>> X = np.random.default_rng(0).random((50, 9))
    >>> baseline = svlearn.MeanSpectrumRegressor().fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "baseline.safetensors")
    >>> svlearn.save(baseline, path)
    >>> np.array_equal(svlearn.load(path).predict(X), baseline.predict(X))
    True
    """
    writer = _Writer()
    spec = {"root": writer.value(estimator, "estimator")}
    if not isinstance(spec["root"], dict) or spec["root"].get("type") != "estimator":
        raise TypeError(
            f"estimator must be an estimator object, got {type(estimator).__name__}."
        )
    spec["svlearn_version"] = importlib.import_module("svlearn").__version__
    _write(spec, writer.arrays, path)


def load(path):
    """Load an estimator saved by :func:`save`, executing nothing from the file.

    The file is parsed as safetensors (JSON header, raw buffers) and checked
    against its SHA-256 digest before anything is built; classes are taken
    from svlearn's allow-list by name and built with their constructors. A
    network saved on CUDA is loaded on the CPU, with a ``DeviceWarning``, when
    CUDA is not available.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save`.

    Returns
    -------
    estimator : estimator object
        The estimator, with the fitted state it had when saved; its
        predictions are bit-identical to the saved estimator's on the same
        device.

    Raises
    ------
    ValueError
        If the file is not an svlearn model file, is truncated or altered
        (digest mismatch), was written by a newer format version, or names a
        class outside the allow-list.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import svlearn
    >>> path = os.path.join(tempfile.mkdtemp(), "windows.safetensors")
    >>> svlearn.save(svlearn.MatrixWindowTransformer(window_shape=8), path)
    >>> svlearn.load(path)
    MatrixWindowTransformer(window_shape=8)
    """
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            _check_header(meta, path)
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except SafetensorError as exc:
        raise ValueError(
            f"{path!r} is not a readable svlearn model file (truncated or not a "
            f"safetensors file): {exc}"
        ) from None
    header = meta["spec"]
    expected = _digest(f"{FORMAT}\0{meta['format_version']}\0{header}", arrays)
    if meta.get("sha256") != expected:
        raise ValueError(
            f"{path!r} has been altered or corrupted: its content does not match "
            "the SHA-256 digest recorded when it was saved."
        )
    try:
        spec = json.loads(header)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path!r} holds an unreadable description: {exc}") from None
    root = spec.get("root") if isinstance(spec, dict) else None
    if not isinstance(root, dict) or root.get("type") != "estimator":
        raise ValueError(f"{path!r} does not describe an estimator.")
    try:
        return _Reader(arrays).value(root)
    except (TypeError, AttributeError, KeyError, RuntimeError) as exc:
        # A description with the right digest but the wrong structure.
        raise ValueError(f"{path!r} holds a malformed description: {exc!r}") from exc


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
