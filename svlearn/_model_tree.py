# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The estimator tree of a model file: a JSON description plus named arrays.

:class:`Writer` turns a fitted estimator (and the estimators, arrays and plain
values it holds) into a JSON-able description whose arrays are replaced by
keys into a dict of arrays; :class:`Reader` rebuilds the tree from them,
building only classes on the allow-list and setting only the fitted
attributes their :class:`~svlearn._model_formats.Format` declares. Shared
estimators stay shared through ids; the on-disk container is ``_model_file``.
"""

import inspect
import math
import sys

import numpy as np
from sklearn.base import BaseEstimator

from ._allow_list import ALLOWED, FORMATS, JOBLIB_HINT, class_name
from ._model_formats import (
    brief,
    check_fields,
    init_parameters,
    is_int,
    json_object,
    kind_problem,
    parse_device,
    required_attributes,
)

# safetensors stores these numpy dtype kinds: bool, signed, unsigned, float.
_ARRAY_KINDS = "biuf"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# Deeper nesting than any estimator tree needs is refused before Python's
# recursion limit is reached.
_MAX_DEPTH = 64


# --- Writing ------------------------------------------------------------------


class Writer:
    """Turn an estimator tree into a JSON-able spec plus a dict of arrays."""

    def __init__(self):
        self.arrays = {}
        self.ids = {}  # id(estimator) -> index, so shared objects stay shared
        self.pending = set()  # estimators being written: a ref to one is a cycle
        self.alive = []  # keeps encoded objects alive so that ids stay unique

    def array(self, arr):
        """Store ``arr`` in C order and native byte order; return its key."""
        # np.ascontiguousarray would turn a 0-d array (a numpy scalar) into 1-d.
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return key

    def value(self, value, where):
        """The JSON-able description of ``value``, its arrays stored by key."""
        # numpy scalars first: np.float64 is also a float, and must come back
        # as np.float64.
        if isinstance(value, np.generic) and value.dtype.kind in _ARRAY_KINDS:
            return {"type": "scalar", "key": self.array(np.asarray(value))}
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value  # json writes repr(float), which round-trips exactly
            return {"type": "float", "value": repr(float(value))}
        if isinstance(value, np.ndarray):
            return self.ndarray(value, where)
        if isinstance(value, (list, tuple)):
            items = [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"type": type(value).__name__, "items": items}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items = {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"type": "dict", "items": items}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.device):
            return {"type": "torch_device", "value": str(value)}
        if isinstance(value, BaseEstimator):
            return self.estimator(value, where)
        raise TypeError(
            f"Cannot save {where}: values of type {type(value).__module__}."
            f"{type(value).__qualname__} are not supported. {JOBLIB_HINT}"
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
            f"(only bool, integer, float and string arrays). {JOBLIB_HINT}"
        )

    def estimator(self, est, where):
        if id(est) in self.ids:
            if id(est) in self.pending:
                raise TypeError(f"Cannot save {where}: it contains itself.")
            return {"type": "ref", "id": self.ids[id(est)]}
        name = class_name(est)
        if name is None:
            cls = type(est)
            raise TypeError(
                f"Cannot save {where}: {cls.__module__}.{cls.__qualname__} is not "
                f"on svlearn's allow-list. {JOBLIB_HINT}"
            )
        fmt = FORMATS[name]
        params = est.get_params(deep=False)
        fmt.check_params(params, where)
        self.ids[id(est)] = index = len(self.ids)
        self.pending.add(id(est))
        self.alive.append(est)
        node = {
            "type": "estimator",
            "class": name,
            "id": index,
            "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()},
            "state": {},
        }
        declared = fmt.attributes
        for attr, value in vars(est).items():
            if attr in params:
                continue
            if attr not in declared:
                raise TypeError(
                    f"Cannot save {where}.{attr}: model files store the fitted "
                    f"attributes {sorted(declared)} of {name} and nothing else. "
                    f"{JOBLIB_HINT}"
                )
            if attr in fmt.custom:
                node["state"][attr] = fmt.encode(attr, value, self, f"{where}.{attr}")
                continue
            problem = kind_problem(value, declared[attr], f"{where}.{attr}")
            if problem:
                raise TypeError(f"Cannot save: {problem}.")
            node["state"][attr] = self.value(value, f"{where}.{attr}")
        # Checked as load will check it (see Reader.estimator).
        if node["state"] or not required_attributes(declared):
            try:
                fmt.check(est)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"Cannot save {where}: {exc}") from None
        self.pending.discard(id(est))
        return node


# --- Reading ------------------------------------------------------------------


class Reader:
    """Rebuild an estimator tree from a spec and arrays, allowing listed classes.

    Parameters
    ----------
    arrays : dict of str to ndarray
        The arrays of the file; each may be used once, and ``used`` records
        which were, so that the caller can refuse a file storing others.
    """

    def __init__(self, arrays):
        self.arrays = arrays
        self.used = set()
        self.objects = {}
        self.pending = set()

    def array(self, key, where):
        """The array stored under ``key``, which no other node may use."""
        if not isinstance(key, str) or key not in self.arrays:
            raise ValueError(f"{where} refers to a missing array {brief(key)}.")
        if key in self.used:
            raise ValueError(f"{where} refers to array {key!r} a second time.")
        self.used.add(key)
        return self.arrays[key]

    def value(self, node, where, depth=0):
        """The value a JSON node describes, checked as untrusted input."""
        if depth > _MAX_DEPTH:
            raise ValueError(f"{where} is nested more than {_MAX_DEPTH} levels deep.")
        if type(node) is int and not -(2**63) <= node < 2**63:
            # No parameter or attribute needs more; numpy could not hold it.
            raise ValueError(f"{where} holds an int outside the int64 range.")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise ValueError(f"{where} holds an unexpected value {brief(node)}.")
        kind = node.get("type")
        if kind == "float":
            check_fields(node, {"type", "value"}, where)
            if node["value"] not in _NON_FINITE:
                raise ValueError(f"{where} holds an unknown float {brief(node)}.")
            return _NON_FINITE[node["value"]]
        if kind == "scalar":
            check_fields(node, {"type", "key"}, where)
            arr = self.array(node["key"], where)
            if arr.ndim != 0:
                raise ValueError(f"{where} must be a scalar, got shape {arr.shape}.")
            return arr[()]
        if kind == "ndarray":
            if "order" in node:
                check_fields(node, {"type", "key", "order"}, where)
                arr = self.array(node["key"], where)
                if node["order"] != "F" or arr.ndim < 2:
                    raise ValueError(f"{where} has an invalid order {brief(node)}.")
                return arr.T
            check_fields(node, {"type", "key"}, where)
            return self.array(node["key"], where)
        if kind == "str_array":
            return _str_array(node, where)
        if kind in ("list", "tuple"):
            check_fields(node, {"type", "items"}, where)
            if not isinstance(node["items"], list):
                raise ValueError(f"{where} must hold a list of items.")
            items = [
                self.value(v, f"{where}[{i}]", depth + 1)
                for i, v in enumerate(node["items"])
            ]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            check_fields(node, {"type", "items"}, where)
            items = json_object(node["items"], where)
            return {
                k: self.value(v, f"{where}[{k!r}]", depth + 1) for k, v in items.items()
            }
        if kind == "torch_device":
            check_fields(node, {"type", "value"}, where)
            return parse_device(node["value"], where)
        if kind == "ref":
            check_fields(node, {"type", "id"}, where)
            ident = node["id"]
            if not is_int(ident) or ident not in self.objects or ident in self.pending:
                raise ValueError(f"{where} refers to a missing object {brief(node)}.")
            return self.objects[ident]
        if kind == "estimator":
            return self.estimator(node, where, depth)
        raise ValueError(f"{where} has an unknown value type {brief(kind)}.")

    def estimator(self, node, where, depth):
        check_fields(node, {"type", "class", "id", "params", "state"}, where)
        name = node["class"]
        if not isinstance(name, str) or name not in FORMATS:
            raise ValueError(
                f"{where}: the file names the class {brief(name)}, which is not on "
                f"svlearn's allow-list {sorted(ALLOWED)}; nothing was imported or "
                "run."
            )
        ident = node["id"]
        if not is_int(ident) or ident in self.objects or ident in self.pending:
            raise ValueError(f"{where} has an invalid or repeated id {brief(ident)}.")
        fmt = FORMATS[name]
        cls = fmt.cls
        raw_params = json_object(node["params"], f"{where}.params")
        unknown = sorted(set(raw_params) - (init_parameters(cls) - {"self"}))
        if unknown:
            raise ValueError(f"{where}: {name} takes no parameters {unknown}.")
        params = {
            k: self.value(v, f"{where}.{k}", depth + 1) for k, v in raw_params.items()
        }
        fmt.check_params(params, where)
        est = cls(**params)
        self.objects[ident] = est
        self.pending.add(ident)
        if inspect.getattr_static(cls, "_parameter_constraints", None) is not None:
            est._validate_params()
        state = json_object(node["state"], f"{where}.state")
        declared = fmt.attributes
        _check_declarations(fmt, cls)
        for attr in state:
            if attr not in declared:
                raise ValueError(
                    f"{where}: {brief(attr)} is not a fitted attribute that a "
                    f"model file may set on {name} (those are {sorted(declared)})."
                )
        # A class whose every declared attribute is optional (a Pipeline, a
        # stateless transformer) is checked always; others once fitted.
        if state or not required_attributes(declared):
            self.fitted_state(est, fmt, state, where, depth)
        self.pending.discard(ident)
        return est

    def fitted_state(self, est, fmt, state, where, depth):
        declared = fmt.attributes
        missing = [a for a in required_attributes(declared) if a not in state]
        if missing:
            raise ValueError(f"{where} is fitted only in part: it lacks {missing}.")
        for attr, kind in declared.items():
            if attr in state and attr not in fmt.custom:
                value = self.value(state[attr], f"{where}.{attr}", depth + 1)
                problem = kind_problem(value, kind, f"{where}.{attr}")
                if problem:
                    raise ValueError(problem + ".")
                setattr(est, attr, value)
        names = getattr(est, "feature_names_in_", None)
        if names is not None and len(names) != est.n_features_in_:
            raise ValueError(
                f"{where}.feature_names_in_ names {len(names)} features, but "
                f"n_features_in_={est.n_features_in_}."
            )
        try:
            fmt.check(est)
        except (ValueError, TypeError) as exc:
            # A wrongly typed value in a file is a bad value of the file.
            raise ValueError(f"{where}: {exc}") from None
        for attr in fmt.custom:
            if attr in state:
                fmt.decode(est, attr, state[attr], self, f"{where}.{attr}")


def _str_array(node, where):
    check_fields(node, {"type", "object", "shape", "items"}, where)
    items, shape = node["items"], node["shape"]
    if (
        not isinstance(items, list)
        or not all(isinstance(v, str) for v in items)
        or not isinstance(shape, list)
        or not all(is_int(d) and d >= 0 for d in shape)
        or math.prod(shape) != len(items)
        or not isinstance(node["object"], bool)
    ):
        raise ValueError(f"{where} is not a valid array of strings.")
    return np.array(items, dtype=object if node["object"] else str).reshape(shape)


def _check_declarations(fmt, cls):
    """A declared name must not be one of the class's own (a method, a property)."""
    for attr in fmt.attributes:
        if inspect.getattr_static(cls, attr, _MISSING) is not _MISSING:
            raise TypeError(
                f"{fmt.name} declares {attr!r} as a fitted attribute, but its class "
                "defines that name."
            )


_MISSING = object()
