# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""predict_interval: certified bounds and calibrated per-value intervals."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svlearn
from svlearn import SingularValueRegressor, _trust, singular_values
from svlearn._calibration import certified_nmse, estimate_error
from svlearn.metrics import nmse_per_matrix

SHAPE = (8, 8)
FAST = dict(hidden_layer_sizes=(16,), max_iter=5, batch_size=64, random_state=0)


def _planted(n, rng):
    """8 x 8 matrices with planted, image-like decaying spectra."""
    decay = rng.uniform(0.3, 0.8, (n, 1))
    s = decay ** np.arange(8) * rng.uniform(0.5, 2.0, (n, 1))
    U = np.linalg.qr(rng.standard_normal((n, 8, 8)))[0]
    V = np.linalg.qr(rng.standard_normal((n, 8, 8)))[0]
    return ((U * s[:, None, :]) @ V.transpose(0, 2, 1)).reshape(n, -1), s


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X, _ = _planted(3000, rng)
    reg = SingularValueRegressor(calibration_fraction=0.3, **FAST).fit(X)
    return reg


def test_calibrated_intervals_cover_planted_values_at_every_index(fitted):
    X, S = _planted(2000, np.random.default_rng(1))
    low, high = fitted.predict_interval(X)
    lower, upper = fitted.predict_interval(X, certified=True)
    assert low.shape == high.shape == (2000, 8)
    covered = ((low <= S) & (S <= high)).mean(axis=0)
    # Split-conformal at 0.99 on 900 held-out matrices, per index: 0.99 up to
    # sampling noise on fresh exchangeable matrices.
    assert covered.min() >= 0.97, covered
    # Inside the certified bounds, and narrower than them: informative.
    assert np.all(lower <= low) and np.all(high <= upper)
    assert np.median(high - low) < 0.8 * np.median(upper - lower)


@settings(max_examples=30, deadline=None)
@given(
    rank=st.integers(0, 8),
    log_scale=st.sampled_from([-35, -8, 0, 8, 35]),
    equal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_certified_bounds_hold_on_adversarial_matrices(
    fitted, rank, log_scale, equal, seed
):
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((8, 8)))[0][:, :rank]
    V = np.linalg.qr(rng.standard_normal((8, 8)))[0][:, :rank]
    s = np.ones(rank) if equal else np.sort(rng.random(rank))[::-1] + 1e-3
    X = ((U * s) @ V.T * 10.0**log_scale).reshape(1, -1)
    S = singular_values(X)
    lower, upper = fitted.predict_interval(X, certified=True)
    assert np.all(lower <= S) and np.all(S <= upper)
    low, high = fitted.predict_interval(X)
    assert np.all(lower <= low) and np.all(high <= upper)
    pred = fitted.predict(X)
    assert np.all(lower <= pred) and np.all(pred <= upper)


def test_rank_at_most_k_gives_point_intervals(fitted):
    rng = np.random.default_rng(2)
    X = (rng.standard_normal((20, 8, 3)) @ rng.standard_normal((20, 3, 8))).reshape(
        20, -1
    )
    S = singular_values(X)
    lower, upper = fitted.predict_interval(X, certified=True)
    scale = S[:, :1]
    np.testing.assert_allclose(lower, S, atol=1e-4 * scale.max())
    np.testing.assert_allclose(upper, S, atol=1e-4 * scale.max())


def test_estimates_stay_within_what_the_certified_bounds_say(fitted):
    X, S = _planted(300, np.random.default_rng(3))
    pred, error = fitted.predict(X, return_error=True)
    lower, upper = fitted.predict_interval(X, certified=True)
    energy = (S**2).sum(axis=1)
    least, most = certified_nmse(pred, lower, upper, energy)
    assert np.all(error <= most * (1 + 1e-6)) and np.all(error >= least)
    assert np.all(nmse_per_matrix(S, pred) <= most * (1 + 1e-6))


def test_unfamiliar_features_get_the_certified_maximum():
    features = np.array([[1.0, -5.0], [1.0, 3.0]])
    bounds = np.array([[1.0, -9.0], [1.0, 0.0]])
    certified = (np.zeros(2), np.array([0.5, 0.25]))
    error = estimate_error(features, np.array([-20.0, 1.0]), 0.0, certified, bounds)
    assert error[0] < 1e-8
    assert error[1] == 0.25


def test_one_by_n_matrices_get_intervals_of_predicts_shape():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((600, 7))
    norms = np.linalg.norm(X, axis=1)
    # A 1-D y gives 1-D predictions, and intervals of the same shape.
    reg = SingularValueRegressor(
        matrix_shape=(1, 7), calibration_fraction=0.5, **FAST
    ).fit(X, norms)
    lower, upper = reg.predict_interval(X[:10], certified=True)
    assert lower.shape == upper.shape == reg.predict(X[:10]).shape == (10,)
    # One value, the norm: the iteration's one Ritz value is exact.
    np.testing.assert_allclose(lower, norms[:10], rtol=1e-4)
    np.testing.assert_allclose(upper, norms[:10], rtol=1e-4)
    assert reg.predict_interval(X[:10])[0].shape == (10,)


def test_calibrated_intervals_need_a_calibration(fitted):
    X, _ = _planted(300, np.random.default_rng(5))
    reg = SingularValueRegressor(calibration_fraction=0.0, **FAST).fit(X)
    with pytest.raises(ValueError, match="need a calibrated model"):
        reg.predict_interval(X)
    lower, upper = reg.predict_interval(X, certified=True)
    assert np.all(lower <= upper)
    with pytest.raises(TypeError, match="certified must be a bool, got 'yes'"):
        fitted.predict_interval(X, certified="yes")
    # partial_fit moves the model: its intervals are forgotten with the rest.
    other = copy.deepcopy(fitted)
    other.partial_fit(X)
    assert not hasattr(other, "interval_multipliers_")
    with pytest.raises(ValueError, match="need a calibrated model"):
        other.predict_interval(X)


def test_intervals_and_tiers_survive_save_and_load(fitted, tmp_path):
    X, _ = _planted(100, np.random.default_rng(6))
    reg = copy.deepcopy(fitted).set_params(max_error=1e-4)
    path = tmp_path / "model.svl"
    svlearn.save(reg, path)
    loaded = svlearn.load(path)
    for certified in (False, True):
        for a, b in zip(
            loaded.predict_interval(X, certified=certified),
            reg.predict_interval(X, certified=certified),
        ):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        _trust.guarded(loaded, X).tier, _trust.guarded(reg, X).tier
    )
