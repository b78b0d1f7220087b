"""
================================
Out-of-core prediction with Dask
================================

:mod:`svlearn.dask` maps a fitted model over arrays that need not fit in
memory: :func:`svlearn.dask.predict` predicts a dask array of matrices block
by block, and :func:`svlearn.dask.spectral_map` predicts the spectra of every
window of one large 2-D array, chunk by chunk, without ever materialising the
windows. Both build lazy task graphs; this example runs them on dask's local
thread pool, no cluster needed (with ``dask.distributed``, the same calls run
on a cluster). Read more in :ref:`scale-out`.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# A model to map
# --------------
# Any fitted estimator that predicts flattened 32x32 matrices will do; here
# :class:`~svlearn.SingularValueRegressor` trained briefly on windows of
# ``china.jpg``.
import numpy as np

from svlearn import SingularValueRegressor
from svlearn.datasets import load_sample_windows

data = load_sample_windows(strides=(16, 16))
reg = SingularValueRegressor(max_iter=10, random_state=0).fit(data.X_train)

# %%
# Predict a dask array of matrices
# --------------------------------
# Here the dask array wraps an in-memory array; a ``np.memmap``, an HDF5 or
# Zarr dataset works the same. Each chunk of rows becomes one task, and the
# estimator enters the graph once. Nothing runs until ``compute``.
import dask
import dask.array as da

import svlearn.dask

X = da.from_array(data.X_test, chunks=(500, -1))
S = svlearn.dask.predict(reg, X)


def describe(name, array):
    print(
        f"{name}: dask array of shape {array.shape}, "
        f"{array.npartitions} chunks of at most {array.chunksize}"
    )


describe("X", X)
describe("S", S)
with dask.config.set(scheduler="threads", num_workers=2):
    S_dask = S.compute()

# The same numbers as the in-memory ``predict``, up to float32 rounding: the
# network computes in float32, and its matrix products may round differently
# for blocks of different sizes.
S_memory = reg.predict(data.X_test)
print(
    f"{S_dask.shape[0]} spectra in {S.numblocks[0]} tasks; largest difference "
    f"from the in-memory predict: {np.abs(S_dask - S_memory).max():.3g}"
)

# %%
# Spectra of every window of a large array
# ----------------------------------------
# One 2-D array, the two sample photos side by side (427 x 1280), chunked in
# four. ``spectral_map`` cuts the grid of 32x32 windows (here at stride 4) into
# blocks aligned with the chunks; each task reads its chunk plus the overlap
# its windows need from the neighbouring chunks, and predicts its windows in
# batches. The result is a lazy grid: entry ``[i, j]`` is the spectrum of the
# window whose top-left pixel is ``(4 i, 4 j)``.
image = np.hstack(data.images).astype(np.float32)
A = da.from_array(image, chunks=(214, 640))
spectra = svlearn.dask.spectral_map(reg, A, window_shape=32, strides=4)
describe("A", A)
describe("spectra", spectra)
with dask.config.set(scheduler="threads", num_workers=2):
    grid = spectra.compute()

# %%
# The grid lists the windows in :class:`~svlearn.MatrixWindowTransformer`'s
# order, so a few of them can be checked against the in-memory route.
from svlearn import MatrixWindowTransformer

windowing = MatrixWindowTransformer(window_shape=32, strides=4)
windows = windowing.transform(image)
flat = grid.reshape(-1, grid.shape[-1])
rows = np.random.default_rng(0).choice(len(windows), 500, replace=False)
print(
    f"{len(windows):,} windows; largest difference on 500 of them: "
    f"{np.abs(flat[rows] - reg.predict(windows[rows])).max():.3g}"
)

# %%
# Maps of the spectra
# -------------------
# The largest singular value of a window follows its brightness and contrast;
# the share of its energy outside the three leading singular values
# (``1 - (s1^2 + s2^2 + s3^2) / sum s^2``) is large where the window holds fine
# texture (foliage, petals) and small on smooth regions (sky).
import matplotlib.pyplot as plt

tail = 1 - (grid[..., :3] ** 2).sum(-1) / (grid**2).sum(-1)
fig, axes = plt.subplots(3, 1, figsize=(9, 8))
shown = axes[0].imshow(image, cmap="gray")
axes[0].set_title("the array: china.jpg | flower.jpg, gray (427 x 1280)")
fig.colorbar(shown, ax=axes[0])
shown = axes[1].imshow(grid[..., 0], cmap="viridis")
axes[1].set_title("predicted sigma_1 of each 32x32 window (stride 4)")
fig.colorbar(shown, ax=axes[1])
shown = axes[2].imshow(tail, cmap="magma")
axes[2].set_title("energy share outside sigma_1..sigma_3")
fig.colorbar(shown, ax=axes[2])
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
