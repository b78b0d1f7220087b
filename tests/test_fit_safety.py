# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""A fit that raises keeps the model; bad input gets errors that say the fix."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

import svlearn
from svlearn import MeanSpectrumRegressor, SingularValueRegressor
from svlearn._baselines import RandomSpectrumBaseline
from svlearn.metrics import nmse_scorer

FAST = dict(hidden_layer_sizes=(8,), max_iter=2, batch_size=64, random_state=0)


@pytest.fixture
def X():
    return np.random.default_rng(0).random((300, 16))


def _state(est):
    """Everything a fitted regressor holds, comparable with ==."""
    out = {}
    for name, value in vars(est).items():
        if name == "net_":
            out[name] = {
                k: v.detach().clone() for k, v in value.module_.state_dict().items()
            }
            out["history_len"] = len(value.history)
        else:
            out[name] = value
    return out


def _assert_same_state(before, after):
    assert before.keys() == after.keys()
    for name in before:
        a, b = before[name], after[name]
        if (
            isinstance(a, dict)
            and a
            and isinstance(next(iter(a.values())), torch.Tensor)
        ):
            assert a.keys() == b.keys()
            for key in a:
                assert torch.equal(a[key], b[key]), (name, key)
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b or (a is b), name


@pytest.mark.parametrize(
    "bad_fit",
    [
        pytest.param(lambda est, X: est.fit(np.where(X > 0.99, np.nan, X)), id="nan"),
        pytest.param(lambda est, X: est.fit(X, np.ones((5, 4))), id="y-length"),
        pytest.param(lambda est, X: est.fit(X[:, :10]), id="not-square"),
        pytest.param(lambda est, X: est.fit(X[:0]), id="empty"),
        pytest.param(
            lambda est, X: est.set_params(hidden_layer_sizes=(0,)).fit(X),
            id="bad-hidden-sizes",
        ),
    ],
)
@pytest.mark.parametrize("warm_start", [False, True])
def test_failed_refit_keeps_the_fitted_model(X, tmp_path, bad_fit, warm_start):
    est = SingularValueRegressor(**FAST, warm_start=warm_start).fit(X)
    before_pred = est.predict(X[:20])
    before = _state(est)
    with pytest.raises(ValueError):
        bad_fit(est, X)
    est.set_params(hidden_layer_sizes=FAST["hidden_layer_sizes"])
    _assert_same_state(before, _state(est))
    np.testing.assert_array_equal(est.predict(X[:20]), before_pred)
    svlearn.save(est, tmp_path / "model.safetensors")
    loaded = svlearn.load(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(loaded.predict(X[:20]), before_pred)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_training_that_fails_halfway_leaves_the_weights(X, monkeypatch, method):
    est = SingularValueRegressor(**FAST, warm_start=True).fit(X)
    before = _state(est)
    before_pred = est.predict(X[:20])
    net_type = type(est.net_)
    original = net_type.partial_fit

    def broken(self, *args, **kwargs):
        original(self, *args, **kwargs)  # trains (changes the weights) ...
        raise RuntimeError("interrupted")  # ... then fails

    monkeypatch.setattr(net_type, "partial_fit", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        getattr(est, method)(X)
    monkeypatch.undo()
    _assert_same_state(before, _state(est))
    np.testing.assert_array_equal(est.predict(X[:20]), before_pred)


def test_failed_first_fit_leaves_an_unfitted_estimator(X):
    est = SingularValueRegressor(**FAST)
    with pytest.raises(ValueError):
        est.fit(X, np.ones((3, 4)))
    assert not hasattr(est, "net_") and not hasattr(est, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_failed_refit_keeps_the_mean_spectrum(X):
    est = MeanSpectrumRegressor(scaling="subspace").fit(X)
    before = est.predict(X[:10])
    with pytest.raises(ValueError):
        est.fit(np.full((4, 16), np.nan))
    assert est.n_features_in_ == 16
    np.testing.assert_array_equal(est.predict(X[:10]), before)


@pytest.mark.parametrize("cls", [SingularValueRegressor, MeanSpectrumRegressor])
@pytest.mark.parametrize("empty", [np.empty((0, 16)), np.empty((0, 4, 4)), []])
def test_empty_batch_error_says_no_matrices(X, cls, empty):
    params = FAST if cls is SingularValueRegressor else {}
    with pytest.raises(ValueError, match="holds no matrices.*fit needs"):
        cls(**params).fit(empty)
    est = cls(**params).fit(X)
    with pytest.raises(ValueError, match="holds no matrices.*predict needs"):
        est.predict(empty)


@pytest.mark.parametrize("cls", [SingularValueRegressor, MeanSpectrumRegressor])
def test_single_matrix_without_batch_axis_gets_a_hint(X, cls):
    params = FAST if cls is SingularValueRegressor else {}
    est = cls(**params).fit(X.reshape(-1, 4, 4))
    with pytest.raises(ValueError, match=r"X\[None\]"):
        est.predict(X[0].reshape(4, 4))
    # The hint's fix works.
    assert est.predict(X[0].reshape(4, 4)[None]).shape == (1, 4)


@pytest.mark.parametrize("cls", [SingularValueRegressor, MeanSpectrumRegressor])
def test_stack_of_other_matrices_is_refused(cls):
    X = np.random.default_rng(0).random((300, 36))
    params = FAST if cls is SingularValueRegressor else {}
    est = cls(**params).fit(X)
    with pytest.raises(ValueError, match=r"\(4, 9\) matrices.*\(6, 6\)"):
        est.predict(X[:5].reshape(5, 4, 9))


@pytest.mark.parametrize("cls", [SingularValueRegressor, MeanSpectrumRegressor])
def test_score_without_y_uses_exact_singular_values(X, cls):
    params = FAST if cls is SingularValueRegressor else {}
    est = cls(**params).fit(X)
    exact = svlearn.singular_values(X[:50], matrix_shape=(4, 4))
    assert est.score(X[:50]) == pytest.approx(est.score(X[:50], exact))


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_squared_error"])
def test_string_scorers_without_y_name_the_svlearn_scorer(X, scoring):
    est = SingularValueRegressor(**FAST, calibration_fraction=0)
    with pytest.raises(ValueError, match="nmse_scorer"):
        cross_val_score(est, X, scoring=scoring, cv=2, error_score="raise")
    # Refused in fit, before training: with the default error_score every
    # fit fails, and scikit-learn's error carries the same message.
    with pytest.raises(ValueError, match="nmse_scorer"):
        cross_val_score(est, X, scoring=scoring, cv=2)
    with pytest.raises(ValueError, match="nmse_scorer"):
        GridSearchCV(est, {"alpha": [0.0]}, scoring=scoring, cv=2).fit(X)
    # svlearn's scorer and string scorers with y keep working.
    assert np.isfinite(cross_val_score(est, X, scoring=nmse_scorer, cv=2)).all()
    y = svlearn.singular_values(X, matrix_shape=(4, 4))
    assert np.isfinite(cross_val_score(est, X, y, scoring=scoring, cv=2)).all()


def test_fit_warns_when_too_few_matrices_to_calibrate(X):
    with pytest.warns(UserWarning, match=r"holds out 30, fewer than the 197.*1970"):
        est = SingularValueRegressor(**FAST).fit(X)
    assert not hasattr(est, "error_coef_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SingularValueRegressor(**FAST, calibration_fraction=0).fit(X)
        SingularValueRegressor(**FAST, coverage=0.9).fit(X)  # 30 >= 20 needed


def test_random_spectrum_baseline_gives_the_same_draws_every_call():
    base = RandomSpectrumBaseline(random_state=0).fit(None, [[3.0, 1.0]])
    first = base.predict(np.zeros((10, 4)))
    np.testing.assert_array_equal(base.predict(np.zeros((10, 4))), first)
    assert base.get_params() == {"random_state": 0}


@pytest.mark.parametrize("cls", [SingularValueRegressor, MeanSpectrumRegressor])
def test_targets_that_are_not_the_spectra_of_X_are_warned_about(X, cls):
    params = (
        {**FAST, "calibration_fraction": 0} if cls is SingularValueRegressor else {}
    )
    y = svlearn.singular_values(X, matrix_shape=(4, 4))
    shuffled = y[np.random.default_rng(1).permutation(len(y))]
    with pytest.warns(svlearn.TrainingDataWarning, match=r"on \d+ of 300 rows"):
        cls(**params).fit(X, shuffled)
    with pytest.warns(svlearn.TrainingDataWarning, match="not rescaled"):
        cls(**params).fit(X, y / 255)
    # The exact spectra, rounded to float32 or to 5 significant digits, and a
    # few wrong rows pass silently.
    nearly = y.copy()
    nearly[:3] = nearly[:3] * 2
    for given in (y.astype(np.float32), np.round(y, 4), nearly):
        with warnings.catch_warnings():
            warnings.simplefilter("error", svlearn.TrainingDataWarning)
            cls(**params).fit(X, given)


@pytest.mark.parametrize("cls", [SingularValueRegressor, MeanSpectrumRegressor])
def test_degenerate_training_sets_are_warned_about(cls):
    params = (
        {**FAST, "calibration_fraction": 0} if cls is SingularValueRegressor else {}
    )
    with pytest.warns(svlearn.TrainingDataWarning, match="is zero"):
        cls(**params).fit(np.zeros((50, 16)))
    with pytest.warns(svlearn.TrainingDataWarning, match="the same matrix"):
        cls(**params).fit(np.tile(np.arange(16.0), (50, 1)))
