# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Exact properties of predicted spectra, for every input (hypothesis).

Singular values satisfy sigma(cA) = |c| sigma(A), sigma(-A) = sigma(A),
sum(sigma**2) = ||A||_F**2, and are non-negative and descending. The
scale-equivariant heads keep all of these by construction; these tests draw
matrices and scales and check them on small trained networks of every shape
from 1 x n to n x 1.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from svlearn import SingularValueRegressor, singular_values
from svlearn.metrics import nmse

SHAPES = [(1, 5), (5, 1), (3, 5), (5, 3), (4, 4), (6, 6)]
EQUIVARIANT_HEADS = ["ritz", "ends", "subspace", "frobenius"]
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def models():
    """One small trained network per (shape, head), trained on signed data."""
    rng = np.random.default_rng(0)
    out = {}
    for shape in SHAPES:
        X = rng.standard_normal((300, *shape)).astype(np.float32)
        X *= 10.0 ** rng.uniform(-2, 2, (300, 1, 1))
        for head in [*EQUIVARIANT_HEADS, "raw"]:
            out[shape, head] = SingularValueRegressor(
                head=head,
                hidden_layer_sizes=(16,),
                max_iter=3,
                batch_size=64,
                random_state=0,
            ).fit(X)
    return out


# width=32: values that float32 holds exactly (numpy < 2 makes hypothesis
# refuse others for float32 arrays), so float32 and float64 draws agree.
_MAGNITUDES = st.one_of(
    st.just(0.0),
    st.floats(2.0**-10, 2.0**10, width=32),
    st.floats(-(2.0**10), -(2.0**-10), width=32),
)


def _matrices(shape, dtype=np.float32):
    """Batches of 1-6 matrices with entries 0 or of magnitude 2**-10 to 2**10."""
    size = shape[0] * shape[1]
    return st.integers(1, 6).flatmap(
        lambda n: arrays(dtype, (n, size), elements=_MAGNITUDES)
    )


def _scales():
    """c = +-m * 10**e with e from -30 to 30: every scale a user might have."""
    return st.builds(
        lambda m, e, s: s * m * 10.0**e,
        st.floats(1.0, 9.99),
        st.integers(-30, 30),
        st.sampled_from([1.0, -1.0]),
    )


def _relative_rows(a, b, scale):
    """Per-matrix ||a - b|| / ||scale||, with 0/0 = 0."""
    num = np.linalg.norm(a - b, axis=1)
    den = np.linalg.norm(scale, axis=1)
    return np.where(num == 0, 0.0, num / np.where(den > 0, den, np.inf))


def _deviation(a, b, model):
    """Relative deviation per matrix; the raw head's relative to its scale.

    The raw head (the paper's network) computes in float32 on X / scale_,
    so its rounding is relative to scale_, not to each matrix.
    """
    if model.net_.module_.head == "raw":
        return np.linalg.norm(a - b, axis=1) / model.scale_
    return _relative_rows(a, b, b)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", EQUIVARIANT_HEADS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@PROPERTY
@given(data=st.data(), c=_scales())
def test_scale_equivariance_for_every_scale(models, shape, head, dtype, data, c):
    model = models[shape, head]
    X = data.draw(_matrices(shape, dtype))
    cX = X * dtype(c)
    # Only scalings that the dtype represents exactly enough: no entry
    # underflows to zero or loses digits as a subnormal.
    tiny = np.finfo(dtype).tiny
    assume(np.all((X == 0) | (np.abs(cX) >= tiny * 2**24)))
    base = model.predict(X).reshape(len(X), -1)
    scaled = model.predict(cX).reshape(len(X), -1)
    expected = abs(c) * base
    assert np.all(np.isfinite(scaled))
    assert _relative_rows(scaled, expected, expected).max() <= 1e-5


def _pinned_tiny_matrix():
    """A 4 x 4 matrix at 2**-68 whose float32 squares were subnormal.

    Rows rescaled at one scale and not at the other once took different
    float32 paths, one ulp apart.
    """
    batch = np.zeros((6, 36), dtype=np.float32)
    batch[0, :16] = -1.001953125
    batch[0, [13, 14]] = 340.0
    return np.ldexp(batch, -68)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", EQUIVARIANT_HEADS)
@PROPERTY
@given(
    batch=arrays(np.float32, (6, 36), elements=_MAGNITUDES),
    n=st.integers(1, 6),
    exponent=st.integers(-100, 100),
)
@example(batch=_pinned_tiny_matrix(), n=1, exponent=-66)
def test_power_of_two_scales_are_bitwise_equivariant(
    models, shape, head, batch, n, exponent
):
    model = models[shape, head]
    X = batch[:n, : shape[0] * shape[1]].astype(np.float64)
    np.testing.assert_array_equal(
        model.predict(np.ldexp(X, exponent)), np.ldexp(model.predict(X), exponent)
    )


@pytest.fixture(scope="module")
def image_model():
    """The default model on sample-image windows, and held-out windows."""
    from svlearn.datasets import load_sample_windows

    data = load_sample_windows(strides=(16, 16))
    model = SingularValueRegressor(max_iter=3, random_state=0).fit(data.X_train)
    return model, data.X_test[:500]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scale_equivariance_on_natural_image_windows(image_model, dtype):
    model, X = image_model
    X = X.astype(dtype)
    base = model.predict(X)
    scales = [1e-30, 1e-12, 1e-6, 3.7, 1e6, 1e12, 1e30]
    if dtype == np.float64:  # beyond float32's range both ways
        scales += [1e-300, 1e-150, 1e150, 1e300]
    for c in scales:
        scaled = model.predict(X * dtype(c))
        assert np.all(np.isfinite(scaled))
        # Compared at unit scale: norms of 1e300-sized spectra overflow.
        deviation = _relative_rows(scaled / c, base, base)
        assert deviation.max() <= 1e-5, (c, deviation.max())


def test_transposed_and_negated_windows_are_predicted_as_well(image_model):
    # Negation is exact by construction; transposition is learned (the network
    # sees the flattened matrix), bounded here as issue 9 asks of the default
    # model on CIFAR-10 (NMSE on A^T within 1.15x of NMSE on A).
    model, X = image_model
    S = singular_values(X)
    error = nmse(S, model.predict(X))
    transposed = X.reshape(-1, 32, 32).transpose(0, 2, 1).reshape(len(X), -1)
    assert nmse(S, model.predict(transposed)) <= 1.15 * error
    assert nmse(S, model.predict(-X)) == error


def test_non_finite_input_is_rejected_at_any_scale(image_model):
    model, X = image_model
    X = X[:20].astype(np.float64) * 1e300
    X[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.predict(X)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X / 1e300)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", EQUIVARIANT_HEADS)
@PROPERTY
@given(data=st.data())
def test_negated_matrices_have_identical_spectra(models, shape, head, data):
    model = models[shape, head]
    X = data.draw(_matrices(shape))
    np.testing.assert_array_equal(model.predict(-X), model.predict(X))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", EQUIVARIANT_HEADS)
@PROPERTY
@given(data=st.data())
def test_energy_identity_holds(models, shape, head, data):
    model = models[shape, head]
    X = data.draw(_matrices(shape)).astype(np.float64)
    pred = model.predict(X).reshape(len(X), -1)
    energy = (X**2).sum(axis=1)
    np.testing.assert_allclose((pred**2).sum(axis=1), energy, rtol=1e-5, atol=0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", [*EQUIVARIANT_HEADS, "raw"])
@PROPERTY
@given(data=st.data())
def test_spectra_are_non_negative_and_descending(models, shape, head, data):
    model = models[shape, head]
    X = data.draw(_matrices(shape))
    pred = model.predict(X).reshape(len(X), -1)
    assert pred.shape == (len(X), min(shape))
    assert np.all(pred >= 0)
    assert np.all(np.diff(pred, axis=1) <= 0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", [*EQUIVARIANT_HEADS, "raw"])
@PROPERTY
@given(data=st.data())
def test_float32_and_float64_input_agree(models, shape, head, data):
    model = models[shape, head]
    X = data.draw(_matrices(shape))
    a = model.predict(X).reshape(len(X), -1)
    b = model.predict(X.astype(np.float64)).reshape(len(X), -1)
    assert np.all(_deviation(a, b, model) <= 1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@PROPERTY
@given(data=st.data())
def test_stacked_and_flat_input_agree(models, shape, data):
    model = models[shape, "subspace"]
    X = data.draw(_matrices(shape))
    np.testing.assert_array_equal(
        model.predict(X.reshape(-1, *shape)), model.predict(X)
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", [*EQUIVARIANT_HEADS, "raw"])
@PROPERTY
@given(data=st.data())
def test_a_batch_predicts_what_its_rows_predict_alone(models, shape, head, data):
    model = models[shape, head]
    X = data.draw(_matrices(shape))
    batch = model.predict(X).reshape(len(X), -1)
    alone = np.vstack([model.predict(row[None]).reshape(1, -1) for row in X])
    # float32 matrix products may sum in another order for another batch size.
    assert np.all(_deviation(batch, alone, model) <= 1e-5)


@pytest.mark.parametrize("head", [*EQUIVARIANT_HEADS, "raw"])
def test_same_random_state_gives_identical_models(head):
    X = np.random.default_rng(3).standard_normal((120, 16)).astype(np.float32)
    params = dict(head=head, hidden_layer_sizes=(8,), max_iter=2, random_state=7)
    a = SingularValueRegressor(**params).fit(X).predict(X)
    b = SingularValueRegressor(**params).fit(X).predict(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("head", ["ritz", "subspace"])
def test_float32_iteration_agrees_with_the_float64_one_of_small_matrices(
    models, head, monkeypatch
):
    # Matrices of at most 256 entries iterate in float64; larger ones in
    # float32, with a float64 re-run where the leftover energy is thin. Forcing
    # the float32 route on small matrices (full rank, rank-deficient, nearly
    # rank-one, at several scales) must give the same spectra to float32
    # rounding, so the hypothesis tests above speak for both routes.
    import svlearn._lean as lean
    import svlearn._linalg as linalg

    model = models[(6, 6), head]
    rng = np.random.default_rng(3)
    u, v = rng.standard_normal((2, 40, 6, 1))
    X = np.vstack(
        [
            rng.standard_normal((40, 36)),
            (u @ v.transpose(0, 2, 1)).reshape(40, 36),  # rank one
            (u @ v.transpose(0, 2, 1)).reshape(40, 36)
            + 1e-4 * rng.standard_normal((40, 36)),  # nearly rank one
            (rng.standard_normal((40, 6, 2)) @ rng.standard_normal((40, 2, 6))).reshape(
                40, 36
            ),  # rank two
        ]
    ) * 10.0 ** rng.integers(-20, 20, (160, 1))
    expected = model.predict(X)
    # Both forms: the torch iteration and the "ritz" head's numpy form.
    monkeypatch.setattr(linalg, "FLOAT64_MAX_ENTRIES", 0)
    monkeypatch.setattr(lean, "FLOAT64_MAX_ENTRIES", 0)
    forced = model.predict(X)
    assert _deviation(forced, expected, model).max() <= 1e-5
