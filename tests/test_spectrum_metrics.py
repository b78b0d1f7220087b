# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Whole-spectrum metrics: per-index relative errors and log-spectral distance.

Every expected value is computed by hand in the test.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from svlearn import MatrixWindowTransformer, MeanSpectrumRegressor, singular_values
from svlearn.metrics import (
    log_spectral_distance,
    log_spectral_distance_per_matrix,
    log_spectral_distance_scorer,
    nmse,
    nmse_scorer,
    relative_error_per_index,
    relative_errors,
    worst_index_relative_error,
    worst_index_relative_error_scorer,
)

# Three matrices of three values; the last truth has an exact zero.
Y_TRUE = np.array([[10.0, 4.0, 1.0], [10.0, 4.0, 1.0], [8.0, 2.0, 0.0]])
Y_PRED = np.array([[9.0, 5.0, 0.5], [10.0, 3.0, 2.0], [8.0, 2.0, 8e-6]])


def test_relative_errors_divide_by_each_true_value():
    expected = [
        [0.1, 0.25, 0.5],
        [0.0, 0.25, 1.0],
        # The zero is compared with the floor, 1e-6 * 8.
        [0.0, 0.0, 8e-6 / 8e-6],
    ]
    np.testing.assert_allclose(relative_errors(Y_TRUE, Y_PRED), expected)


def test_relative_errors_floor_is_relative_to_the_largest_true_value():
    # floor=1: every error is in units of s_1.
    np.testing.assert_allclose(
        relative_errors(Y_TRUE, Y_PRED, floor=1.0),
        np.abs(Y_PRED - Y_TRUE) / Y_TRUE[:, :1],
    )
    # A small true value above the floor is its own denominator.
    out = relative_errors([[1.0, 1e-3]], [[1.0, 2e-3]], floor=1e-6)
    np.testing.assert_allclose(out, [[0.0, 1.0]])


def test_relative_errors_of_a_zero_spectrum():
    out = relative_errors([[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]])
    assert out[0].tolist() == [0.0, 0.0]
    assert out[1, 0] == 0.0 and np.isinf(out[1, 1])


def test_relative_error_per_index_is_the_median_over_matrices():
    # Column errors: [0.1, 0, 0], [0.25, 0.25, 0], [0.5, 1, 1].
    np.testing.assert_allclose(relative_error_per_index(Y_TRUE, Y_PRED), [0, 0.25, 1])
    # p90 by linear interpolation: position 0.9 * 2 = 1.8 in the sorted column.
    np.testing.assert_allclose(
        relative_error_per_index(Y_TRUE, Y_PRED, quantile=0.9),
        [0.08, 0.25, 1.0],
    )
    np.testing.assert_allclose(
        relative_error_per_index(Y_TRUE, Y_PRED, quantile=0.9),
        np.quantile(relative_errors(Y_TRUE, Y_PRED), 0.9, axis=0),
    )


def test_relative_error_per_index_with_infinite_errors_is_inf_not_nan():
    y_true = [[0.0], [0.0], [1.0]]
    y_pred = [[1.0], [1.0], [1.0]]
    assert np.isinf(relative_error_per_index(y_true, y_pred)[0])
    assert np.isinf(relative_error_per_index(y_true, y_pred, quantile=0.25)[0])
    assert relative_error_per_index(y_true, y_pred, quantile=0.0)[0] == 0.0


def test_worst_index_relative_error_is_the_largest_index_quantile():
    assert worst_index_relative_error(Y_TRUE, Y_PRED) == pytest.approx(1.0)
    # Without the last index, the worst is the middle one.
    assert worst_index_relative_error(Y_TRUE[:, :2], Y_PRED[:, :2]) == 0.25
    y_true = [[4.0, 2.0]] * 5
    y_pred = [[4.0, 2.0]] * 4 + [[4.0, 4.0]]
    # One bad matrix of five: invisible to the median, seen by the maximum.
    assert worst_index_relative_error(y_true, y_pred) == 0.0
    assert worst_index_relative_error(y_true, y_pred, quantile=1.0) == 1.0


def test_worst_index_sees_a_tail_that_nmse_hides():
    # The tail is off by 50 %, yet it holds too little energy for NMSE.
    y_true = np.array([[100.0, 1.0, 0.5]])
    y_pred = np.array([[100.0, 0.5, 0.25]])
    assert nmse(y_true, y_pred) < 1e-4
    assert worst_index_relative_error(y_true, y_pred) == pytest.approx(0.5)


def test_log_spectral_distance_per_matrix_by_hand():
    out = log_spectral_distance_per_matrix(
        [[100.0, 10.0], [2.0, 1.0]], [[10.0, 10.0], [2.0, 1.0]]
    )
    np.testing.assert_allclose(out, [math.sqrt(1 / 2), 0.0])
    # A predicted 0 for a true value costs its decades above the floor.
    out = log_spectral_distance_per_matrix([[1.0, 1.0]], [[1.0, 0.0]], floor=1e-4)
    np.testing.assert_allclose(out, [math.sqrt(16 / 2)])
    # Both zero: no cost; negative predictions count as the floor.
    out = log_spectral_distance_per_matrix([[1.0, 0.0]], [[1.0, -3.0]])
    np.testing.assert_allclose(out, [0.0])


def test_log_spectral_distance_is_symmetric_in_ratio():
    # Twice and half the truth are equally far, unlike in any absolute error.
    a = log_spectral_distance([[4.0, 2.0]], [[8.0, 4.0]])
    b = log_spectral_distance([[4.0, 2.0]], [[2.0, 1.0]])
    assert a == pytest.approx(b) == pytest.approx(math.log10(2))


def test_log_spectral_distance_of_a_zero_spectrum():
    out = log_spectral_distance_per_matrix(
        [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]
    )
    assert out[0] == 0.0 and np.isinf(out[1])


def test_log_spectral_distance_mean_and_weights():
    y_true, y_pred = [[100.0, 10.0], [2.0, 1.0]], [[10.0, 10.0], [2.0, 1.0]]
    assert log_spectral_distance(y_true, y_pred) == pytest.approx(math.sqrt(0.5) / 2)
    assert log_spectral_distance(y_true, y_pred, sample_weight=[1, 0]) == pytest.approx(
        math.sqrt(0.5)
    )
    with pytest.raises(ValueError, match="inconsistent"):
        log_spectral_distance(y_true, y_pred, sample_weight=[1.0])


def test_one_dimensional_input_is_one_value_per_matrix():
    # As in nmse: a 1-D array is n_matrices spectra of one value each.
    np.testing.assert_allclose(relative_errors([2.0, 4.0], [1.0, 4.0]), [[0.5], [0.0]])
    np.testing.assert_allclose(relative_error_per_index([2.0, 4.0], [1.0, 4.0]), [0.25])


@pytest.mark.parametrize(
    "func",
    [
        relative_errors,
        relative_error_per_index,
        worst_index_relative_error,
        log_spectral_distance_per_matrix,
        log_spectral_distance,
    ],
)
def test_input_errors_name_the_problem(func):
    with pytest.raises(ValueError, match="same shape"):
        func(Y_TRUE, Y_PRED[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        func(Y_TRUE, np.full_like(Y_PRED, np.nan))
    with pytest.raises(ValueError, match="y_true must hold non-negative .* row 1"):
        func([[1.0, 0.0], [1.0, -1.0]], [[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(InvalidParameterError, match="'floor' parameter"):
        func(Y_TRUE, Y_PRED, floor=0.0)
    with pytest.raises(InvalidParameterError, match="'y_true' parameter"):
        func("spectra", Y_PRED)


@pytest.mark.parametrize("func", [relative_error_per_index, worst_index_relative_error])
@pytest.mark.parametrize("quantile", [-0.1, 1.5])
def test_quantile_outside_unit_interval_is_rejected(func, quantile):
    with pytest.raises(InvalidParameterError, match="'quantile' parameter"):
        func(Y_TRUE, Y_PRED, quantile=quantile)


@pytest.mark.parametrize(
    "scorer, metric, name",
    [
        (
            worst_index_relative_error_scorer,
            worst_index_relative_error,
            "worst_index_relative_error",
        ),
        (log_spectral_distance_scorer, log_spectral_distance, "log_spectral_distance"),
    ],
)
def test_scorers_are_negated_losses_with_and_without_y(matrices, scorer, metric, name):
    assert repr(scorer) == f"SpectrumScorer({name}, greater_is_better=False)"
    reg = MeanSpectrumRegressor(scaling="frobenius").fit(matrices)
    y = singular_values(matrices)
    expected = -metric(y, reg.predict(matrices))
    assert expected < 0
    assert scorer(reg, matrices, y) == expected
    # With y=None the exact singular values of the matrices are the truth.
    assert scorer(reg, matrices) == pytest.approx(expected)


@pytest.mark.parametrize(
    "scorer, metric",
    [
        (worst_index_relative_error_scorer, worst_index_relative_error),
        (log_spectral_distance_scorer, log_spectral_distance),
    ],
)
def test_scorers_in_cross_val_score_with_and_without_y(matrices, scorer, metric):
    y = singular_values(matrices)
    est = MeanSpectrumRegressor(scaling="frobenius")
    without_y = cross_val_score(est, matrices, cv=3, scoring=scorer)
    with_y = cross_val_score(est, matrices, y, cv=3, scoring=scorer)
    assert without_y.shape == (3,) and np.all(without_y < 0)
    np.testing.assert_allclose(without_y, with_y)
    # The fold scores are the metric on each held-out third, by hand.
    test = np.arange(200, 300)
    fold = MeanSpectrumRegressor(scaling="frobenius").fit(matrices[:200])
    truth = singular_values(matrices[test])
    assert without_y[2] == pytest.approx(-metric(truth, fold.predict(matrices[test])))


def test_scorers_in_a_search_prefer_the_better_model(matrices):
    search = GridSearchCV(
        MeanSpectrumRegressor(),
        {"scaling": ["none", "frobenius"]},
        scoring={
            "worst": worst_index_relative_error_scorer,
            "lsd": log_spectral_distance_scorer,
        },
        refit="lsd",
        cv=3,
    ).fit(matrices)
    # Scaling by the exact norm must beat the plain mean spectrum.
    assert search.best_params_ == {"scaling": "frobenius"}
    assert set(search.cv_results_) >= {"mean_test_worst", "mean_test_lsd"}


def test_multimetric_scoring_without_y_gives_each_scorer_the_windows_truth():
    # sklearn predicts once and hands the cached prediction to every scorer;
    # the truth is the exact spectra of the windows reaching the regressor.
    rng = np.random.RandomState(0)
    images = (rng.rand(6, 16, 2) @ rng.rand(6, 2, 16)).astype(np.float32)
    window = dict(window_shape=(8, 8), strides=4)

    def pipeline():
        return make_pipeline(
            MatrixWindowTransformer(**window),
            MeanSpectrumRegressor(scaling="frobenius"),
        )

    result = cross_validate(
        pipeline(),
        images,
        scoring={
            "nmse": nmse_scorer,
            "worst": worst_index_relative_error_scorer,
            "lsd": log_spectral_distance_scorer,
        },
        cv=KFold(2),
    )
    for k, (train, test) in enumerate(KFold(2).split(images)):
        pipe = pipeline().fit(images[train])
        windows = MatrixWindowTransformer(**window).transform(images[test])
        truth = singular_values(windows, matrix_shape=(8, 8))
        pred = pipe.predict(images[test])
        assert result["test_worst"][k] == pytest.approx(
            -worst_index_relative_error(truth, pred)
        )
        assert result["test_lsd"][k] == pytest.approx(
            -log_spectral_distance(truth, pred)
        )


def test_scorer_sample_weight(matrices):
    reg = MeanSpectrumRegressor(scaling="frobenius").fit(matrices)
    y = singular_values(matrices)
    w = np.linspace(0.0, 1.0, len(matrices))
    assert log_spectral_distance_scorer(reg, matrices, sample_weight=w) == (
        pytest.approx(-log_spectral_distance(y, reg.predict(matrices), sample_weight=w))
    )
    # A quantile over weighted matrices is not defined here: refused by name.
    with pytest.raises(TypeError, match="sample_weight"):
        worst_index_relative_error_scorer(reg, matrices, sample_weight=w)


# Pairs of stacks of 1-5 spectra of 1-6 values, zeros included.
def _pairs():
    values = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))
    return st.tuples(st.integers(1, 5), st.integers(1, 6)).flatmap(
        lambda shape: st.tuples(
            arrays(np.float64, shape, elements=values),
            arrays(np.float64, shape, elements=values),
        )
    )


PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(_pairs(), st.floats(1e-6, 1e6))
def test_metrics_do_not_depend_on_the_units(pair, c):
    y_true, y_pred = pair
    # Scaling rounds each value to its own ulp, so values a few ulps apart
    # (relative errors near 1e-16) change by rounding: atol covers that.
    np.testing.assert_allclose(
        relative_errors(c * y_true, c * y_pred),
        relative_errors(y_true, y_pred),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        log_spectral_distance_per_matrix(c * y_true, c * y_pred),
        log_spectral_distance_per_matrix(y_true, y_pred),
        rtol=1e-9,
        atol=1e-9,
    )


@PROPERTY
@given(_pairs(), st.floats(0.0, 1.0))
def test_quantiles_are_numpys_and_an_exact_prediction_scores_zero(pair, q):
    y_true, y_pred = pair
    errors = relative_errors(y_true, y_pred)
    per_index = relative_error_per_index(y_true, y_pred, quantile=q)
    if np.isfinite(errors).all():
        np.testing.assert_allclose(per_index, np.quantile(errors, q, axis=0))
    assert not np.isnan(per_index).any()
    assert worst_index_relative_error(y_true, y_pred, quantile=q) == per_index.max()
    assert worst_index_relative_error(y_true, y_true, quantile=q) == 0.0
    assert log_spectral_distance(y_true, y_true) == 0.0
