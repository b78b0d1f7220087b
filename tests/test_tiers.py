# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The tiered fallback of max_error: the refinement route and the tiers."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svlearn import SingularValueRegressor, _trust, singular_values
from svlearn._calibration import certified_nmse
from svlearn._tiers import (
    EXACT,
    FIRST,
    LEGACY_REFINE,
    REFINE,
    REFINED,
    refined_spectra,
    tiered,
)
from svlearn.metrics import nmse_per_matrix

SHAPE = (12, 12)
FAST = dict(hidden_layer_sizes=(16,), max_iter=5, batch_size=64, random_state=0)


def _smooth(n, rng, shape=SHAPE):
    """Image-like matrices: a smooth low-rank part plus a little noise."""
    m, k = shape
    t, u = np.linspace(0, 1, m), np.linspace(0, 1, k)
    a, b = rng.uniform(0.5, 3, (2, n, 1))
    A = np.cos(a[:, :, None] * t[None, :, None]) * np.sin(b[:, :, None] * u + 1)
    A = A + 0.3 * np.cos(2 * a[:, :, None] * t[None, :, None]) * np.cos(3 * u)
    return (A + 0.05 * rng.random((n, m, k))).reshape(n, -1)


def _low_rank(n, rank, rng, shape=SHAPE):
    m, k = shape
    return (
        rng.standard_normal((n, m, rank)) @ rng.standard_normal((n, rank, k))
    ).reshape(n, -1)


@pytest.fixture(scope="module")
def guarded():
    rng = np.random.default_rng(0)
    reg = SingularValueRegressor(calibration_fraction=0.3, **FAST)
    reg.fit(_smooth(2000, rng))
    return reg


def test_refined_route_is_exact_on_matrices_of_rank_at_most_its_vectors():
    X = _low_rank(20, 8, np.random.default_rng(1))
    out = refined_spectra(X, SHAPE, np.full(4, 0.5))
    S = singular_values(X, matrix_shape=SHAPE)
    np.testing.assert_allclose(out.pred, S, atol=1e-4 * S[:, :1].max())
    _, most = certified_nmse(out.pred, out.lower, out.upper, out.energy)
    assert most.max() < 1e-8


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from([(12, 12), (9, 14), (16, 10), (1, 20)]),
    rank=st.integers(0, 12),
    log_scale=st.sampled_from([-30, -6, 0, 6, 30]),
    equal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_refined_bounds_hold_on_adversarial_matrices(
    shape, rank, log_scale, equal, seed
):
    rng = np.random.default_rng(seed)
    m, n = shape
    rank = min(rank, m, n)
    U = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :rank]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0][:, :rank]
    s = np.ones(rank) if equal else np.sort(rng.random(rank))[::-1] + 1e-3
    A = (U * s) @ V.T * 10.0**log_scale
    X = A.reshape(1, -1)
    k = min(8, m, n)
    out = refined_spectra(
        X, shape, np.full(min(m, n) - k, 1 / np.sqrt(max(1, min(m, n) - k)))
    )
    S = np.linalg.svd(A, compute_uv=False)[None]
    assert np.all(out.lower <= S) and np.all(S <= out.upper)
    assert np.all(out.lower <= out.pred) and np.all(out.pred <= out.upper)
    least, most = certified_nmse(out.pred, out.lower, out.upper, out.energy)
    true = nmse_per_matrix(S, out.pred)
    assert np.all(least <= true + 1e-12) and np.all(true <= most + 1e-12)


def test_tiered_gives_each_row_the_first_tier_that_accepts_it():
    pred = np.zeros((5, 1))
    error = np.array([0.0, 1.0, 1.0, 1.0, 0.5])
    calls = []

    def refine(rows):
        calls.append(("refine", list(rows)))
        # Accepts rows 1 and 4 (estimate below the threshold), not 2 and 3.
        return np.full((len(rows), 1), 1.0), np.where(np.isin(rows, [1, 4]), 0.1, 0.9)

    def exact(rows):
        calls.append(("exact", list(rows)))
        return np.full((len(rows), 1), 2.0), np.zeros(len(rows))

    out, err, tier = tiered(pred, error, 0.2, [(REFINED, refine), (EXACT, exact)])
    assert calls == [("refine", [1, 2, 3, 4]), ("exact", [2, 3])]
    np.testing.assert_array_equal(tier, [FIRST, REFINED, EXACT, EXACT, REFINED])
    np.testing.assert_array_equal(out[:, 0], [0.0, 1.0, 2.0, 2.0, 1.0])
    np.testing.assert_array_equal(err, [0.0, 0.1, 0.0, 0.0, 0.1])


def test_every_tier_rows_match_its_route(guarded):
    rng = np.random.default_rng(2)
    # Smooth matrices, noise the refinement handles, and noise it does not.
    X = np.vstack(
        [_smooth(300, rng), _low_rank(60, 6, rng), rng.standard_normal((60, 144))]
    )
    plain, error = guarded.predict(X, return_error=True)
    threshold = float(np.quantile(error, 0.5))
    reg = copy.deepcopy(guarded).set_params(max_error=threshold)
    out = _trust.guarded(reg, X)
    counts = np.bincount(out.tier, minlength=3)
    assert (counts > 0).all(), counts
    first, refined, exact = (np.flatnonzero(out.tier == t) for t in (0, 1, 2))
    np.testing.assert_array_equal(out.pred[first], reg._predict_all(X).pred[first])
    np.testing.assert_array_equal(out.error[first], error[first])
    assert np.all(error[first] <= threshold)
    pred, estimate = _trust.refine(reg, X[refined], reg._predict_all(X).pred[refined])
    np.testing.assert_array_equal(out.pred[refined], pred)
    np.testing.assert_array_equal(out.error[refined], estimate)
    assert np.all(estimate <= threshold)
    np.testing.assert_array_equal(out.pred[exact], singular_values(X[exact]))
    np.testing.assert_array_equal(out.error[exact], 0.0)
    # predict returns the same rows and estimates.
    guarded_pred, guarded_error = reg.predict(X, return_error=True)
    np.testing.assert_array_equal(guarded_pred, out.pred)
    np.testing.assert_array_equal(guarded_error, out.error)


def test_refinement_tier_catches_what_the_first_tier_flags_cheaply(guarded):
    # Rank-6 matrices: the first tier (4 vectors) is unsure, the refinement
    # (8 vectors) is exact and certified so.
    X = _low_rank(100, 6, np.random.default_rng(3))
    reg = copy.deepcopy(guarded).set_params(max_error=1e-6)
    out = _trust.guarded(reg, X)
    assert np.mean(out.tier == REFINED) >= 0.95
    S = singular_values(X)
    assert nmse_per_matrix(S, out.pred).max() <= 1e-6


def test_a_model_without_the_refinement_tier_goes_exact(guarded):
    reg = copy.deepcopy(guarded).set_params(max_error=0.0)
    for name in ("refine_template_", "refine_error_coef_", "refine_error_offset_"):
        delattr(reg, name)
    delattr(reg, "refine_feature_range_")
    delattr(reg, "refine_route_")
    X = _smooth(30, np.random.default_rng(4))
    out = _trust.guarded(reg, X)
    np.testing.assert_array_equal(out.tier, EXACT)
    np.testing.assert_allclose(out.pred, singular_values(X), rtol=1e-12)


def test_refinement_tier_runs_the_route_it_was_calibrated_with(guarded):
    X = _smooth(40, np.random.default_rng(5))
    first = guarded._predict_all(X).pred
    assert guarded.refine_route_ == REFINE
    template = guarded.refine_template_
    pred, _ = _trust.refine(guarded, X, first)
    expected = refined_spectra(X, SHAPE, template, REFINE).pred
    np.testing.assert_array_equal(pred, expected)
    # A model calibrated before the route was stored keeps the legacy one.
    legacy = copy.deepcopy(guarded)
    del legacy.refine_route_
    pred, _ = _trust.refine(legacy, X, first)
    expected = refined_spectra(X, SHAPE, template, LEGACY_REFINE).pred
    np.testing.assert_array_equal(pred, expected)
    assert LEGACY_REFINE != REFINE


def test_refined_features_use_the_exact_fourth_moment():
    # The refinement's error features hold |sum(p**4) - sum(s**4)| of its
    # spectrum p, with sum(s**4) the exact fourth moment of the matrix.
    rng = np.random.default_rng(6)
    X = _smooth(30, rng)
    out = refined_spectra(X, SHAPE, np.full(4, 0.5))
    S = singular_values(X, matrix_shape=SHAPE)
    energy = (S**2).sum(axis=1)
    moment4 = (S**4).sum(axis=1) / energy**2
    unit4 = (out.pred**4).sum(axis=1) / out.energy**2
    violation = np.exp(out.features[:, 3]) - 1e-9
    np.testing.assert_allclose(violation, np.abs(unit4 - moment4), atol=1e-6)
