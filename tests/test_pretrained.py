# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The shipped pretrained models, their manifests, and the synthetic families."""

import fnmatch
import hashlib
import importlib
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svlearn
from svlearn import _persistence
from svlearn._pretrained import (
    FAMILIES,
    SHAPES,
    model_folder,
    read_manifest,
    synthetic_matrices,
)
from svlearn.metrics import nmse_per_matrix

ROOT = Path(__file__).resolve().parents[1]


def _exact(X, n):
    return np.linalg.svd(X.reshape(-1, n, n).astype(np.float64), compute_uv=False)


@pytest.fixture(scope="module")
def models():
    # Loaded once; tests that change a model load their own.
    return {n: svlearn.pretrained(n) for n in SHAPES}


def test_pretrained_models_lists_every_shipped_shape():
    listing = svlearn.pretrained_models()
    assert [m["shape"] for m in listing] == [(n, n) for n in SHAPES]
    for entry in listing:
        n = entry["shape"][0]
        assert entry["file"] == f"svlearn-{n}x{n}.safetensors"
        assert sum(entry["trained_on"].values()) == (
            entry["n_train"] + entry["n_calibration"]
        )
        assert set(FAMILIES) <= set(entry["trained_on"])
        assert set(FAMILIES) <= set(entry["nmse"])


@pytest.mark.parametrize("n", SHAPES)
def test_shipped_file_matches_its_manifest_digest_and_size(n):
    manifest = read_manifest(n)
    data = (model_folder() / manifest["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    assert len(data) == manifest["size_bytes"]


@pytest.mark.parametrize("n", SHAPES)
def test_shipped_model_is_fitted_and_calibrated_for_its_shape(models, n):
    reg = models[n]
    assert isinstance(reg, svlearn.SingularValueRegressor)
    assert reg.matrix_shape_ == (n, n)
    assert reg.n_calibration_ == read_manifest(n)["n_calibration"]
    X = synthetic_matrices("gaussian", 5, n, random_state=0)
    pred, error = reg.predict(X, return_error=True)
    assert pred.shape == (5, n) and error.shape == (5,)
    assert np.all(np.diff(pred, axis=1) <= 0)


@pytest.mark.parametrize("n", SHAPES)
def test_shipped_model_reproduces_its_manifest_check_sample(models, n):
    check = read_manifest(n)["check"]
    X = synthetic_matrices(
        check["family"], check["n_matrices"], n, random_state=check["random_state"]
    )
    nmse = nmse_per_matrix(_exact(X, n), models[n].predict(X)).mean()
    assert nmse == pytest.approx(check["nmse_mean"], rel=1e-2)


@pytest.mark.parametrize("n", SHAPES)
def test_shipped_model_predicts_within_its_manifest_accuracy(models, n):
    # A fresh sample of each family (seed unused by the build): its median
    # NMSE must lie below the 90th percentile the manifest measured.
    metrics = read_manifest(n)["metrics"]
    too_wrong = {}
    for i, family in enumerate(FAMILIES):
        X = synthetic_matrices(family, 100, n, random_state=777 + i)
        median = float(np.median(nmse_per_matrix(_exact(X, n), models[n].predict(X))))
        if median > metrics[family]["nmse_p90"]:
            too_wrong[family] = (median, metrics[family]["nmse_p90"])
    assert not too_wrong, f"median NMSE above the manifest's p90: {too_wrong}"


def test_each_call_returns_a_fresh_object():
    first, second = svlearn.pretrained(8), svlearn.pretrained((8, 8))
    assert first is not second and first.net_ is not second.net_
    X = synthetic_matrices("uniform", 300, 8, random_state=0)
    before = second.predict(X)
    first.partial_fit(X)
    assert not np.array_equal(first.predict(X), before)
    assert np.array_equal(svlearn.pretrained(8).predict(X), before)


def test_partial_fit_from_a_pretrained_model_continues_its_training():
    reg = svlearn.pretrained(16)
    fresh = svlearn.SingularValueRegressor(random_state=0)
    train = synthetic_matrices("exponential", 4000, 16, random_state=10)
    test = synthetic_matrices("exponential", 500, 16, random_state=11)
    S = _exact(test, 16)
    before = nmse_per_matrix(S, reg.predict(test)).mean()
    for _ in range(3):
        reg.partial_fit(train)
        fresh.partial_fit(train)
    after = nmse_per_matrix(S, reg.predict(test)).mean()
    assert after < before
    # Continued, not restarted: better than the same epochs from scratch.
    assert after < nmse_per_matrix(S, fresh.predict(test)).mean()
    # Training invalidates the shipped calibration; calibrating again restores
    # error estimates.
    with pytest.raises(ValueError, match="calibrated model"):
        reg.predict(test, return_error=True)
    reg.calibrate(synthetic_matrices("exponential", 400, 16, random_state=12))
    assert reg.predict(test, return_error=True)[1].shape == (500,)


@pytest.mark.parametrize(
    "shape", [16, (16, 16), [16, 16], np.int64(16), (np.int32(16), 16)]
)
def test_pretrained_accepts_an_int_or_a_square_pair(shape):
    assert svlearn.pretrained(shape).matrix_shape_ == (16, 16)


@pytest.mark.parametrize("shape", [12, 0, -8, 128, (12, 12)])
def test_pretrained_names_the_shapes_that_exist_for_a_missing_shape(shape):
    with pytest.raises(ValueError, match="There is no pretrained model for") as info:
        svlearn.pretrained(shape)
    assert "8 (or (8, 8)), 16 (or (16, 16)), 32 (or (32, 32)), 64" in str(info.value)


def test_pretrained_refuses_a_non_square_shape():
    with pytest.raises(ValueError, match=re.escape("shape=(8, 16) is not square")):
        svlearn.pretrained((8, 16))


@pytest.mark.parametrize(
    "shape", ["32", 32.0, True, (32,), (32, 32, 1), None, (32, 32.0)]
)
def test_pretrained_refuses_a_shape_of_the_wrong_type(shape):
    with pytest.raises(TypeError, match="shape must be an int or a tuple of two ints"):
        svlearn.pretrained(shape)


def test_pretrained_silences_the_version_warning_of_shipped_files(monkeypatch):
    current = _persistence._current_versions()
    monkeypatch.setattr(
        _persistence, "_current_versions", lambda: {**current, "torch": "0.0.1"}
    )
    path = model_folder() / "svlearn-8x8.safetensors"
    with pytest.warns(svlearn.InconsistentVersionWarning):
        svlearn.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svlearn.pretrained(8)


def test_no_submodule_shadows_the_pretrained_function():
    # A folder svlearn/pretrained/ would import as a namespace package and
    # replace svlearn.pretrained (the function) on the package.
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("svlearn.pretrained")
    assert callable(svlearn.pretrained) and callable(svlearn.pretrained_models)


def test_pyproject_ships_every_model_file_as_package_data():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(
        r"^\[tool\.setuptools\.package-data\]\n(.*?)^$", text, re.S | re.M
    )
    patterns = re.findall(r'"([^"]+)"', re.search(r"svlearn = \[(.*?)\]", block[1])[1])
    shipped = sorted(p.name for p in Path(str(model_folder())).iterdir())
    assert shipped == sorted(
        f"svlearn-{n}x{n}.{ext}" for n in SHAPES for ext in ("json", "safetensors")
    )
    for name in shipped:
        assert any(fnmatch.fnmatch(f"_pretrained_files/{name}", p) for p in patterns), (
            name
        )


@given(
    family=st.sampled_from(sorted(FAMILIES)),
    n=st.integers(2, 10),
    n_matrices=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
@settings(max_examples=60, deadline=None)
def test_synthetic_matrices_are_seeded_finite_float32_of_the_asked_shape(
    family, n, n_matrices, seed
):
    X = synthetic_matrices(family, n_matrices, n, random_state=seed)
    assert X.shape == (n_matrices, n * n) and X.dtype == np.float32
    assert np.isfinite(X).all()
    assert np.array_equal(X, synthetic_matrices(family, n_matrices, n, seed))


@pytest.mark.parametrize(
    ("family", "check"),
    [
        ("uniform", lambda X, s: X.min() >= 0 and X.max() < 1),
        ("low_rank", lambda X, s: set((s > 1e-4 * s[:, :1]).sum(axis=1)) == {5}),
        ("power_law", lambda X, s: _is_power_law(s)),
        ("toeplitz", lambda X, s: _is_toeplitz(X)),
    ],
)
def test_synthetic_families_have_their_structure(family, check):
    X = synthetic_matrices(family, 20, 12, random_state=0)
    assert check(X, _exact(X, 12))


def _is_power_law(s):
    # s_i / s_1 = i**-a: the same exponent a at every index.
    exponents = np.log(s[:, 1:] / s[:, :1]) / np.log(np.arange(2, s.shape[1] + 1))
    return np.allclose(exponents, exponents[:, :1], atol=1e-3)


def _is_toeplitz(X):
    A = X.reshape(-1, 12, 12).astype(np.float64)
    # Each diagonal is constant, up to the 1% noise of the kernel half.
    return np.allclose(A[:, 1:, 1:], A[:, :-1, :-1], atol=0.1)


def test_synthetic_matrices_names_the_families_for_an_unknown_one():
    with pytest.raises(ValueError, match=r"family must be one of \['exponential'"):
        synthetic_matrices("cauchy", 2, 8)
    with pytest.raises(ValueError, match="n must be an integer of at least 2, got 1"):
        synthetic_matrices("gaussian", 2, 1)
