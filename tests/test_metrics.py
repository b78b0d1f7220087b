# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from svlearn import MeanSpectrumRegressor, singular_values
from svlearn.metrics import (
    mae,
    mae_per_matrix,
    mae_scorer,
    nmse,
    nmse_per_matrix,
    nmse_scorer,
)

Y_TRUE = np.array([[4.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
Y_PRED = np.array([[3.0, 2.0, 0.0], [3.0, 1.0, 0.0]])


def test_nmse_is_per_matrix_eq1_then_averaged():
    per = nmse_per_matrix(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(per, [2 / 21, 1 / 9])
    assert nmse(Y_TRUE, Y_PRED) == pytest.approx((2 / 21 + 1 / 9) / 2)
    # Not the pooled ratio, which weights large matrices more.
    pooled = ((Y_TRUE - Y_PRED) ** 2).sum() / (Y_TRUE**2).sum()
    assert nmse(Y_TRUE, Y_PRED) != pytest.approx(pooled)
    assert nmse(Y_TRUE, Y_PRED, sample_weight=[1, 0]) == pytest.approx(2 / 21)


def test_mae_is_per_matrix_mean_then_averaged():
    np.testing.assert_allclose(mae_per_matrix(Y_TRUE, Y_PRED), [2 / 3, 1 / 3])
    assert mae(Y_TRUE, Y_PRED) == pytest.approx(mean_absolute_error(Y_TRUE, Y_PRED))
    assert mae(Y_TRUE, Y_PRED, sample_weight=[1, 0]) == pytest.approx(2 / 3)
    assert mae(Y_TRUE, Y_PRED, sample_weight=[1, 3]) == pytest.approx(5 / 12)


def test_zero_spectrum():
    assert nmse_per_matrix([[0.0, 0.0]], [[0.0, 0.0]])[0] == 0
    assert np.isinf(nmse_per_matrix([[0.0, 0.0]], [[1.0, 0.0]])[0])


def test_metric_input_errors():
    with pytest.raises(ValueError, match="same shape"):
        nmse(Y_TRUE, Y_PRED[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        mae(Y_TRUE, np.full_like(Y_PRED, np.nan))
    with pytest.raises(ValueError, match="inconsistent"):
        nmse(Y_TRUE, Y_PRED, sample_weight=[1.0])


def test_scorers_are_negated_losses(matrices):
    reg = MeanSpectrumRegressor().fit(matrices)
    y = singular_values(matrices)
    assert nmse_scorer(reg, matrices, y) == -nmse(y, reg.predict(matrices))
    assert mae_scorer(reg, matrices, y) == -mae(y, reg.predict(matrices))
    # With y=None the exact singular values are the truth.
    assert nmse_scorer(reg, matrices) == nmse_scorer(reg, matrices, y)


def test_scorer_without_y_decomposes_what_reaches_the_final_step(matrices):
    pipe = make_pipeline(FunctionTransformer(np.square), MeanSpectrumRegressor())
    pipe.fit(matrices)
    truth = singular_values(np.square(matrices))
    assert nmse_scorer(pipe, matrices) == pytest.approx(
        -nmse(truth, pipe.predict(matrices))
    )
    # The untransformed matrices would give another answer.
    assert nmse_scorer(pipe, matrices) != pytest.approx(
        -nmse(singular_values(matrices), pipe.predict(matrices))
    )


def test_scorers_in_cross_validation_and_search(matrices):
    scores = cross_val_score(
        MeanSpectrumRegressor(), matrices, cv=3, scoring=nmse_scorer
    )
    assert scores.shape == (3,) and np.all(scores < 0)
    search = GridSearchCV(
        MeanSpectrumRegressor(),
        {"scaling": ["none", "frobenius"]},
        scoring={"nmse": nmse_scorer, "mae": mae_scorer},
        refit="nmse",
        cv=3,
    ).fit(matrices)
    # Scaling by the exact norm must beat the plain mean spectrum.
    assert search.best_params_ == {"scaling": "frobenius"}
    assert set(search.cv_results_) >= {"mean_test_nmse", "mean_test_mae"}
