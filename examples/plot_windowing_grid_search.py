"""
=======================================================
Windowing and a grid search with self-computing scorers
=======================================================

The paper trains on ``m x n`` windows of large matrices. Here a
:class:`~svlearn.MatrixWindowTransformer` cuts an image into windows inside a
:class:`~sklearn.pipeline.Pipeline`, and :class:`~sklearn.model_selection.GridSearchCV`
tunes the network with :data:`~svlearn.metrics.nmse_scorer`, which computes
the exact singular values of the held-out windows itself, so no ``y`` is ever
passed.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# One large matrix, many windows
# ------------------------------
# A 2-D array is one matrix. With 16x16 windows at stride 8, a 427x640 gray
# photo gives 52 x 79 overlapping windows.
import numpy as np
from sklearn.datasets import load_sample_image

from svlearn import extract_windows, n_windows

china = load_sample_image("china.jpg") @ np.array([0.299, 0.587, 0.114])
print("image", china.shape, "windows:", n_windows(china, 16, strides=8)[0])
windows, origins = extract_windows(china, 16, strides=8, return_origins=True)
print(windows.shape, "first origins (matrix, row, col):", origins[:3].tolist())

# %%
# A stack of images as the input of a Pipeline
# --------------------------------------------
# :class:`~svlearn.MatrixWindowTransformer` changes the number of samples (one
# row per window), so it may only be the first step of a Pipeline fitted with
# ``y=None``; the regressor then computes its own targets. Each "sample" of the
# Pipeline is a whole image: here the 24 non-overlapping 96x96 tiles of
# ``china.jpg``, each giving 25 overlapping windows of 32x32 at stride 16.
from sklearn.pipeline import make_pipeline

from svlearn import MatrixWindowTransformer, SingularValueRegressor

tiles = np.stack(
    [
        china[r : r + 96, c : c + 96]
        for r in range(0, china.shape[0] - 95, 96)
        for c in range(0, china.shape[1] - 95, 96)
    ]
).astype(np.float32)
print("tiles", tiles.shape)

pipe = make_pipeline(
    MatrixWindowTransformer(window_shape=(32, 32), strides=(16, 16)),
    SingularValueRegressor(max_iter=10, random_state=0),
)

# %%
# Grid search with ``y=None``
# ---------------------------
# A string scorer such as ``"neg_mean_squared_error"`` needs ``y``. The scorers
# in :mod:`svlearn.metrics` do not: when ``y`` is None they window the
# held-out images through the Pipeline's first steps and decompose the windows
# exactly. The folds split whole tiles, so the overlapping windows of one tile
# are never split between training and testing; the tiles themselves do not
# overlap.
from sklearn.model_selection import GridSearchCV

from svlearn.metrics import mae_scorer, nmse_scorer

search = GridSearchCV(
    pipe,
    {"singularvalueregressor__hidden_layer_sizes": [(32,), (64, 64)]},
    scoring={"nmse": nmse_scorer, "mae": mae_scorer},
    refit="nmse",
    cv=3,
)
search.fit(tiles)
for params, nmse_, mae_ in zip(
    search.cv_results_["params"],
    search.cv_results_["mean_test_nmse"],
    search.cv_results_["mean_test_mae"],
):
    print(params, f"NMSE {-100 * nmse_:.3f} %  MAE {-mae_:.2f}")
print("best:", search.best_params_)

# %%
# Scores of the refitted best model on windows of the other photo:
import matplotlib.pyplot as plt

flower = load_sample_image("flower.jpg") @ np.array([0.299, 0.587, 0.114])
test = flower[None, :384, :608].astype(np.float32)
print(f"held-out photo: NMSE {-100 * nmse_scorer(search.best_estimator_, test):.3f} %")

fig, ax = plt.subplots(figsize=(5, 3))
param = "singularvalueregressor__hidden_layer_sizes"
labels = [str(p[param]) for p in search.cv_results_["params"]]
ax.bar(labels, -100 * search.cv_results_["mean_test_nmse"])
ax.set_xlabel("hidden_layer_sizes")
ax.set_ylabel("cross-validated NMSE (%)")
fig.tight_layout()
plt.show()
