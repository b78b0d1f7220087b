"""
===================================
Save and load models without pickle
===================================

:func:`svlearn.save` writes a fitted estimator (or a Pipeline of them) to one
`safetensors <https://huggingface.co/docs/safetensors>`_ file, and
:func:`svlearn.load` reads it back without unpickling anything: the file holds
raw tensors and a JSON description, and loading calls only the constructors of
an allow-list of classes. This example makes the round trip, checks that the
predictions are bit-identical, opens the file to show what it holds, and
compares it with :func:`joblib.dump`. Read more in :ref:`persistence`.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Fit a model
# -----------
# Windows of scikit-learn's sample photos; enough of them (3,850 at stride 8)
# that ``fit`` also calibrates the per-matrix error estimates, which are part
# of the fitted state and must survive the round trip too.
import numpy as np

from svlearn import SingularValueRegressor
from svlearn.datasets import load_sample_windows

data = load_sample_windows(strides=(8, 8))
reg = SingularValueRegressor(max_iter=5, random_state=0).fit(data.X_train)

# %%
# Round trip
# ----------
# ``save`` replaces the file atomically; ``load`` checks the file's SHA-256
# digest before it builds anything.
import tempfile
import textwrap
from pathlib import Path

import svlearn

folder = Path(tempfile.mkdtemp())
path = folder / "model.safetensors"
svlearn.save(reg, path)
loaded = svlearn.load(path)
print(loaded)

pred, error = reg.predict(data.X_test, return_error=True)
pred_loaded, error_loaded = loaded.predict(data.X_test, return_error=True)
print("bit-identical predictions:", np.array_equal(pred, pred_loaded))
print("bit-identical error estimates:", np.array_equal(error, error_loaded))

# %%
# What the file holds
# -------------------
# A safetensors file is a JSON header followed by raw little-endian buffers.
# svlearn's metadata names the format and its version, holds the estimator's
# description (class names, constructor parameters, fitted scalars) as JSON,
# and a digest over all of it. The tensors are the network's weights and the
# fitted arrays.
import json
from pprint import pprint

from safetensors import safe_open

with safe_open(path, framework="np") as f:
    metadata = f.metadata()
    tensors = {key: f.get_tensor(key) for key in f.keys()}
pprint({k: v for k, v in metadata.items() if k != "spec"}, width=76)
spec = json.loads(metadata["spec"])
print("constructor parameters:")
pprint(spec["root"]["params"], width=76, compact=True)
print("fitted attributes:")
pprint(sorted(spec["root"]["state"]), width=76, compact=True)


# %%
# The description refers to each tensor by a short key; walking it gives each
# tensor its place in the estimator (the network's ``state_dict`` entries, the
# arrays of the error model).
def tensor_names(node, where=""):
    if isinstance(node, dict):
        if node.get("type") == "ndarray":
            yield node["key"], where
        for name, child in node.items():
            if name != "key" and isinstance(child, str) and child in tensors:
                yield child, f"{where}/{name}"
            else:
                yield from tensor_names(child, f"{where}/{name}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from tensor_names(child, f"{where}/{i}")


names = {k: w.replace("/root/state/", "") for k, w in tensor_names(spec)}
for key, value in tensors.items():
    print(f"{key:<4} {names.get(key, '?'):<36} {value.dtype} {value.shape}")

# %%
# An altered file is refused
# --------------------------
# Flip one byte of the last weight: the digest no longer matches, and ``load``
# says so instead of returning a silently different model.
tampered = folder / "tampered.safetensors"
raw = bytearray(path.read_bytes())
raw[-1] ^= 0xFF
tampered.write_bytes(bytes(raw))
try:
    svlearn.load(tampered)
except ValueError as exc:
    print(textwrap.fill(f"ValueError: {exc}", 76))

# %%
# Compared with joblib
# --------------------
# :func:`joblib.dump` stores any Python object as a pickle, and loading a
# pickle can run any code the file names: use it only for files you trust.
# It also round-trips this model exactly. ``svlearn.save`` refuses what it
# cannot store without pickle (here a Pipeline holding a Python function) and
# points to joblib.
import joblib
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

joblib.dump(reg, folder / "model.joblib")
from_joblib = joblib.load(folder / "model.joblib")
same = np.array_equal(from_joblib.predict(data.X_test), pred)
print("joblib bit-identical:", same)
sizes = {
    "svlearn.save": path.stat().st_size,
    "joblib.dump": (folder / "model.joblib").stat().st_size,
}
print({name: f"{size / 1024:.0f} KiB" for name, size in sizes.items()})

custom = make_pipeline(FunctionTransformer(np.abs), reg)
try:
    svlearn.save(custom, folder / "custom.safetensors")
except TypeError as exc:
    print(textwrap.fill(f"TypeError: {exc}", 76))

# %%
# Where the bytes go: almost all of the file is the network's weights.
import matplotlib.pyplot as plt

labels = [names.get(key, key) for key in tensors]
kib = [value.nbytes / 1024 for value in tensors.values()]
fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.2))
ax.barh(labels, kib)
ax.invert_yaxis()
ax.set_xlabel("KiB")
ax.set_title(
    f"Tensors in model.safetensors ({sizes['svlearn.save'] / 1024:.0f} KiB; "
    f"joblib {sizes['joblib.dump'] / 1024:.0f} KiB)",
    fontsize=10,
)
ax.tick_params(axis="y", labelsize=7)
fig.tight_layout()
plt.show()
