# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Per-matrix error estimates, their calibration and the exact fallback."""

import copy
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ONE_BLAS_THREAD, one_blas_thread
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

import svlearn
from svlearn import MatrixWindowTransformer, SingularValueRegressor, singular_values
from svlearn.metrics import nmse_per_matrix, nmse_scorer

FAST = dict(hidden_layer_sizes=(16,), max_iter=5, batch_size=64, random_state=0)


def _natural_and_noise(n, rng):
    """6 x 6 matrices: smooth, image-like ones and pure noise, half each."""
    t = np.linspace(0, 1, 6)
    smooth = np.empty((n, 6, 6))
    for i in range(n):
        a, b = rng.uniform(0.5, 2, 2)
        smooth[i] = np.outer(np.cos(a * t), np.sin(b * t + 1)) + 0.05 * rng.random(
            (6, 6)
        )
    return smooth.reshape(n, -1), rng.standard_normal((n, 36))


@pytest.fixture(scope="module")
def calibrated():
    rng = np.random.default_rng(0)
    smooth, _ = _natural_and_noise(3000, rng)
    reg = SingularValueRegressor(calibration_fraction=0.3, **FAST).fit(smooth[:2000])
    return reg, smooth[2000:]


def test_estimates_cover_the_true_error_at_the_coverage_level(calibrated):
    reg, X = calibrated
    pred, error = reg.predict(X, return_error=True)
    true = nmse_per_matrix(singular_values(X), pred)
    assert error.shape == (len(X),) and np.all(error >= 0)
    covered = np.mean(true <= error)
    # Split-conformal at coverage 0.99 with ~450 calibration residuals: the
    # coverage on fresh exchangeable matrices is 0.99 up to sampling noise.
    assert covered >= 0.97, covered
    # Informative, not a constant bound: the estimates rank the errors.
    order = np.argsort(error)
    assert true[order[-100:]].mean() > 3 * true[order[:100]].mean()


@pytest.fixture(scope="module")
def calibrated_subspace():
    """The earlier default head, whose network sees the flattened matrix."""
    rng = np.random.default_rng(0)
    smooth, _ = _natural_and_noise(3000, rng)
    reg = SingularValueRegressor(
        head="subspace", n_components=3, n_iter=2, calibration_fraction=0.3, **FAST
    ).fit(smooth[:2000])
    return reg, smooth[2000:]


def test_estimates_flag_matrices_unlike_the_training_data(calibrated_subspace):
    reg, X = calibrated_subspace
    _, noise = _natural_and_noise(300, np.random.default_rng(1))
    _, in_distribution = reg.predict(X, return_error=True)
    pred, shifted = reg.predict(noise, return_error=True)
    true = nmse_per_matrix(singular_values(noise), pred)
    assert np.median(shifted) > 10 * np.median(in_distribution)
    assert np.mean(true <= shifted) >= 0.9


def test_ritz_head_estimates_flag_shifted_matrices_and_the_fallback_catches_them(
    calibrated,
):
    # The default head errs less on pure noise than the subspace head, and its
    # estimates there are less conservative: they rise by orders of magnitude
    # (the leftover-energy slope is fixed at 1), cover most true errors, and
    # max_error=1e-3 lets few of the bad matrices through.
    reg, X = calibrated
    _, noise = _natural_and_noise(300, np.random.default_rng(1))
    _, in_distribution = reg.predict(X, return_error=True)
    pred, shifted = reg.predict(noise, return_error=True)
    true = nmse_per_matrix(singular_values(noise), pred)
    assert np.median(shifted) > 100 * np.median(in_distribution)
    assert np.mean(true <= shifted) >= 0.6
    slipped = (true > 1e-3) & (shifted <= 1e-3)
    assert np.mean(slipped) <= 0.05


def test_max_error_replaces_only_the_flagged_rows(calibrated):
    reg, X = calibrated
    _, noise = _natural_and_noise(100, np.random.default_rng(2))
    X = np.vstack([X[:200], noise])
    plain, error = reg.predict(X, return_error=True)
    threshold = float(np.quantile(error, 0.6))
    # max_error acts at predict time: no refit needed to change it.
    guarded = copy.deepcopy(reg).set_params(max_error=threshold)
    out, out_error = guarded.predict(X, return_error=True)
    redo = error > threshold
    assert 0 < redo.sum() < len(X)
    np.testing.assert_array_equal(out[~redo], plain[~redo])
    np.testing.assert_array_equal(out_error[~redo], error[~redo])
    # Flagged rows are refined (an estimate within max_error) or exact; on
    # 6 x 6 matrices the refinement's 6 vectors span the whole space, so it
    # is exact to rounding and accepts them all.
    assert np.all(out_error[redo] <= threshold)
    true = nmse_per_matrix(singular_values(X[redo]), out[redo])
    assert true.max() <= 1e-10
    np.testing.assert_array_equal(guarded.predict(X), out)


def test_max_error_zero_gives_exact_singular_values(calibrated):
    reg, X = calibrated
    exact = copy.deepcopy(reg).set_params(max_error=0.0)
    np.testing.assert_allclose(exact.predict(X[:50]), singular_values(X[:50]))


def test_calibrate_after_partial_fit_and_refusal_before():
    rng = np.random.default_rng(3)
    smooth, _ = _natural_and_noise(800, rng)
    reg = SingularValueRegressor(**FAST)
    reg.partial_fit(smooth[:400])
    with pytest.raises(ValueError, match="calibrate\\(\\) after partial_fit"):
        reg.predict(smooth[400:], return_error=True)
    reg.calibrate(smooth[400:700])
    assert reg.n_calibration_ == 300
    _, error = reg.predict(smooth[700:], return_error=True)
    assert np.all(np.isfinite(error)) and np.all(error > 0)
    reg.partial_fit(smooth[:400])  # the model moved: the estimates are stale
    assert not hasattr(reg, "error_coef_")
    with pytest.raises(ValueError, match="at least 197 held-out matrices, got 196"):
        reg.calibrate(smooth[:196])
    reg.set_params(coverage=0.9).calibrate(smooth[:30])  # 9 / 0.1 -> 17 (and 20)


def test_no_calibration_without_enough_held_out_matrices(matrices):
    reg = SingularValueRegressor(calibration_fraction=0.0, **FAST).fit(matrices)
    assert not hasattr(reg, "error_coef_")
    # 10% of 300 is too few for coverage 0.99: nothing is held out.
    reg = SingularValueRegressor(**FAST).fit(matrices)
    assert (
        not hasattr(reg, "error_coef_")
        and reg.net_.history[-1, "train_batch_count"] == 5
    )
    with pytest.raises(ValueError, match="need a calibrated model"):
        reg.set_params(max_error=1e-3).predict(matrices)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_error": -1e-3}, "'max_error' parameter"),
        ({"coverage": 1.0}, "'coverage' parameter"),
        ({"coverage": 0.0}, "'coverage' parameter"),
        ({"calibration_fraction": 1.0}, "'calibration_fraction' parameter"),
        ({"max_error": "tight"}, "'max_error' parameter"),
    ],
)
def test_invalid_error_parameters(params, match, matrices):
    with pytest.raises(InvalidParameterError, match=match):
        SingularValueRegressor(**{**FAST, **params}).fit(matrices)


def test_max_error_is_searchable_in_a_windowing_pipeline():
    from svlearn.datasets import load_sample_windows

    images = load_sample_windows(window_shape=(8, 8), strides=(8, 8))
    stack = images.X_train[:600].reshape(-1, 8, 8)  # 1,200 windows per fold
    pipe = make_pipeline(
        MatrixWindowTransformer(window_shape=(4, 4), strides=(4, 4)),
        SingularValueRegressor(calibration_fraction=0.3, **FAST),
    )
    search = GridSearchCV(
        pipe,
        {"singularvalueregressor__max_error": [None, 0.0]},
        scoring=nmse_scorer,
        cv=2,
    ).fit(stack)
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] == pytest.approx(0.0, abs=1e-20)  # exact: no error at all
    assert scores[0] < 0
    assert search.best_params_ == {"singularvalueregressor__max_error": 0.0}


def test_error_model_survives_save_and_load(calibrated, tmp_path):
    reg, X = calibrated
    reg = copy.deepcopy(reg).set_params(max_error=1e-4)
    path = tmp_path / "model.svl"
    svlearn.save(reg, path)
    np.save(tmp_path / "X.npy", X[:100])
    code = (
        "import numpy as np, svlearn;"
        f"m = svlearn.load({str(path)!r});"
        f"p, e = m.predict(np.load({str(tmp_path / 'X.npy')!r}), return_error=True);"
        f"np.save({str(tmp_path / 'out.npy')!r}, np.column_stack([p, e]))"
    )
    env = {**os.environ, **ONE_BLAS_THREAD}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    with one_blas_thread():
        pred, error = reg.predict(X[:100], return_error=True)
    np.testing.assert_array_equal(
        np.load(tmp_path / "out.npy"), np.column_stack([pred, error])
    )


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gram_moment_is_the_fourth_moment_of_the_normalised_spectrum(shape, dtype):
    from svlearn._calibration import gram_moment

    X = np.random.default_rng(0).standard_normal((50, shape[0] * shape[1]))
    X = X.astype(dtype)
    norms = np.linalg.norm(X.astype(np.float64), axis=1)
    S = singular_values(X.astype(np.float64), matrix_shape=shape)
    expected = (S**4).sum(axis=1) / norms**4
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram_moment(X, shape, norms), expected, rtol=rtol)
    # A zero matrix has moment 0, not 0 / 0.
    zero = gram_moment(np.zeros((1, X.shape[1]), dtype), shape, np.zeros(1))
    np.testing.assert_array_equal(zero, [0.0])
