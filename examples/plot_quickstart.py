"""
==========
Quickstart
==========

Train :class:`~svlearn.SingularValueRegressor` on 32x32 gray windows of one of
scikit-learn's sample images, predict the singular values of windows of the
other image, and measure the error with the paper's metrics.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Data
# ----
# :func:`~svlearn.datasets.load_sample_windows` cuts 32x32 windows out of the
# two photos that ship with scikit-learn, in gray: ``china.jpg`` for training,
# ``flower.jpg`` for testing, so no window of the test image is seen in
# training. Each row of ``X`` is one 32x32 matrix, flattened row-major.
from svlearn.datasets import load_sample_windows

data = load_sample_windows(strides=(16, 16))
print("train", data.X_train.shape, "test", data.X_test.shape)

# %%
# Fit and predict
# ---------------
# ``fit(X)`` with no ``y`` computes the exact singular values of the training
# matrices and learns them (self-supervised). ``predict`` returns 32 values
# per matrix, non-negative and in descending order.
from svlearn import SingularValueRegressor, singular_values

reg = SingularValueRegressor(max_iter=20, random_state=0).fit(data.X_train)
S_pred = reg.predict(data.X_test)
S_true = singular_values(data.X_test)
print(S_pred.shape, S_pred[0, :4].round(1), S_true[0, :4].round(1))

# %%
# Measure the error
# -----------------
# The paper's metrics: NMSE ``||s - s_hat||^2 / ||s||^2`` and the MAE of the
# values, per matrix and averaged (:mod:`svlearn.metrics`).
from svlearn.metrics import mae, nmse

print(f"NMSE {100 * nmse(S_true, S_pred):.3f} %   MAE {mae(S_true, S_pred):.2f}")

# %%
# Look at a few spectra
# ---------------------
# :class:`~svlearn.plotting.SpectrumDisplay` draws predicted against exact
# spectra of a few test matrices, next to the matrices themselves; the log
# scale shows the small singular values, where the relative error is largest.
import matplotlib.pyplot as plt

from svlearn.plotting import ErrorHistogramDisplay, SpectrumDisplay

SpectrumDisplay.from_estimator(reg, data.X_test, n_samples=3, random_state=0)
plt.show()

# %%
# And the distribution of the per-matrix error over the whole test image:
ErrorHistogramDisplay.from_predictions(S_true, S_pred, name="svlearn default")
plt.show()
