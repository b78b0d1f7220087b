# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Certified bounds hold on every input; clamping keeps bounds and energy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svlearn._bounds import certified_bounds, clamp_to_bounds


def _ritz(A, V):
    """Ritz values, leftover energy and energy of A for an orthonormal block V."""
    theta = np.linalg.svd(A @ V, compute_uv=False)
    energy = np.sum(A**2)
    return theta, energy - np.sum(theta**2), energy


def _family(rng, name, m, n):
    p = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    W, _ = np.linalg.qr(rng.standard_normal((n, n)))
    if name == "gaussian":
        return rng.standard_normal((m, n))
    r, e = min(2, p), min(4, p)
    s = {
        "low_rank": lambda: np.r_[rng.random(r) + 1, np.zeros(p - r)],
        "equal_top": lambda: np.r_[np.full(e, 3.0), rng.random(p - e)],
        "rank_deficient": lambda: np.r_[rng.random(p - 1) + 0.5, 0.0],
        "power_law": lambda: np.arange(1, p + 1, dtype=float) ** -2.0,
    }[name]()
    D = np.zeros((m, n))
    D[np.arange(p), np.arange(p)] = np.sort(s)[::-1]
    return U @ D @ W.T


FAMILIES = ["gaussian", "low_rank", "equal_top", "rank_deficient", "power_law"]


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    family=st.sampled_from(FAMILIES),
    m=st.integers(1, 12),
    n=st.integers(1, 12),
    k=st.integers(1, 6),
    scale=st.sampled_from([1e-150, 1e-20, 1.0, 1e20, 1e150]),
    steps=st.integers(0, 3),
)
def test_certified_bounds_hold_on_every_family(seed, family, m, n, k, scale, steps):
    rng = np.random.default_rng(seed)
    A = _family(rng, family, m, n) * scale
    p = min(m, n)
    k = min(k, n)
    V, _ = np.linalg.qr(rng.standard_normal((n, k)))
    for _ in range(steps):  # subspace iteration: better blocks, same guarantee
        V, _ = np.linalg.qr(A.T @ (A @ V))
    theta, rest, energy = _ritz(A, V)
    theta = theta[: min(k, p)]
    lower, upper = certified_bounds(theta[None], [rest], [energy], p)
    sigma = np.linalg.svd(A, compute_uv=False)
    tol = 1e-12 * np.sqrt(energy)
    assert (lower[0] <= sigma + tol).all()
    assert (sigma <= upper[0] + tol).all()
    assert (np.diff(lower[0]) <= tol).all() and (np.diff(upper[0]) <= tol).all()


def test_bounds_of_a_rank_k_matrix_are_a_point():
    rng = np.random.default_rng(0)
    A = _family(rng, "low_rank", 8, 8)
    V, _ = np.linalg.qr(A.T @ rng.standard_normal((8, 3)))  # spans A's row space
    theta, rest, energy = _ritz(A, V)
    lower, upper = certified_bounds(theta[None], [rest], [energy], 8)
    sigma = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(lower[0], sigma, atol=1e-4)
    np.testing.assert_allclose(upper[0], sigma, atol=1e-4)
    assert (upper - lower).max() <= 2e-5 * np.sqrt(energy) + 1e-6


def test_tail_bound_is_the_leftover_energy_shared_out():
    lower, upper = certified_bounds(np.array([[2.0]]), [4.0], [8.0], 5)
    np.testing.assert_allclose(upper[0, 1:], np.sqrt(4.0 / np.arange(1, 5)), rtol=1e-4)
    np.testing.assert_allclose(upper[0, 0], np.sqrt(8.0), rtol=1e-4)
    assert lower[0, 1:].max() == 0


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_values=st.integers(1, 10))
def test_clamping_keeps_bounds_energy_and_order(seed, n_values):
    rng = np.random.default_rng(seed)
    sigma = np.sort(rng.random(n_values) * rng.choice([1e-30, 1.0, 1e30]))[::-1]
    sigma[rng.random(n_values) < 0.3] = 0.0
    sigma = np.sort(sigma)[::-1]
    energy = np.sum(sigma**2)
    lower = sigma * rng.uniform(0.5, 1.0, n_values)
    upper = sigma * rng.uniform(1.0, 1.5, n_values) + rng.random() * sigma.max(
        initial=0
    )
    lower = np.minimum.accumulate(lower)
    lower = np.sort(lower)[::-1]
    upper = np.minimum.accumulate(upper)
    pred = np.sort(rng.random(n_values))[::-1]
    pred *= np.sqrt(energy / max(np.sum(pred**2), 1e-300))
    out = clamp_to_bounds(pred[None], lower[None], upper[None], [energy])[0]
    tol = 1e-9 * np.sqrt(energy) + 1e-300
    assert (out >= lower - tol).all() and (out <= upper + tol).all()
    assert (np.diff(out) <= tol).all()
    assert np.sum(out**2) == pytest.approx(energy, rel=1e-9, abs=1e-300)


def test_clamping_leaves_rows_inside_their_bounds_unchanged():
    pred = np.array([[3.0, 1.0], [2.0, 2.0]])
    lower = np.array([[2.0, 0.0], [2.5, 0.0]])
    upper = np.array([[4.0, 2.0], [3.0, 2.0]])
    out = clamp_to_bounds(pred, lower, upper, [10.0, 8.0])
    np.testing.assert_array_equal(out[0], pred[0])
    assert out[1, 0] >= 2.5 and np.sum(out[1] ** 2) == pytest.approx(8.0)
