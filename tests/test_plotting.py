# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the Display objects in svlearn.plotting (Figures 2-6)."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from svlearn import reconstruct, singular_values  # noqa: E402
from svlearn.metrics import mae_per_matrix, nmse_per_matrix  # noqa: E402
from svlearn.plotting import (  # noqa: E402
    ErrorHistogramDisplay,
    ReconstructionDisplay,
    SpectrumDisplay,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = (rng.random((30, 6, 2)) @ rng.random((30, 2, 6))).reshape(30, -1)
    X += 0.01 * rng.random(X.shape)
    return X, singular_values(X)


class _Shrink:
    """A fitted 'estimator' predicting 0.9 times the exact singular values."""

    matrix_shape_ = (6, 6)

    def __init__(self):
        self.seen = []

    def predict(self, X):
        self.seen.append(np.asarray(X).shape)
        return 0.9 * singular_values(X, matrix_shape=self.matrix_shape_)


def test_plotting_imports_without_matplotlib():
    code = "import sys, svlearn.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_spectrum_display_from_predictions(data):
    X, S = data
    disp = SpectrumDisplay.from_predictions(
        S, {"a": 0.9 * S, "b": 1.1 * S}, X=X, n_samples=3, random_state=0
    )
    assert disp.ax_.shape == (3, 3)  # log, linear, matrices x 3 samples
    assert len(disp.sample_indices) == 3
    np.testing.assert_allclose(disp.y_true, S[disp.sample_indices])
    np.testing.assert_allclose(disp.y_pred["b"], 1.1 * S[disp.sample_indices])
    # One line per sample and scale, for the truth and each model.
    assert {k: len(v) for k, v in disp.lines_.items()} == {"true": 6, "a": 6, "b": 6}
    assert disp.ax_[0, 0].get_yscale() == "log"
    assert disp.ax_[1, 0].get_yscale() == "linear"
    np.testing.assert_allclose(
        disp.ax_[2, 1].images[0].get_array(), X[disp.sample_indices[1]].reshape(6, 6)
    )
    mae = np.abs(S - 0.9 * S).mean(axis=1)[disp.sample_indices[0]]
    assert f"a: {mae:.3g}" in disp.ax_[2, 0].get_title()


def test_spectrum_display_log_axis_by_default_and_linear_on_request(data):
    X, S = data
    default = SpectrumDisplay.from_predictions(S, S, sample_indices=[0])
    assert [a.get_yscale() for a in default.ax_[:, 0]] == ["log", "linear"]
    linear = SpectrumDisplay.from_predictions(
        S, S, sample_indices=[0], scales=("linear",)
    )
    assert [a.get_yscale() for a in linear.ax_[:, 0]] == ["linear"]


def _zero_tail():
    y_true = np.array([[8.0, 2.0, 0.0]])
    y_pred = np.array([[8.0, 0.0, -0.5]])
    return y_true, y_pred


def test_spectrum_display_masks_zeros_on_the_log_axis():
    y_true, y_pred = _zero_tail()
    disp = SpectrumDisplay.from_predictions(y_true, y_pred, sample_indices=[0])
    (true_log, true_lin), (pred_log, pred_lin) = disp.lines_.values()
    # Log row: non-positive values become gaps; linear row: drawn as they are.
    np.testing.assert_array_equal(true_log.get_ydata(), [8.0, 2.0, np.nan])
    np.testing.assert_array_equal(pred_log.get_ydata(), [8.0, np.nan, np.nan])
    np.testing.assert_array_equal(pred_lin.get_ydata(), y_pred[0])
    np.testing.assert_array_equal(true_lin.get_ydata(), y_true[0])
    # The axis limits come from the positive values only.
    low, high = disp.ax_[0, 0].get_ylim()
    assert 0 < low < 2.0 and high > 8.0


def test_spectrum_display_floors_zeros_at_1e6_of_sigma_1():
    y_true, y_pred = _zero_tail()
    disp = SpectrumDisplay.from_predictions(
        y_true, y_pred, sample_indices=[0], scales=("log",), zeros="floor"
    )
    (true_log,), (pred_log,) = disp.lines_.values()
    np.testing.assert_allclose(true_log.get_ydata(), [8.0, 2.0, 8e-6])
    np.testing.assert_allclose(pred_log.get_ydata(), [8.0, 8e-6, 8e-6])
    assert disp.ax_[0, 0].get_ylim()[0] <= 8e-6
    with pytest.raises(ValueError, match="zeros must be one of"):
        SpectrumDisplay.from_predictions(y_true, y_pred, zeros="clip")


def test_spectrum_display_same_draw_for_same_seed(data):
    X, S = data
    one = SpectrumDisplay.from_predictions(S, S, n_samples=4, random_state=3)
    two = SpectrumDisplay.from_predictions(S, S, n_samples=4, random_state=3)
    np.testing.assert_array_equal(one.sample_indices, two.sample_indices)
    assert one.ax_.shape == (2, 4)  # no X: no row of matrices


def test_spectrum_display_from_estimator_and_ax(data):
    X, _ = data
    est = _Shrink()
    fig, ax = plt.subplots(1, 2)
    disp = SpectrumDisplay.from_estimator(
        est, X, sample_indices=[4, 7], ax=ax, scales=("linear",), show_matrices=False
    )
    assert disp.figure_ is fig
    assert est.seen == [(2, 36)]  # only the shown matrices are predicted
    assert set(disp.y_pred) == {"_Shrink"}
    np.testing.assert_allclose(disp.y_true, singular_values(X[[4, 7]]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sample_indices": [40]}, "sample_indices must be non-empty"),
        ({"n_samples": 0}, "n_samples must be at least 1"),
        ({"scales": ("log", "cubic")}, "scales must be"),
        ({"ax": [None] * 5}, "ax must hold 6 Axes"),
    ],
)
def test_spectrum_display_errors(data, kwargs, match):
    X, S = data
    with pytest.raises(ValueError, match=match):
        SpectrumDisplay.from_predictions(S, S, **{"n_samples": 3, **kwargs})


def test_spectrum_display_shape_mismatch(data):
    X, S = data
    with pytest.raises(ValueError, match=r"y_pred\['predicted'\] has shape"):
        SpectrumDisplay.from_predictions(S, S[:, :3])
    with pytest.raises(ValueError, match="X holds 29 matrices"):
        SpectrumDisplay.from_predictions(S, S, X=X[1:])
    with pytest.raises(ValueError, match="empty mapping"):
        SpectrumDisplay.from_predictions(S, {})


def test_error_histogram_display(data):
    X, S = data
    preds = {"shrunk": 0.9 * S, "noisy": S + 0.05}
    disp = ErrorHistogramDisplay.from_predictions(S, preds, bins=7)
    for name, y in preds.items():
        np.testing.assert_allclose(disp.nmse[name], nmse_per_matrix(S, y))
        np.testing.assert_allclose(disp.mae[name], mae_per_matrix(S, y))
        mae_bars, nmse_bars = disp.bars_[name]
        # Every matrix is counted once per panel.
        assert sum(b.get_height() for b in mae_bars) == len(S)
        assert sum(b.get_height() for b in nmse_bars) == len(S)
        assert len(mae_bars) == 7
    assert disp.ax_[1].get_xlabel().startswith("NMSE per matrix (%)")
    assert [t.get_text() for t in disp.ax_[0].get_legend().get_texts()] == list(preds)


def test_error_histogram_display_from_estimator(data):
    X, S = data
    fig, ax = plt.subplots(1, 2)
    disp = ErrorHistogramDisplay.from_estimator(_Shrink(), X, ax=ax, name="x0.9")
    assert disp.figure_ is fig
    np.testing.assert_allclose(disp.nmse["x0.9"], 0.01)  # (1 - 0.9)**2
    with pytest.raises(ValueError, match="ax must hold 2 Axes"):
        ErrorHistogramDisplay.from_predictions(S, S, ax=ax[:1])


def test_reconstruction_display_from_predictions(data):
    X, S = data
    disp = ReconstructionDisplay.from_predictions(
        X, {"shrunk": 0.9 * S}, ks=(1, 2, 5, 32), sample_index=3
    )
    # k is clipped to min(m, n) = 6; rows: true and predicted values.
    assert disp.col_labels == ["k = 1", "k = 2", "k = 5", "k = 6"]
    assert disp.row_labels == ["true Σ", "shrunk Σ"]
    assert disp.images.shape == (2, 4, 6, 6)
    M = X[3].reshape(6, 6)
    np.testing.assert_allclose(disp.images[0, -1], M, atol=1e-10)
    np.testing.assert_allclose(disp.images[1, -1], 0.9 * M, atol=1e-10)
    np.testing.assert_allclose(
        disp.images[1, 1].ravel(), reconstruct(X[3:4], 0.9 * S[3:4], k=2)[0]
    )
    # One colour scale per row, that of the original matrix.
    assert disp.images_[1, 0].get_clim() == (M.min(), M.max())


def test_reconstruction_display_from_estimator(data):
    X, _ = data
    est = _Shrink()
    disp = ReconstructionDisplay.from_estimator(
        est, X, ks=(1, 6), random_state=0, name="model"
    )
    assert est.seen == [(1, 36)]
    assert disp.row_labels == ["true Σ", "model Σ"]
    assert disp.ax_.shape == (2, 2)


def test_reconstruction_display_from_reconstructions(data):
    X, S = data
    recs = {"real": X, "half": 0.5 * X.reshape(-1, 6, 6)}
    disp = ReconstructionDisplay.from_reconstructions(
        X, recs, sample_indices=[2, 5], cmap="viridis"
    )
    assert disp.ax_.shape == (2, 2)
    assert disp.col_labels == ["real", "half"]
    assert disp.row_labels == ["matrix 2", "matrix 5"]
    np.testing.assert_allclose(disp.images[1, 1], 0.5 * X[5].reshape(6, 6))
    with pytest.raises(ValueError, match=r"reconstructions\['bad'\] has shape"):
        ReconstructionDisplay.from_reconstructions(X, {"bad": X[:3]})
    with pytest.raises(ValueError, match="reconstructions is empty"):
        ReconstructionDisplay.from_reconstructions(X, {})
    with pytest.raises(ValueError, match="not a perfect square"):
        ReconstructionDisplay.from_reconstructions(X[:, :30], {"a": X[:, :30]})


def test_error_histogram_clips_outliers_into_last_bin(data):
    X, S = data
    y = 0.9 * S
    y[0] = 10 * S[0]  # one huge error
    disp = ErrorHistogramDisplay.from_predictions(S, y, bins=10, clip_quantile=0.9)
    mae_bars, _ = disp.bars_["predicted"]
    heights = [b.get_height() for b in mae_bars]
    assert sum(heights) == len(S) and heights[-1] >= 1
    top = np.quantile(mae_per_matrix(S, y), 0.9)
    assert mae_bars[-1].get_x() + mae_bars[-1].get_width() == pytest.approx(top)
    assert "last bin: all above" in disp.ax_[0].get_xlabel()
    full = ErrorHistogramDisplay.from_predictions(S, y, clip_quantile=None)
    assert full.ax_[0].get_xlabel() == "MAE per matrix"
    with pytest.raises(ValueError, match="clip_quantile must be in"):
        ErrorHistogramDisplay.from_predictions(S, y, clip_quantile=1.5)
