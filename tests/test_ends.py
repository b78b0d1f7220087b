# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The "ends" head: bottom-end numerics on planted spectra, the head, its loss."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from svlearn import SingularValueRegressor, singular_values
from svlearn._ends import (
    EndsHead,
    LogSpectrumLoss,
    bottom_end,
    bottom_end_numpy,
    ends_numerics,
)
from svlearn._numerics import ENDS_SHIFT


def _planted(values, shape, seed=0):
    """A float64 matrix of ``shape`` whose singular values are ``values``."""
    rng = np.random.default_rng(seed)
    m, n = shape
    U = np.linalg.qr(rng.standard_normal((m, m)))[0][:, : len(values)]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0][:, : len(values)]
    return (U * values) @ V.T


def _bottom(A, k, n_iter):
    """bottom_end of float64 matrices (m >= n), normalised to unit energy."""
    T = torch.from_numpy(np.asarray(A, dtype=np.float64))
    norms = torch.linalg.vector_norm(T.reshape(len(T), -1), dim=-1, keepdim=True)
    inv = torch.where(norms > 0, 1 / norms, 0.0)
    values, log_det, quartic, pivots = bottom_end(T, inv, k, n_iter)
    return values.numpy(), log_det.numpy(), quartic.numpy(), pivots.numpy()


def test_bottom_end_recovers_the_smallest_planted_values():
    s = np.geomspace(1.0, 1e-4, 8)
    A = _planted(s, (8, 8))[None]
    values, log_det, quartic, _ = _bottom(A, 3, 4)
    unit = s / np.linalg.norm(s)
    np.testing.assert_allclose(values[0], unit[-3:], rtol=1e-6)
    np.testing.assert_allclose(quartic[0, 0], np.sum(unit**4), rtol=1e-12)
    np.testing.assert_allclose(
        log_det[0, 0], np.sum(np.log(unit**2 + ENDS_SHIFT)), rtol=1e-9
    )


def test_bottom_end_shows_rank_deficient_matrices_as_such():
    s = np.array([5.0, 3.0, 2.0, 1.0, 0.0, 0.0])
    A = _planted(s, (6, 6))[None]
    values, log_det, _, pivots = _bottom(A, 3, 10)
    unit = s / np.linalg.norm(s)
    np.testing.assert_allclose(values[0, 0], unit[3], rtol=1e-5)
    assert np.all(values[0, 1:] < 1e-6)
    # The shift keeps the factor and its logarithms finite.
    assert np.all(np.isfinite(log_det)) and np.all(pivots > 0)


def test_bottom_end_of_repeated_values():
    s = np.array([3.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    values = _bottom(_planted(s, (6, 6))[None], 3, 15)[0]
    np.testing.assert_allclose(values[0], np.full(3, 1 / np.linalg.norm(s)), rtol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (7, 3), (9, 9)])
def test_bottom_end_on_tall_and_one_column_matrices(shape):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, *shape))
    k = min(2, shape[1])
    values = _bottom(A, k, 30)[0]
    S = singular_values(A)
    unit = S / np.linalg.norm(S, axis=1, keepdims=True)
    np.testing.assert_allclose(values, unit[:, shape[1] - k :], rtol=1e-5)


def test_bottom_end_numpy_agrees_with_torch():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 7, 6))
    A /= np.linalg.norm(A, axis=(1, 2), keepdims=True)
    torch_out = _bottom(A, 3, 3)
    numpy_out = bottom_end_numpy(A, 3, 3)
    for ours, theirs in zip(torch_out, numpy_out):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


def test_bottom_end_of_a_zero_matrix_is_zero():
    values, log_det, quartic, _ = _bottom(np.zeros((2, 4, 4)), 2, 2)
    np.testing.assert_array_equal(values, 0.0)
    np.testing.assert_array_equal(quartic, 0.0)
    assert np.all(np.isfinite(log_det))


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 7).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(n, 8), st.integers(0, 10_000))
    ),
    st.integers(1, 3),
)
def test_bottom_values_are_upper_bounds_of_the_smallest(dims, n_iter):
    # Rayleigh-Ritz on any subspace: the j-th smallest Ritz value is at
    # least the j-th smallest singular value.
    n, m, seed = dims
    A = np.random.default_rng(seed).standard_normal((1, m, n))
    k = min(2, n)
    values = _bottom(A, k, n_iter)[0][0]
    S = singular_values(A)[0]
    unit = S / np.linalg.norm(S)
    assert np.all(values >= unit[n - k :] * (1 - 1e-9) - 1e-9)


def test_ends_head_without_network_pins_both_ends():
    s = np.geomspace(1.0, 1e-3, 10)
    A = torch.from_numpy(np.stack([_planted(s, (10, 10), seed) for seed in range(3)]))
    norms = torch.linalg.vector_norm(A.reshape(3, -1), dim=-1, keepdim=True)
    head = EndsHead(10, 3, 30, 3, 6, None, torch.nn.ReLU)
    out = head(head.numerics(A, norms)).numpy() * norms.numpy()
    np.testing.assert_allclose(out[:, :2], np.tile(s[:2], (3, 1)), rtol=1e-4)
    np.testing.assert_allclose(out[:, -3:], np.tile(s[-3:], (3, 1)), rtol=1e-4)
    # Exact energy, and the log-determinant of the planted spectrum.
    np.testing.assert_allclose((out**2).sum(1), (s**2).sum(), rtol=1e-9)
    unit = out / np.linalg.norm(s)
    np.testing.assert_allclose(
        np.log(unit**2 + ENDS_SHIFT).sum(1),
        np.log((s / np.linalg.norm(s)) ** 2 + ENDS_SHIFT).sum(),
        atol=1e-6,
    )


def test_ends_numerics_are_normalised_to_unit_energy():
    s = np.array([4.0, 3.0, 0.5])
    A = torch.from_numpy(_planted(s, (5, 3))[None] * 1e3)
    norms = torch.linalg.vector_norm(A.reshape(1, -1), dim=-1, keepdim=True)
    nums = ends_numerics(A.float(), norms.float(), 1, 30, 1, 3)
    unit = s / np.linalg.norm(s)
    np.testing.assert_allclose(nums.top[0, 0], unit[0], rtol=1e-5)
    np.testing.assert_allclose(nums.bottom[0, 0], unit[-1], rtol=1e-5)
    np.testing.assert_allclose(nums.quartic[0, 0], np.sum(unit**4), rtol=1e-5)
    np.testing.assert_allclose(nums.energy[0, 0], 1.0, rtol=1e-6)


def test_log_spectrum_loss_hand_computed():
    y = torch.tensor([[1.0, 0.5, 0.0]])
    pred = torch.tensor([[1.0, 1.0, 1e-9]])
    # log(1/0.5)**2 / 3 (the zero and 1e-9 both sit at the 1e-6 floor), plus
    # 2 * 0.5**2 = 0.5 squared error times the weight.
    expected = np.log(2.0) ** 2 / 3 + 2.0 * 0.25
    assert LogSpectrumLoss(weight=2.0)(pred, y).item() == pytest.approx(expected)


def _fitted_ends(shape, n_samples=300, seed=0, **params):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, *shape)).astype(np.float32)
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=3,
        random_state=0,
        calibration_fraction=0,
        **params,
    )
    return SingularValueRegressor(head="ends", loss="log", **params).fit(X), X


def test_ends_regressor_shows_rank_deficient_matrices_as_such():
    reg, _ = _fitted_ends((8, 8))
    rng = np.random.default_rng(3)
    low = rng.standard_normal((50, 8, 5)) @ rng.standard_normal((50, 5, 8))
    pred = reg.predict(low.astype(np.float32))
    assert np.all(pred[:, -1] < 1e-5 * pred[:, 0])
    # Well-conditioned matrices keep a positive sigma_min close to the truth.
    X = rng.standard_normal((50, 8, 8)).astype(np.float32)
    S, pred = singular_values(X), reg.predict(X)
    assert np.median(np.abs(pred[:, -1] / S[:, -1] - 1)) < 0.02


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (3, 6), (6, 3)])
def test_ends_regressor_on_every_shape(shape):
    reg, X = _fitted_ends(shape, n_samples=200)
    pred = reg.predict(X[:20])
    assert pred.shape == (20, min(shape))
    S = singular_values(X[:20])
    np.testing.assert_allclose((pred**2).sum(1), (S**2).sum(1), rtol=1e-5)
    np.testing.assert_allclose(pred[:, -1], S[:, -1], rtol=0.05)


def test_ends_regressor_survives_save_and_load(tmp_path):
    from svlearn import load, save

    reg, X = _fitted_ends((6, 6), n_samples=200)
    path = tmp_path / "ends.svlearn"
    save(reg, path)
    np.testing.assert_array_equal(load(path).predict(X[:10]), reg.predict(X[:10]))


# The CPU route: predict runs the numpy form (svlearn._ends_numpy.EndsPlan).


def _image_like(n, shape, seed):
    """float32 matrices with image-like spectra: 2-D random walks plus noise.

    Their singular values fall by orders of magnitude, as those of natural
    images do; one in ten is of rank 3 (rank-deficient for every shape here).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, *shape)).cumsum(1).cumsum(2)
    X += 1e-3 * X.std() * rng.standard_normal(X.shape)
    m, k = shape
    r = min(3, m, k)
    low = rng.standard_normal((n // 10, m, r)) @ rng.standard_normal((n // 10, r, k))
    X[: n // 10] = low
    return X.reshape(n, -1).astype(np.float32)


ROUTE_SHAPES = [(16, 16), (6, 10), (10, 6), (1, 5)]


@pytest.fixture(scope="module")
def ends_models():
    out = {}
    for shape in ROUTE_SHAPES:
        X = _image_like(300, shape, seed=0)
        params = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
        reg = SingularValueRegressor(
            head="ends",
            loss="log",
            matrix_shape=shape,
            calibration_fraction=0,
            **params,
        )
        out[shape] = reg.fit(X)
    return out


def _torch_form(model, X, monkeypatch):
    """``predict`` by the torch module: the route of accelerators."""
    import svlearn._route

    with monkeypatch.context() as patch:
        patch.setattr(svlearn._route, "ritz_plan", lambda module: None)
        return model.predict(X)


def test_cpu_predict_runs_the_numpy_form(ends_models, monkeypatch):
    from svlearn._ends_numpy import EndsPlan
    from svlearn._lean import ritz_plan

    model = ends_models[16, 16]
    module = model.net_.module_
    assert isinstance(ritz_plan(module), EndsPlan)

    def refuse(*args, **kwargs):
        raise AssertionError("the torch module ran")

    monkeypatch.setattr(module, "spectra", refuse)
    assert model.predict(_image_like(20, (16, 16), seed=1)).shape == (20, 16)


@pytest.mark.parametrize("shape", ROUTE_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e30])
def test_numpy_form_agrees_with_torch_form(
    ends_models, shape, dtype, scale, monkeypatch
):
    # The torch form runs its top end and its network in float32 on float32
    # rows: the two agree to about float32 rounding. Values within rounding
    # of zero (below sqrt(ENDS_SHIFT) of the norm: the rank-deficient matrices'
    # zeros) agree in absolute terms only.
    model = ends_models[shape]
    X = (_image_like(200, shape, seed=2).astype(np.float64) * scale).astype(dtype)
    ours, theirs = model.predict(X), _torch_form(model, X, monkeypatch)
    assert ours.shape == theirs.shape == (200, min(shape))
    deviation = np.linalg.norm(ours - theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    assert deviation.max() <= 1e-6
    relative = np.abs(ours - theirs) / np.maximum(theirs, 1e-4 * theirs[:, :1])
    assert np.median(relative) <= 1e-6
    assert relative.max() <= 1e-3


@pytest.mark.parametrize("shape", ROUTE_SHAPES)
def test_numpy_form_rows_do_not_depend_on_their_batch(ends_models, shape):
    model = ends_models[shape]
    X = _image_like(1500, shape, seed=3)
    full = model.predict(X)
    for start, stop in [(0, 1), (7, 10), (0, 100), (1000, 1500)]:
        np.testing.assert_array_equal(model.predict(X[start:stop]), full[start:stop])
    rows = np.vstack([model.predict(X[i : i + 1]) for i in range(10)])
    np.testing.assert_array_equal(rows, full[:10])


@pytest.mark.parametrize("shape", ROUTE_SHAPES)
def test_numpy_form_bounds_hold_and_hold_the_prediction(ends_models, shape):
    model = ends_models[shape]
    X = _image_like(200, shape, seed=4)
    out = model._predict_all(X)
    S = singular_values(X, matrix_shape=shape)
    slack = 1e-6 * S[:, :1]
    assert np.all(out.lower <= out.pred) and np.all(out.pred <= out.upper)
    assert np.all(out.lower <= S + slack) and np.all(S <= out.upper + slack)


def test_numpy_form_is_exact_under_powers_of_two_and_negation(ends_models):
    model = ends_models[16, 16]
    X = _image_like(50, (16, 16), seed=5)
    pred = model.predict(X)
    np.testing.assert_array_equal(
        model.predict(X * np.float32(2.0**-60)), pred * 2.0**-60
    )
    np.testing.assert_array_equal(model.predict(-X), pred)


def test_numpy_form_pins_the_small_end(ends_models):
    model = ends_models[16, 16]
    X = _image_like(100, (16, 16), seed=6)
    X[0] = 0.0
    pred, S = model.predict(X), singular_values(X, matrix_shape=(16, 16))
    np.testing.assert_array_equal(pred[0], 0.0)
    # Rank 3: shown as rank-deficient. Full rank: sigma_min to within 5 %
    # (four vectors, three inverse steps).
    assert np.all(pred[1:10, -1] < 1e-5 * pred[1:10, 0])
    np.testing.assert_allclose(pred[10:, -1], S[10:, -1], rtol=0.05)
    np.testing.assert_allclose((pred**2).sum(1), (S**2).sum(1), rtol=1e-6)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_numpy_form_rejects_non_finite_input_naming_X(ends_models, value):
    X = _image_like(5, (16, 16), seed=7)
    X[2, 3] = value
    with pytest.raises(ValueError, match="X"):
        ends_models[16, 16].predict(X)
