"""
===========================================================
Learn the singular values of image windows and compare them
===========================================================

Train :class:`svlearn.SingularValueRegressor` on 32x32 gray windows of one of
scikit-learn's sample images, predict the spectra of windows of the other image,
and compare with the zero-learning baselines.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Data: windows of ``china.jpg`` for training, of ``flower.jpg`` for testing.
from svlearn.datasets import load_sample_windows

data = load_sample_windows(strides=(16, 16))
print(data.X_train.shape, data.X_test.shape)

# %%
# Fit self-supervised (``y=None``: exact singular values are the targets) and
# compare with the baselines on the held-out image.
from svlearn import MeanSpectrumRegressor, SingularValueRegressor, singular_values
from svlearn.metrics import mae, nmse

truth = singular_values(data.X_test)
models = {
    "svlearn": SingularValueRegressor(max_iter=10, random_state=0),
    "mean spectrum": MeanSpectrumRegressor(scaling="none"),
    "Frobenius x template": MeanSpectrumRegressor(scaling="frobenius"),
}
for name, model in models.items():
    pred = model.fit(data.X_train).predict(data.X_test)
    print(f"{name:<22} NMSE {100 * nmse(truth, pred):.4f}%  MAE {mae(truth, pred):.3f}")

# %%
# Plot a few predicted spectra against the exact ones.
import matplotlib

matplotlib.use("Agg")
from svlearn.plotting import SpectrumDisplay

SpectrumDisplay.from_estimator(models["svlearn"], data.X_test, random_state=0)
