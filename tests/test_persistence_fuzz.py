# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Crafted and corrupted model files: ``svlearn.load`` refuses them or loads a model.

A saved example of each class on the allow-list is mutated at random, from a
seeded RNG: its JSON description and its arrays (then re-signed, as anyone can
recompute the digest, so a crafted file always carries a valid one), and its
raw bytes (not re-signed). Every load must end within 2 s and 200 MB of peak
memory, and either raise ValueError or return a model that works:

- raw bytes: the digest covers everything, so a loaded model is the saved one
  and predicts exactly like it;
- re-signed descriptions describe any model they like (``activation="tanh"``
  instead of ``"relu"`` is a valid, different model), so a loaded model must
  predict (or transform) the reference input into an array of the reference
  shape, or refuse that input with a ValueError of its own (not a numpy
  broadcasting error from an inconsistent state), and save and load again to
  the same predictions.
"""

import copy
import json
import os
import re
import time
import warnings
import zlib

import numpy as np
import pytest
from safetensors import safe_open
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import svlearn
from svlearn import (
    MatrixWindowTransformer,
    MeanSpectrumRegressor,
    SingularValueRegressor,
    SVDLight,
)
from svlearn._model_file import write_model_file

N_SPEC, N_ARRAYS, N_BYTES = 250, 50, 50
MAX_SECONDS = 2.0
MAX_GROWTH_MB = 200
# A numpy shape error reaching the user means that an inconsistent state was
# loaded: the loader must have refused it.
_SHAPE_ERROR = re.compile(
    r"broadcast|not aligned|core dimension|cannot reshape|could not be|"
    r"size \d+ is different|index \d+ is out of bounds"
)


@pytest.fixture(scope="module")
def examples(matrices):
    """name -> (fitted estimator, method name, input), all small."""
    reg = SingularValueRegressor(
        hidden_layer_sizes=(8,),
        max_iter=1,
        batch_size=64,
        calibration_fraction=0.7,
        random_state=0,
    ).fit(matrices)
    images = np.random.default_rng(0).random((2, 8, 9))
    X = matrices[:40]
    return {
        "SingularValueRegressor": (reg, "predict", X),
        "MeanSpectrumRegressor": (
            MeanSpectrumRegressor(scaling="subspace", n_components=2).fit(matrices),
            "predict",
            X,
        ),
        "MatrixWindowTransformer": (
            MatrixWindowTransformer(window_shape=(3, 4), strides=2),
            "transform",
            images,
        ),
        "SVDLight": (
            SVDLight(k=2, regressor=reg, random_state=0).fit(X),
            "transform",
            X,
        ),
        "Pipeline": (
            make_pipeline(
                MatrixWindowTransformer(window_shape=(3, 3), strides=3),
                StandardScaler(),
                PCA(n_components=3, random_state=0),
            ).fit(images),
            "transform",
            images,
        ),
        "FrozenEstimator": (FrozenEstimator(reg), "predict", X),
        "StandardScaler": (StandardScaler().fit(X), "transform", X),
        "PCA": (
            PCA(n_components=3, whiten=True, random_state=0).fit(X),
            "transform",
            X,
        ),
    }


# Values a crafted description may put anywhere.
_POOL = [
    None,
    True,
    False,
    0,
    1,
    -1,
    7,
    2**31,
    10**15,
    -(10**15),
    0.5,
    -1.0,
    1e308,
    "",
    "x",
    "cuda",
    "meta",
    "tanh",
    "raw",
    [],
    {},
    {"type": "float", "value": "nan"},
    {"type": "float", "value": "-inf"},
    {"type": "list", "items": []},
    {"type": "tuple", "items": [15000, 15000]},
    {"type": "tuple", "items": [6, 6]},
    {"type": "tuple", "items": [1, 36]},
    {"type": "dict", "items": {}},
    {"type": "ref", "id": 0},
    {"type": "ref", "id": 99},
    {"type": "ndarray", "key": "a0"},
    {"type": "ndarray", "key": "a1", "order": "F"},
    {"type": "scalar", "key": "a0"},
    {"type": "str_array", "object": True, "shape": [10**9], "items": ["a"]},
    {"type": "str_array", "object": True, "shape": [2], "items": ["a", "b"]},
    {"type": "torch_device", "value": "meta"},
    {"type": "tensor", "key": "a0"},
    {
        "type": "estimator",
        "class": "sklearn.preprocessing.StandardScaler",
        "id": 50,
        "params": {},
        "state": {},
    },
    {"type": "estimator", "class": "os.system", "id": 51, "params": {}, "state": {}},
    {"type": "skorch_net", "device": "cpu", "module_params": {}, "state_dict": {}},
]
_KEYS = [
    "_parameter_constraints",
    "_private",
    "extra_",
    "predict",
    "__class__",
    "max_epochs",
    "module__lr",
    "memory",
    "type",
    "items",
    "order",
    "net_",
    "n_features_in_",
    "template_",
]


def _deep(depth):
    node = 1
    for _ in range(depth):
        node = {"type": "list", "items": [node]}
    return node


def _slots(node, out):
    """Every (container, key) holding a value, depth first."""
    if isinstance(node, dict):
        for key in node:
            out.append((node, key))
            _slots(node[key], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


def _strings(node, out):
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        out.extend(node)
        for value in node.values():
            _strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _strings(value, out)
    return out


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _mutate_spec(spec, rng):
    """Apply one random mutation to ``spec`` in place; describe it."""
    slots = _slots(spec, [])
    if not slots:  # earlier mutations emptied it
        spec["root"] = copy.deepcopy(_pick(rng, _POOL))
        return "root replaced"
    # Mostly inside the estimator tree, sometimes the envelope and versions.
    inner = _slots(spec["root"], []) if isinstance(spec.get("root"), dict) else []
    container, key = _pick(rng, inner if inner and rng.random() < 0.9 else slots)
    value = container[key]
    op = int(rng.integers(7))
    if op == 0:
        new = copy.deepcopy(_pick(rng, _POOL + [_deep(90)]))
    elif op == 1:
        del container[key]
        return f"delete [{key!r}]"
    elif op == 2:
        dicts = [c for c, _ in slots if isinstance(c, dict)] + [spec]
        target = _pick(rng, dicts)
        name = _pick(rng, _KEYS)
        target[name] = copy.deepcopy(_pick(rng, _POOL))
        return f"insert {name!r}={target[name]!r:.60}"
    elif op == 3 and isinstance(value, (int, float)) and not isinstance(value, bool):
        new = _pick(rng, [value + 1, value - 1, -value, value * 1000, 0, 2**31])
    elif op == 4 and isinstance(value, str):
        new = _pick(rng, _strings(spec, []) + ["cuda", "meta", "F", "a0", "x" * 999])
    elif op == 5:
        other, other_key = _pick(rng, slots)
        new = copy.deepcopy(other[other_key])
    else:
        new = copy.deepcopy(_pick(rng, _POOL))
    container[key] = new
    return f"[{key!r}]: {value!r:.60} -> {new!r:.60}"


def _mutate_arrays(arrays, rng):
    if not arrays:  # a stateless transformer
        arrays["a0"] = np.zeros(3)
        return "array a0 added"
    key = _pick(rng, sorted(arrays))
    arr = arrays[key]
    op = int(rng.integers(8))
    if op == 0:
        arrays[key] = np.ones(arr.size + 1, dtype=arr.dtype)
    elif op == 1:
        arrays[key] = arr.astype(_pick(rng, [np.float64, np.int64, np.float16, bool]))
    elif op == 2:
        arrays[key] = arr.reshape(-1) if arr.ndim != 1 else arr.reshape(1, -1)
    elif op == 3:
        arrays[key] = np.empty((0,), dtype=arr.dtype)
    elif op == 4:
        arrays[key] = np.asarray(arr.reshape(-1)[:1].sum() if arr.size else 0)
    elif op == 5:
        arrays[key] = np.full(arr.shape, np.nan if arr.dtype.kind == "f" else 10**6)
    elif op == 6:
        del arrays[key]
    else:
        arrays["extra"] = np.zeros(3)
    return f"array {key} op {op}"


def _mutate_bytes(data, rng):
    data = bytearray(data)
    op = int(rng.integers(5))
    if op == 0:
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(len(data)))
            data[i] ^= 1 << int(rng.integers(8))
    elif op == 1:
        data = data[: int(rng.integers(len(data)))]
    elif op == 2:
        i = int(rng.integers(len(data)))
        data[i:i] = rng.bytes(int(rng.integers(1, 64)))
    elif op == 3:
        data[:8] = int(rng.integers(2**63)).to_bytes(8, "little")
    else:
        i = int(rng.integers(len(data)))
        n = int(rng.integers(1, 64))
        data[i : i + n] = rng.bytes(len(data[i : i + n]))
    return bytes(data), f"bytes op {op}"


class _Peak:
    """Peak-RSS growth of a block (Linux's VmHWM, reset on entry); 0 elsewhere."""

    def __enter__(self):
        self.linux = os.path.exists("/proc/self/clear_refs")
        if self.linux:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.before = self._read("VmRSS")
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.mb = (self._read("VmHWM") - self.before) / 1024 if self.linux else 0.0

    @staticmethod
    def _read(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field))


def _load(path, what):
    """``svlearn.load(path)`` or None if refused; fails on anything else."""
    with _Peak() as peak, warnings.catch_warnings():
        # DeviceWarning (a crafted "cuda") and InconsistentVersionWarning are
        # allowed: they come with a model that loads.
        warnings.simplefilter("ignore")
        try:
            loaded = svlearn.load(path)
        except ValueError:
            loaded = None
        except Exception as exc:
            pytest.fail(f"{what}: load raised {exc!r}")
    assert peak.seconds < MAX_SECONDS, f"{what}: load took {peak.seconds:.2f} s"
    assert peak.mb < MAX_GROWTH_MB, f"{what}: peak memory grew {peak.mb:.0f} MB"
    return loaded


def _works(loaded, method, X, shape, what, path):
    """A loaded crafted model predicts, or refuses the input itself; saves again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        try:
            out = getattr(loaded, method)(X)
        except ValueError as exc:
            assert not _SHAPE_ERROR.search(str(exc)), f"{what}: {exc!r}"
            return
        except Exception as exc:
            pytest.fail(f"{what}: {method} of the loaded model raised {exc!r}")
        elapsed = time.perf_counter() - start
        assert elapsed < MAX_SECONDS, f"{what}: {method} took {elapsed:.2f} s"
        assert isinstance(out, np.ndarray) and out.ndim == len(shape), what
        if method == "predict":
            # Rows are the input's matrices, columns fixed by the checked state;
            # a transformer's windows depend on its (valid) parameters.
            assert out.shape == shape, what
        again = path.with_suffix(".again")
        svlearn.save(loaded, again)
        if np.array_equal(getattr(loaded, method)(X), out, equal_nan=True):
            # Deterministic (not a random draw of windows): so is the copy.
            np.testing.assert_array_equal(
                getattr(svlearn.load(again), method)(X), out, err_msg=what
            )


def _read_spec(path):
    with safe_open(os.fspath(path), framework="np") as f:
        return json.loads(f.metadata()["spec"]), {k: f.get_tensor(k) for k in f.keys()}


@pytest.mark.parametrize(
    "name",
    [
        "SingularValueRegressor",
        "MeanSpectrumRegressor",
        "MatrixWindowTransformer",
        "SVDLight",
        "Pipeline",
        "FrozenEstimator",
        "StandardScaler",
        "PCA",
    ],
)
def test_mutated_files_are_refused_or_load_a_working_model(name, examples, tmp_path):
    est, method, X = examples[name]
    reference = getattr(est, method)(X)
    saved = tmp_path / "model.safetensors"
    svlearn.save(est, saved)
    spec, arrays = _read_spec(saved)
    data = saved.read_bytes()
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    path = tmp_path / "mutated.safetensors"
    refused = 0
    for i in range(N_SPEC + N_ARRAYS):
        mutated, mutated_arrays = copy.deepcopy(spec), dict(arrays)
        if i < N_SPEC:
            what = [_mutate_spec(mutated, rng) for _ in range(int(rng.integers(1, 4)))]
        else:
            what = [_mutate_arrays(mutated_arrays, rng)]
        what = f"{name} mutation {i}: {'; '.join(what)}"
        try:
            write_model_file(mutated, mutated_arrays, path)
        except (TypeError, ValueError):
            continue  # not even writable as JSON and safetensors
        loaded = _load(path, what)
        if loaded is None:
            refused += 1
        else:
            _works(loaded, method, X, reference.shape, what, path)
    # The mutations reach the loader's checks, not only its parser.
    assert refused >= (N_SPEC + N_ARRAYS) // 2
    for i in range(N_BYTES):
        corrupted, what = _mutate_bytes(data, rng)
        path.write_bytes(corrupted)
        loaded = _load(path, f"{name} corruption {i}: {what}")
        if loaded is not None:
            np.testing.assert_array_equal(
                getattr(loaded, method)(X), reference, strict=True, err_msg=what
            )
