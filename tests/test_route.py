# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""One route per device: a row's prediction does not depend on its batch, and
the route's certificate holds.

``predict`` runs one form per device (the "ritz" head's numpy form on the CPU,
the torch module otherwise), whatever the batch size; the blocks of the torch
route are padded, so that their matrix products round each row alike. The
route's Ritz values and leftover energy give certified intervals
(:mod:`svlearn._bounds`) into which ``predict`` clamps.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svlearn import SingularValueRegressor, singular_values

HEADS = ["ritz", "ends", "subspace", "frobenius", "raw"]
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _fit(shape, head, n_components=4):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, *shape)).astype(np.float32)
    X *= 10.0 ** rng.uniform(-2, 2, (300, 1, 1))
    return SingularValueRegressor(
        head=head,
        hidden_layer_sizes=(16,),
        max_iter=3,
        batch_size=64,
        n_components=n_components,
        calibration_fraction=0,
        random_state=0,
    ).fit(X)


@pytest.fixture(scope="module")
def models():
    return {
        (shape, head): _fit(shape, head)
        for shape in [(6, 6), (1, 7), (5, 3), (20, 20)]
        for head in HEADS
    }


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("shape", [(6, 6), (1, 7), (5, 3), (20, 20)])
def test_a_rows_prediction_does_not_depend_on_its_batch(models, shape, head):
    model = models[shape, head]
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1500, shape[0] * shape[1])).astype(np.float32)
    full = model.predict(X).reshape(len(X), -1)
    # 1e-6 of sigma_1 (float32 rounding); scikit-learn's check asks 1e-7.
    tol = 1e-6 * full[:, :1]
    for start, stop in [(0, 1), (7, 10), (0, 100), (300, 556), (1000, 1500)]:
        part = model.predict(X[start:stop]).reshape(stop - start, -1)
        assert np.all(np.abs(part - full[start:stop]) <= tol[start:stop])
    # Row by row, as scikit-learn's check_methods_subset_invariance does.
    rows = np.vstack([model.predict(X[i : i + 1]).reshape(1, -1) for i in range(20)])
    assert np.all(np.abs(rows - full[:20]) <= tol[:20])


def _family(kind, rng, shape):
    """Adversarial matrices of one family, float64, shape (n, m, n)."""
    m, n = shape
    size = min(shape)
    if kind == "dense":
        return rng.standard_normal((8, m, n))
    if kind in ("low_rank", "rank_deficient"):
        rank = rng.integers(1, 5) if kind == "low_rank" else size - 1
        rank = max(1, min(rank, size))
        return rng.standard_normal((8, m, rank)) @ rng.standard_normal((8, rank, n))
    if kind == "equal_values":
        out = np.empty((8, m, n))
        for i in range(8):
            u = np.linalg.qr(rng.standard_normal((m, m)))[0]
            v = np.linalg.qr(rng.standard_normal((n, n)))[0]
            s = np.zeros((m, n))
            r = min(4, size)
            s[range(r), range(r)] = 1.0
            s[range(r, size), range(r, size)] = rng.uniform(0, 0.3, size - r)
            out[i] = u @ s @ v.T
        return out
    raise ValueError(kind)


@pytest.mark.parametrize("head", ["ritz", "subspace", "frobenius"])
@pytest.mark.parametrize("shape", [(6, 6), (1, 7), (5, 3), (20, 20)])
@PROPERTY
@given(
    kind=st.sampled_from(["dense", "low_rank", "rank_deficient", "equal_values"]),
    exponent=st.integers(-80, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_certified_bounds_hold_for_every_family(
    models, shape, head, kind, exponent, seed
):
    model = models[shape, head]
    rng = np.random.default_rng(seed)
    A = np.ldexp(_family(kind, rng, shape), exponent)
    X = A.reshape(len(A), -1)
    result = model._predict_all(X)
    exact = singular_values(X, matrix_shape=shape)
    scale = np.linalg.norm(exact, axis=1, keepdims=True)
    # Bounds hold up to the rounding of the exact values (~1e-14 of the norm).
    slack = 1e-12 * scale
    assert np.all(result.lower <= exact + slack)
    assert np.all(exact <= result.upper + slack)
    assert np.all(result.lower <= result.pred) and np.all(result.pred <= result.upper)
    # The energy identity holds after clamping.
    np.testing.assert_allclose(
        (result.pred**2).sum(axis=1), (exact**2).sum(axis=1), rtol=1e-5
    )


@pytest.mark.parametrize("shape", [(6, 6), (20, 20), (5, 3)])
@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_matrices_of_rank_at_most_k_come_out_exact(models, shape, rank):
    model = models[shape, "ritz"]
    rng = np.random.default_rng(rank)
    m, n = shape
    rank = min(rank, min(shape))
    A = rng.standard_normal((30, m, rank)) @ rng.standard_normal((30, rank, n))
    # Also equal leading values: the leading block a multiple of an isometry.
    u = np.linalg.qr(rng.standard_normal((30, m, rank)))[0]
    v = np.linalg.qr(rng.standard_normal((30, n, rank)))[0]
    A = np.concatenate([A, 3.0 * u @ v.transpose(0, 2, 1)])
    X = A.reshape(len(A), -1).astype(np.float32)
    pred = model.predict(X)
    exact = singular_values(X, matrix_shape=shape)
    error = np.linalg.norm(pred - exact, axis=1) / np.linalg.norm(exact, axis=1)
    # The certificate's own slack (1e-5 of the norm per value) is the limit.
    assert error.max() <= 1e-4
    assert np.median(error) <= 2e-5


@pytest.mark.parametrize("head", ["ritz", "subspace", "frobenius"])
def test_predict_all_returns_bounds_around_its_predictions(models, head):
    model = models[(6, 6), head]
    X = np.random.default_rng(2).standard_normal((50, 36))
    result = model._predict_all(X, with_features=True)
    assert result.pred.shape == result.lower.shape == result.upper.shape == (50, 6)
    assert result.features.shape[0] == 50
    np.testing.assert_array_equal(result.pred, model.predict(X))
    assert np.all(np.diff(result.upper, axis=1) <= 0)


def test_raw_head_has_no_certificate(models):
    result = models[(6, 6), "raw"]._predict_all(np.ones((3, 36)))
    assert result.lower is None and result.upper is None and result.features is None
