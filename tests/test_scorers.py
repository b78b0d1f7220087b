# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""nmse_scorer / mae_scorer: real sklearn scorers, y=None through any wrapper.

With y=None the truth is the exact singular values of the windows that reach
the final svlearn estimator; every test computes that truth by hand.
"""

import copy

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.metrics._scorer import _BaseScorer
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline

from svlearn import (
    MatrixWindowTransformer,
    MeanSpectrumRegressor,
    SingularValueRegressor,
    SVDLight,
    singular_values,
)
from svlearn.metrics import mae, mae_scorer, nmse, nmse_scorer

FAST = dict(hidden_layer_sizes=(16,), max_iter=2, batch_size=64, random_state=0)
WINDOW = dict(window_shape=(8, 8), strides=4)


_RNG = np.random.RandomState(0)
# Eight 20 x 24 low-rank images: 20 windows of 8 x 8 each.
IMAGES = (_RNG.rand(8, 20, 3) @ _RNG.rand(8, 3, 24)).astype(np.float32)


@pytest.fixture(scope="module")
def images():
    return IMAGES.copy()


def _window_pipeline(regressor=None):
    return make_pipeline(
        MatrixWindowTransformer(**WINDOW),
        regressor if regressor is not None else SingularValueRegressor(**FAST),
    )


def _by_hand(metric, fitted, images):
    """The negated loss against the exact singular values of the windows."""
    windows = MatrixWindowTransformer(**WINDOW).transform(images)
    return -metric(
        singular_values(windows, matrix_shape=(8, 8)), fitted.predict(images)
    )


def test_scorers_are_sklearn_scorers_with_a_truthful_repr():
    for scorer, name in ((nmse_scorer, "nmse"), (mae_scorer, "mae")):
        assert isinstance(scorer, _BaseScorer)
        assert repr(scorer) == f"SpectrumScorer({name}, greater_is_better=False)"
        assert "make_scorer" not in repr(scorer)


@pytest.mark.parametrize("regressor", ["network", "mean"])
def test_pipeline_fitted_without_y_scores_against_its_windows(images, regressor):
    reg = SingularValueRegressor(**FAST) if regressor == "network" else None
    if regressor == "mean":
        reg = MeanSpectrumRegressor(scaling="frobenius")
    pipe = _window_pipeline(reg).fit(images)
    assert nmse_scorer(pipe, images) == pytest.approx(_by_hand(nmse, pipe, images))
    assert mae_scorer(pipe, images) == pytest.approx(_by_hand(mae, pipe, images))


@pytest.mark.parametrize(
    "make_search",
    [
        lambda pipe: GridSearchCV(
            pipe, {"meanspectrumregressor__scaling": ["none", "frobenius"]},
            scoring=nmse_scorer, cv=2,
        ),
        lambda pipe: RandomizedSearchCV(
            pipe, {"meanspectrumregressor__scaling": ["none", "frobenius", "power"]},
            n_iter=2, scoring=nmse_scorer, cv=2, random_state=0,
        ),
        lambda pipe: HalvingGridSearchCV(
            pipe, {"meanspectrumregressor__scaling": ["none", "frobenius"]},
            scoring=nmse_scorer, cv=2, min_resources=4, factor=2,
        ),
        lambda pipe: FrozenEstimator(pipe.fit(IMAGES[:3])),
    ],
    ids=["grid", "randomized", "halving", "frozen"],
)  # fmt: skip
def test_meta_estimators_score_like_the_truth_by_hand(images, make_search):
    pipe = _window_pipeline(MeanSpectrumRegressor())
    fitted = make_search(pipe).fit(images, None)  # FrozenEstimator needs y
    score = nmse_scorer(fitted, images)
    assert np.isfinite(score)
    assert score == pytest.approx(_by_hand(nmse, fitted, images))
    if hasattr(fitted, "cv_results_"):
        assert np.all(np.isfinite(fitted.cv_results_["mean_test_score"]))


def test_nested_cross_validation_scores_each_outer_fold_by_hand(images):
    search = GridSearchCV(
        _window_pipeline(),
        {"singularvalueregressor__hidden_layer_sizes": [(8,), (16,)]},
        scoring=nmse_scorer,
        cv=2,
    )
    outer = KFold(2)
    scores = cross_val_score(search, images, scoring=nmse_scorer, cv=outer)
    assert np.all(np.isfinite(scores))
    for score, (train, test) in zip(scores, outer.split(images)):
        fitted = clone(search).fit(images[train])
        assert score == pytest.approx(_by_hand(nmse, fitted, images[test]))


def test_multimetric_scoring_gives_each_metric_its_truth(images):
    # sklearn predicts once and hands the cached prediction to both scorers.
    result = cross_validate(
        _window_pipeline(MeanSpectrumRegressor(scaling="frobenius")),
        images,
        scoring={"nmse": nmse_scorer, "mae": mae_scorer},
        cv=KFold(2),
    )
    for k, (train, test) in enumerate(KFold(2).split(images)):
        pipe = _window_pipeline(MeanSpectrumRegressor(scaling="frobenius"))
        pipe.fit(images[train])
        assert result["test_nmse"][k] == pytest.approx(
            _by_hand(nmse, pipe, images[test])
        )
        assert result["test_mae"][k] == pytest.approx(_by_hand(mae, pipe, images[test]))


def test_the_final_step_is_scored_not_an_inner_regressor(images):
    # SVDLight's own regressor predicts first, on the windows; the final
    # regressor then predicts on SVDLight's reconstructions: those are the truth.
    inner = MeanSpectrumRegressor(scaling="frobenius").fit(
        MatrixWindowTransformer(**WINDOW).transform(images).reshape(-1, 8, 8)
    )
    pipe = make_pipeline(
        MatrixWindowTransformer(**WINDOW),
        SVDLight(k=2, regressor=FrozenEstimator(inner), random_state=0),
        MeanSpectrumRegressor(scaling="frobenius", matrix_shape=(8, 8)),
    ).fit(images)
    reconstructions = pipe[:-1].transform(images)
    expected = -nmse(
        singular_values(reconstructions, matrix_shape=(8, 8)), pipe.predict(images)
    )
    assert nmse_scorer(pipe, images) == pytest.approx(expected)


def test_sample_weight_is_passed_and_routed(matrices):
    reg = MeanSpectrumRegressor(scaling="frobenius").fit(matrices)
    truth = singular_values(matrices)
    w = np.linspace(0.0, 1.0, len(matrices))
    expected = -nmse(truth, reg.predict(matrices), sample_weight=w)
    assert nmse_scorer(reg, matrices, sample_weight=w) == pytest.approx(expected)
    assert nmse_scorer(reg, matrices, sample_weight=w) != pytest.approx(
        nmse_scorer(reg, matrices)
    )
    with sklearn.config_context(enable_metadata_routing=True):
        weighted = copy.deepcopy(nmse_scorer).set_score_request(sample_weight=True)
        result = cross_validate(
            MeanSpectrumRegressor(scaling="frobenius"),
            matrices,
            scoring=weighted,
            cv=KFold(2),
            params={"sample_weight": w},
        )
    for k, (train, test) in enumerate(KFold(2).split(matrices)):
        fold = MeanSpectrumRegressor(scaling="frobenius").fit(matrices[train])
        assert result["test_score"][k] == pytest.approx(
            -nmse(truth[test], fold.predict(matrices[test]), sample_weight=w[test])
        )
    # Configuring a copy leaves the module-level scorer unchanged.
    assert weighted.get_metadata_routing().score.requests["sample_weight"] is True
    # scikit-learn < 1.7 leaves an unset request out of the dict.
    requests = nmse_scorer.get_metadata_routing().score.requests
    assert requests.get("sample_weight") is None


def test_y_none_without_an_svlearn_estimator_is_a_clear_error(matrices):
    ridge = Ridge().fit(matrices, singular_values(matrices))
    with pytest.raises(ValueError, match="made no svlearn estimator predict.*as y"):
        nmse_scorer(ridge, matrices)
    # With y given, any regressor is scored.
    y = singular_values(matrices)
    assert nmse_scorer(ridge, matrices, y) == pytest.approx(
        -nmse(y, ridge.predict(matrices))
    )
