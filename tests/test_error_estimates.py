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


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (1, 5), (5, 1)])
def test_log_det_gap_is_zero_for_the_exact_spectrum(shape):
    from svlearn._calibration import log_det_gap

    X = np.random.default_rng(0).standard_normal((40, shape[0] * shape[1]))
    S = singular_values(X, matrix_shape=shape)
    np.testing.assert_allclose(log_det_gap(X, shape, S), 0.0, atol=1e-8)
    # Halving every value lowers the mean log ratio by about log(2) (the
    # floor, 1e-6 of ||A||_F, hardly moves values this far above it).
    np.testing.assert_allclose(log_det_gap(X, shape, S / 2), -np.log(2), atol=1e-6)


def test_log_det_gap_counts_zeros_at_the_floor_and_sees_a_tail_above_them():
    from svlearn._calibration import LOG_DET_FLOOR, log_det_gap

    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    V, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    s = np.array([3.0, 2.0, 1.0, 0.5, 0.0, 0.0])
    A = (U * s) @ V.T
    norm = np.linalg.norm(s)
    # Exact zeros predicted as zeros: no gap (both sides at the floor; the
    # Gram matrix's rounding, 1e-16, moves the floor's 1e-12 by 1e-4).
    assert abs(log_det_gap(A.reshape(1, -1), (6, 6), s[None])[0]) < 1e-5
    # A tail of 1e-2 ||A||_F above the two zeros: each adds
    # log(1e-2 / LOG_DET_FLOOR) to the sum, of 6 values.
    tail = s.copy()
    tail[4:] = 1e-2 * norm
    expected = 2 * np.log(np.hypot(1e-2, LOG_DET_FLOOR) / LOG_DET_FLOOR) / 6
    gap = log_det_gap(A.reshape(1, -1), (6, 6), tail[None])[0]
    assert gap == pytest.approx(expected, abs=1e-5)
    # Values far below the floor on either side count as the floor.
    tiny = s.copy()
    tiny[4:] = 1e-12 * norm
    assert abs(log_det_gap(A.reshape(1, -1), (6, 6), tiny[None])[0]) < 1e-5


def test_log_det_gap_is_invariant_to_sign_transposition_and_scale():
    from svlearn._calibration import log_det_gap

    X = np.random.default_rng(1).standard_normal((30, 36))
    S = singular_values(X, matrix_shape=(6, 6))
    P = S * np.linspace(0.9, 1.2, 6)  # a wrong spectrum: a nonzero gap
    gap = log_det_gap(X, (6, 6), P)
    transposed = X.reshape(-1, 6, 6).transpose(0, 2, 1).reshape(len(X), -1)
    for other, pred in ((-X, P), (transposed, P), (X * 1e-30, P * 1e-30)):
        np.testing.assert_allclose(log_det_gap(other, (6, 6), pred), gap, atol=1e-9)
    np.testing.assert_allclose(log_det_gap(X * 1e30, (6, 6), P * 1e30), gap, atol=1e-9)


def _truncated(X, rank):
    A = X.reshape(-1, 6, 6)
    U, s, Vt = np.linalg.svd(A)
    s[:, rank:] = 0
    return ((U * s[:, None, :]) @ Vt).reshape(len(X), -1)


def _most(reg, X):
    from svlearn import _trust
    from svlearn._calibration import certified_nmse

    out = reg._predict_all(reg._validate_new_X(X, check_finite=True))
    lower, upper, energy = _trust.certified(X, out, reg.n_outputs_)
    return certified_nmse(out.pred, lower, upper, energy)[1]


def test_spectra_that_miss_the_log_determinant_get_the_most_their_bounds_allow(
    calibrated,
):
    from svlearn._calibration import log_det_gap

    reg, X = calibrated
    low, high = reg.log_det_range_
    # In distribution about 1 - coverage of the matrices lie outside.
    pred = reg.predict(X)
    gap = log_det_gap(X, (6, 6), pred)
    assert np.mean((gap < low) | (gap > high)) <= 0.03
    # Rank 5: the predicted sixth value sits far above its zero.
    deficient = _truncated(X[:200], 5)
    pred, error = reg.predict(deficient, return_error=True)
    gap = log_det_gap(deficient, (6, 6), pred)
    atypical = (gap < low) | (gap > high)
    assert atypical.mean() >= 0.9
    most = _most(reg, deficient)
    np.testing.assert_array_equal(error[atypical], most[atypical])
    # Without the check (a model file from before it) they are estimated lower.
    unchecked = copy.copy(reg)
    del unchecked.log_det_range_
    _, before = unchecked.predict(deficient, return_error=True)
    assert np.median(before[atypical]) < np.median(error[atypical])


def test_max_error_checks_the_log_determinant_of_the_rows_it_accepts(calibrated):
    reg, X = calibrated
    deficient = _truncated(X[:200], 5)
    stack = np.vstack([X[:200], deficient])
    _, estimates = reg.predict(stack, return_error=True)
    guarded = copy.copy(reg).set_params(max_error=1e-3)
    out = svlearn._trust.guarded(guarded, guarded._validate_new_X(stack))
    first = out.tier == 0
    # The rows the first tier accepts carry the estimate return_error gives.
    np.testing.assert_array_equal(out.error[first], estimates[first])
    assert np.all(estimates[first] <= 1e-3)
    true = nmse_per_matrix(singular_values(stack), out.pred)
    assert np.mean(true[len(X[:200]) :] > 1e-3) <= 0.01
