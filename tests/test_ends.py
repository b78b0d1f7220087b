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
    SHIFT,
    EndsHead,
    LogSpectrumLoss,
    bottom_end,
    bottom_end_numpy,
    ends_numerics,
)


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
        log_det[0, 0], np.sum(np.log(unit**2 + SHIFT)), rtol=1e-9
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
        np.log(unit**2 + SHIFT).sum(1),
        np.log((s / np.linalg.norm(s)) ** 2 + SHIFT).sum(),
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
