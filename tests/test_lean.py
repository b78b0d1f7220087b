# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The CPU form of the "ritz" head (svlearn._lean) computes what the torch form does.

On the CPU, ``predict`` sends every batch of a fitted "ritz" head through its
numpy form. These tests compare it with the torch form (the route on
accelerators, reached here by patching the plan away) at every scale, and
check that it keeps the estimator's contract: errors, output format, fitted
checks, recording.
"""

import copy

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import svlearn._lean
import svlearn._route
from svlearn import SingularValueRegressor
from svlearn._recording import recording_prediction_inputs

SHAPES = [(4, 4), (6, 6), (3, 5), (5, 3), (1, 6), (6, 1)]
SMALL = dict(hidden_layer_sizes=(16,), max_iter=3, batch_size=64, random_state=0)


def _fit(shape, **params):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, *shape)).astype(np.float32)
    X *= 10.0 ** rng.uniform(-2, 2, (300, 1, 1))
    return SingularValueRegressor(**{**SMALL, **params}).fit(X)


@pytest.fixture(scope="module")
def models():
    return {shape: _fit(shape) for shape in SHAPES}


def _torch_predict(model, X, monkeypatch):
    """``predict`` by the torch module: the route of accelerators."""
    with monkeypatch.context() as patch:
        patch.setattr(svlearn._route, "ritz_plan", lambda module: None)
        return model.predict(X)


def _deviation(a, b):
    """Per-matrix ||a - b|| / ||b||."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-30, 1e-6, 1.0, 1e6, 1e30])
def test_lean_path_agrees_with_torch_path(models, shape, dtype, scale, monkeypatch):
    model = models[shape]
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((20, shape[0] * shape[1])) * scale).astype(dtype)
    lean = model.predict(X)
    assert lean.dtype == np.float64 and lean.shape == (20, min(shape))
    assert np.all(_deviation(lean, _torch_predict(model, X, monkeypatch)) <= 1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e-85, 1e85, 1e150, 1e300])
def test_lean_path_agrees_beyond_float32_range(models, shape, scale, monkeypatch):
    model = models[shape]
    X = np.random.default_rng(2).standard_normal((20, shape[0] * shape[1])) * scale
    lean = model.predict(X)
    assert np.all(np.isfinite(lean))
    # Compared at unit scale: norms of 1e300-sized spectra overflow.
    torch_path = _torch_predict(model, X, monkeypatch)
    assert np.all(_deviation(lean / scale, torch_path / scale) <= 1e-5)


@pytest.mark.parametrize(
    "params",
    [
        dict(activation="tanh", n_iter=2, n_components=2),
        dict(activation="gelu", dropout=0.1, n_iter=0),
        dict(activation="logistic", n_components=3),
        dict(hidden_layer_sizes=(), n_components=1),
    ],
)
def test_lean_path_reads_every_network(params, monkeypatch):
    model = _fit((6, 6), **params)
    X = np.random.default_rng(3).standard_normal((20, 36))
    lean = model.predict(X)
    assert np.all(_deviation(lean, _torch_predict(model, X, monkeypatch)) <= 1e-5)


@pytest.mark.parametrize("shape", [(6, 6), (3, 5)])
@pytest.mark.parametrize("rank", [1, 2])
def test_rank_deficient_and_zero_matrices(models, shape, rank, monkeypatch):
    # Blocks with dependent rows take Gram-Schmidt instead of QR; zero
    # matrices predict zeros.
    model = models[shape]
    rng = np.random.default_rng(4)
    X = rng.standard_normal((20, shape[0], rank)) @ rng.standard_normal(
        (20, rank, shape[1])
    )
    X = X.reshape(20, -1)
    X[0] = 0
    lean = model.predict(X)
    np.testing.assert_array_equal(lean[0], 0.0)
    torch_path = _torch_predict(model, X, monkeypatch)
    assert np.all(_deviation(lean[1:], torch_path[1:]) <= 1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_powers_of_two_scale_the_output_exactly(models, shape):
    # Inside and outside the range that is used unscaled (squared norms
    # within 2**+-400), the output scales bitwise with the input.
    model = models[shape]
    X = np.random.default_rng(11).standard_normal((8, shape[0] * shape[1]))
    X[3] = 0.0  # a zero matrix sends the whole batch to the rescaling path
    for batch in (X[:3], X):
        base = model.predict(batch)
        for exponent in (-700, -350, -120, -1, 1, 120, 350, 700):
            np.testing.assert_array_equal(
                model.predict(np.ldexp(batch, exponent)), np.ldexp(base, exponent)
            )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1e-300, 1e-85, 1e-30, 1.0, 1e30, 1e85, 1e300])
def test_negation_gives_identical_output(models, shape, scale):
    model = models[shape]
    X = np.random.default_rng(5).standard_normal((8, shape[0] * shape[1])) * scale
    np.testing.assert_array_equal(model.predict(-X), model.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "value, message", [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains")]
)
def test_non_finite_input_raises_naming_X(models, dtype, value, message):
    X = np.ones((3, 36), dtype=dtype)
    X[1, 5] = value
    with pytest.raises(ValueError, match=message):
        models[6, 6].predict(X)


def test_one_d_targets_give_one_d_output():
    X = np.random.default_rng(6).standard_normal((300, 6)).astype(np.float32)
    y = np.linalg.norm(X, axis=1)  # the singular value of a 1 x 6 matrix
    model = SingularValueRegressor(matrix_shape=(1, 6), **SMALL).fit(X, y)
    pred = model.predict(X[:3])
    assert pred.shape == (3,) and pred.dtype == np.float64
    np.testing.assert_allclose(pred, y[:3], rtol=1e-6)


def test_unfitted_model_raises_not_fitted():
    with pytest.raises(NotFittedError):
        SingularValueRegressor().predict(np.ones((1, 16)))


def test_plain_arrays_skip_validation_and_the_torch_route(models, monkeypatch):
    model = copy.deepcopy(models[6, 6])

    def full_path(*args, **kwargs):
        raise AssertionError("the full path ran")

    monkeypatch.setattr(SingularValueRegressor, "_validate_new_X", full_path)
    monkeypatch.setattr(svlearn._route, "equivariant_spectra", full_path)
    X = np.random.default_rng(7).standard_normal((1, 36))
    for batch in (X, X.astype(np.float32), X.reshape(1, 6, 6)):
        assert model.predict(batch).shape == (1, 6)
    # At every batch size: the route does not depend on it.
    assert model.predict(np.zeros((2049, 36))).shape == (2049, 6)
    # Anything that validation would change takes the full path too.
    with pytest.raises(AssertionError, match="full path"):
        model.predict(np.asfortranarray(np.ones((3, 36))))
    with pytest.raises(AssertionError, match="full path"):
        model.predict(X.tolist())


def test_wrong_shapes_take_the_full_path_and_raise(models):
    model = models[6, 6]
    with pytest.raises(ValueError, match="36 features"):
        model.predict(np.ones((1, 35)))
    with pytest.raises(ValueError, match=r"\(6, 6\)"):
        model.predict(np.ones((1, 4, 9)))


def test_lean_path_records_its_input_for_scorers(models):
    model = models[6, 6]
    X = np.random.default_rng(8).standard_normal((2, 6, 6))
    with recording_prediction_inputs() as records:
        model.predict(X)
    [(name, recorded, shape)] = records
    assert name == "SingularValueRegressor" and shape == (6, 6)
    np.testing.assert_array_equal(recorded, X.reshape(2, 36))


def test_plan_follows_weight_updates(monkeypatch):
    model = _fit((4, 4))
    X = np.random.default_rng(9).standard_normal((5, 16)).astype(np.float32)
    before = model.predict(X)
    model.partial_fit(np.random.default_rng(10).standard_normal((300, 16)))
    after = model.predict(X)
    assert not np.array_equal(before, after)
    assert np.all(_deviation(after, _torch_predict(model, X, monkeypatch)) <= 1e-5)


@pytest.mark.parametrize("head", ["subspace", "frobenius", "raw"])
def test_other_heads_take_the_torch_path(matrices, head):
    model = SingularValueRegressor(head=head, **SMALL).fit(matrices)
    assert svlearn._lean.ritz_plan(model.net_.module_) is None
    assert model.predict(matrices[:1]).shape == (1, 6)
