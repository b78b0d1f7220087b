# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import ast
import copy
import importlib
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from conftest import ONE_BLAS_THREAD, one_blas_thread
from safetensors import safe_open
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.exceptions import DeviceWarning

import svlearn
from svlearn import (
    MatrixWindowTransformer,
    MeanSpectrumRegressor,
    SingularValueRegressor,
    SVDLight,
    _trust,
)
from svlearn._model_file import FORMAT_VERSION, write_model_file

FAST = dict(hidden_layer_sizes=(16,), max_iter=2, batch_size=64, random_state=0)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "model.safetensors"


def _spec_and_arrays(path):
    with safe_open(os.fspath(path), framework="np") as f:
        meta = f.metadata()
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    return json.loads(meta["spec"]), arrays


def test_round_trip_in_fresh_process_without_pickle(fitted, matrices, tmp_path):
    """A fresh interpreter, with pickle and torch.load poisoned, predicts the same."""
    pipe = make_pipeline(StandardScaler(), SingularValueRegressor(**FAST))
    pipe.fit(matrices)
    mean = MeanSpectrumRegressor().fit(matrices)
    models = {"reg": fitted, "pipe": pipe, "mean": mean}
    np.save(tmp_path / "X.npy", matrices)
    for name, model in models.items():
        svlearn.save(model, tmp_path / f"{name}.safetensors")
    script = textwrap.dedent(
        f"""
        import pickle, _pickle, sys

        def poisoned(*args, **kwargs):
            raise AssertionError("unpickling was attempted")

        class Poisoned:
            def __init__(self, *args, **kwargs):
                poisoned()

        for module in (pickle, _pickle):
            module.load = module.loads = poisoned
            module.Unpickler = Poisoned
        pickle._Unpickler.load = poisoned
        import torch
        torch.load = poisoned
        torch.set_num_threads(1)

        import numpy as np
        import svlearn

        X = np.load({str(tmp_path / "X.npy")!r}, allow_pickle=False)
        for name in {sorted(models)!r}:
            model = svlearn.load({str(tmp_path)!r} + "/" + name + ".safetensors")
            np.save({str(tmp_path)!r} + "/" + name + "_pred.npy", model.predict(X))
        """
    )
    env = {**os.environ, **ONE_BLAS_THREAD, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    for name, model in models.items():
        loaded = np.load(tmp_path / f"{name}_pred.npy", allow_pickle=False)
        with one_blas_thread():
            expected = model.predict(matrices)
        np.testing.assert_array_equal(loaded, expected, strict=True)


def test_round_trip_keeps_parameters_and_fitted_state(fitted, matrices, path):
    svlearn.save(fitted, path)
    loaded = svlearn.load(path)
    assert loaded.get_params() == fitted.get_params()
    for attr in ("matrix_shape_", "n_features_in_", "n_outputs_", "scale_", "n_iter_"):
        assert getattr(loaded, attr) == getattr(fitted, attr)
        assert type(getattr(loaded, attr)) is type(getattr(fitted, attr))
    assert loaded.loss_curve_ == fitted.loss_curve_
    assert loaded.best_loss_ == fitted.best_loss_
    original = fitted.net_.module_.state_dict()
    for key, tensor in loaded.net_.module_.state_dict().items():
        assert torch.equal(tensor, original[key])


def test_round_trip_every_svlearn_estimator(fitted, matrices, path):
    X3 = matrices.reshape(-1, 6, 6)
    images = np.random.default_rng(0).random((2, 12, 14))
    cases = [
        (MeanSpectrumRegressor(scaling="power").fit(matrices), "predict", matrices),
        (MatrixWindowTransformer(window_shape=(4, 5), strides=2), "transform", images),
        (SVDLight(k=2, regressor=fitted, random_state=0).fit(X3), "transform", X3),
        (
            SVDLight(k=3, regressor=FrozenEstimator(fitted), random_state=1).fit(X3),
            "transform",
            X3,
        ),
        (
            make_pipeline(
                MatrixWindowTransformer(window_shape=(3, 3), strides=3),
                PCA(n_components=4, random_state=0),
            ).fit(images),
            "transform",
            images,
        ),
    ]
    for est, method, X in cases:
        svlearn.save(est, path)
        loaded = svlearn.load(path)
        assert type(loaded) is type(est)
        expected = getattr(est, method)(X)
        np.testing.assert_array_equal(getattr(loaded, method)(X), expected, strict=True)


def test_shared_objects_stay_shared(fitted, matrices, path):
    svd = SVDLight(k=2, regressor=fitted).fit(matrices)
    svlearn.save(svd, path)
    loaded = svlearn.load(path)
    assert loaded.regressor is loaded.regressor_


def test_string_feature_names_round_trip(matrices, path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(matrices[:, :4], columns=list("abcd"))
    scaler = StandardScaler().fit(frame)
    svlearn.save(scaler, path)
    loaded = svlearn.load(path)
    assert loaded.feature_names_in_.dtype == object
    assert list(loaded.feature_names_in_) == list("abcd")
    np.testing.assert_array_equal(loaded.transform(frame), scaler.transform(frame))


def test_load_leaves_global_torch_rng_alone(fitted, path):
    svlearn.save(fitted, path)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    svlearn.load(path)
    assert torch.equal(torch.rand(3), expected)


def test_cuda_model_loads_on_cpu_with_warning(fitted, matrices, path):
    # Simulate a file written on a GPU machine: same weights, device "cuda".
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    root = spec["root"]
    root["params"]["device"] = "cuda"
    root["state"]["net_"]["device"] = "cuda"
    write_model_file(spec, arrays, path)
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        with pytest.warns(DeviceWarning, match="CUDA is not available"):
            loaded = svlearn.load(path)
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict(matrices), fitted.predict(matrices))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_trained_model_predicts_on_cpu(matrices, path):
    reg = SingularValueRegressor(**FAST, device="cuda").fit(matrices)
    svlearn.save(reg, path)
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        with pytest.warns(DeviceWarning):
            loaded = svlearn.load(path)
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(
        loaded.predict(matrices), reg.predict(matrices), rtol=1e-4, atol=1e-6
    )


def test_refuses_truncated_file(fitted, path):
    svlearn.save(fitted, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10])
    with pytest.raises(ValueError, match="not a readable svlearn model file"):
        svlearn.load(path)


def test_refuses_altered_weights_and_header(fitted, path):
    svlearn.save(fitted, path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one bit of one network weight
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="altered or corrupted"):
        svlearn.load(path)

    svlearn.save(fitted, path)
    data = path.read_bytes()
    # Same length, so the safetensors layout stays valid: only the digest tells.
    altered = data.replace(b"random_state", b"random_stat3", 1)
    assert altered != data
    path.write_bytes(altered)
    with pytest.raises(ValueError, match="altered or corrupted"):
        svlearn.load(path)


def test_refuses_class_outside_allow_list_without_importing(fitted, path):
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    spec["root"]["class"] = "svlearn_evil_module.Payload"
    write_model_file(spec, arrays, path)
    with pytest.raises(ValueError, match="not on svlearn's allow-list"):
        svlearn.load(path)
    assert "svlearn_evil_module" not in sys.modules


def test_refuses_newer_format_and_foreign_files(fitted, path, tmp_path):
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    write_model_file(spec, arrays, path, version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="newer than this svlearn reads"):
        svlearn.load(path)
    write_model_file(spec, arrays, path, version=1)
    with pytest.raises(ValueError, match="earlier development version"):
        svlearn.load(path)

    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3)}, os.fspath(other))
    with pytest.raises(ValueError, match="not an svlearn model file"):
        svlearn.load(other)

    pickled = tmp_path / "model.joblib"
    joblib.dump(fitted, pickled)
    with pytest.raises(ValueError, match="not a readable svlearn model file"):
        svlearn.load(pickled)


def test_refuses_malformed_description(fitted, path):
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    spec["root"]["params"] = ["device"]
    write_model_file(spec, arrays, path)
    with pytest.raises(ValueError, match="params must be a JSON object"):
        svlearn.load(path)


def test_refuses_setting_methods(fitted, path):
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    spec["root"]["state"]["predict"] = 1
    write_model_file(spec, arrays, path)
    with pytest.raises(ValueError, match="'predict' is not a fitted attribute"):
        svlearn.load(path)


def test_save_refuses_unsupported_objects_pointing_to_joblib(matrices, path):
    pipe = make_pipeline(FunctionTransformer(np.abs), MeanSpectrumRegressor())
    with pytest.raises(TypeError, match=r"FunctionTransformer.*joblib\.dump"):
        svlearn.save(pipe.fit(matrices), path)
    reg = MeanSpectrumRegressor().fit(matrices)
    reg.extra_ = object()
    with pytest.raises(TypeError, match=r"estimator\.extra_.*joblib\.dump"):
        svlearn.save(reg, path)
    rng = np.random.RandomState(0)
    with pytest.raises(TypeError, match="random_state"):
        svlearn.save(MatrixWindowTransformer(random_state=rng), path)
    with pytest.raises(TypeError, match="must be an estimator"):
        svlearn.save([1, 2], path)
    assert not path.exists()


def test_joblib_keeps_working(fitted, matrices, tmp_path):
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict(matrices), fitted.predict(matrices))


# --- The loader refuses crafted files ---------------------------------------
# A crafted file carries a valid digest (anyone can recompute it), so each of
# these tests rewrites the description and re-signs it with write_model_file.


def _craft(path, edit):
    """Apply ``edit(spec, arrays)`` to the saved file and re-sign it."""
    spec, arrays = _spec_and_arrays(path)
    edit(spec, arrays)
    write_model_file(spec, arrays, path)


def _tuple(*items):
    return {"type": "tuple", "items": list(items)}


def _peak_rss_growth_mb(fn):
    """Call ``fn()``; return its outcome and how far the peak RSS rose, in MB.

    The kernel's peak-RSS counter (VmHWM) is reset first, so the growth is
    this call's own, torch's allocations included (tracemalloc misses them).
    """
    status = "/proc/self/status"
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux's /proc to measure peak memory")

    def peak_kb():
        with open(status) as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM line")

    def current_kb():
        with open(status) as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = current_kb()
    try:
        outcome = fn()
    except Exception as exc:  # the caller inspects it
        outcome = exc
    return outcome, (peak_kb() - before) / 1024


def test_huge_declared_architecture_is_refused_before_allocating(fitted, path):
    svlearn.save(fitted, path)

    def huge(spec, arrays):
        root = spec["root"]
        root["params"]["hidden_layer_sizes"] = _tuple(15000, 15000)
        module_params = root["state"]["net_"]["module_params"]
        module_params["module__hidden_layer_sizes"] = _tuple(15000, 15000)

    _craft(path, huge)
    assert path.stat().st_size < 64_000
    start = time.perf_counter()
    outcome, growth = _peak_rss_growth_mb(lambda: svlearn.load(path))
    elapsed = time.perf_counter() - start
    assert isinstance(outcome, ValueError), outcome
    assert elapsed < 0.5, f"{elapsed:.2f} s"
    # A 15000 x 15000 float32 layer alone is 900 MB.
    assert growth < 50, f"peak RSS grew by {growth:.0f} MB"
    assert re.search(r"mlp\.\d\.weight.*\(15000, 6\).*\(16, 6\)", str(outcome))


@pytest.mark.parametrize(
    "attr, value",
    [
        ("_parameter_constraints", {"type": "dict", "items": {}}),
        ("_private_", 1),
        ("_y_2d", True),
        ("extra_", 1.0),
        ("predict", 1),
        ("__class__", "x"),
        ("_repr_html_", 1),
    ],
)
def test_state_sets_only_declared_fitted_attributes(fitted, path, attr, value):
    constraints = dict(SingularValueRegressor._parameter_constraints)
    svlearn.save(fitted, path)
    _craft(path, lambda spec, arrays: spec["root"]["state"].update({attr: value}))
    with pytest.raises(
        ValueError, match=f"'{re.escape(attr)}'.*not a fitted attribute"
    ):
        svlearn.load(path)
    # Parameter validation is as it was: a bad value still raises.
    assert SingularValueRegressor._parameter_constraints == constraints
    with pytest.raises(ValueError, match="max_iter"):
        SingularValueRegressor(max_iter=0).fit(np.ones((4, 4)))


@pytest.mark.parametrize(
    "key, value",
    [("max_epochs", 10**9), ("lr", 1.0), ("module", "torch.nn.Linear"), ("x", 1)],
)
def test_network_takes_only_module_parameters(fitted, path, key, value):
    svlearn.save(fitted, path)

    def edit(spec, arrays):
        spec["root"]["state"]["net_"]["module_params"][key] = value

    _craft(path, edit)
    with pytest.raises(ValueError, match=f"'{key}'.*module parameter"):
        svlearn.load(path)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("module__activation", "softmax", "activation"),
        ("module__dropout", 1.5, "dropout"),
        ("module__n_iter", 10**12, "n_iter"),
        ("module__hidden_layer_sizes", _tuple(16, -1), "hidden_layer_sizes"),
        ("module__matrix_shape", _tuple(4, 9), "matrix_shape"),
    ],
)
def test_module_parameters_are_validated(fitted, path, key, value, match):
    svlearn.save(fitted, path)

    def edit(spec, arrays):
        spec["root"]["state"]["net_"]["module_params"][key] = value

    _craft(path, edit)
    with pytest.raises(ValueError, match=match):
        svlearn.load(path)


@pytest.fixture(scope="module")
def calibrated(matrices):
    """A regressor with error estimates (210 of 300 matrices calibrate)."""
    return SingularValueRegressor(calibration_fraction=0.7, **FAST).fit(matrices)


@pytest.mark.parametrize(
    "attr, value, match",
    [
        ("matrix_shape_", _tuple(4, 9), "matrix_shape_"),
        ("matrix_shape_", _tuple(5, 5), "n_features_in_"),
        ("matrix_shape_", {"type": "list", "items": [6, 6]}, "matrix_shape_"),
        ("n_features_in_", 25, "n_features_in_"),
        ("n_outputs_", 5, "n_outputs_"),
        ("_y_1d", True, "_y_1d"),
        ("scale_", -1.0, "scale_"),
        ("error_offset_", {"type": "float", "value": "nan"}, "error_offset_"),
        ("error_coef_", None, "error_coef_"),
        ("n_calibration_", None, "error_coef_"),
        ("refine_route_", _tuple(8, 10**6), "refine_route_"),
        ("refine_route_", {"type": "list", "items": [8, 1]}, "refine_route_"),
    ],
)
def test_inconsistent_fitted_state_is_refused(calibrated, path, attr, value, match):
    svlearn.save(calibrated, path)

    def edit(spec, arrays):
        state = spec["root"]["state"]
        if value is None:
            del state[attr]
        else:
            state[attr] = value

    _craft(path, edit)
    with pytest.raises(ValueError, match=match):
        svlearn.load(path)


def test_file_without_the_refinement_route_loads_with_the_legacy_route(
    calibrated, matrices, path
):
    from svlearn._tiers import LEGACY_REFINE, refined_spectra

    svlearn.save(calibrated, path)

    def edit(spec, arrays):
        del spec["root"]["state"]["refine_route_"]

    _craft(path, edit)
    loaded = svlearn.load(path)
    assert not hasattr(loaded, "refine_route_")
    first = loaded._predict_all(matrices[:20]).pred
    pred, _ = _trust.refine(loaded, matrices[:20], first)
    shape = loaded.matrix_shape_
    expected = refined_spectra(
        matrices[:20], shape, loaded.refine_template_, LEGACY_REFINE
    )
    np.testing.assert_array_equal(pred, expected.pred)


def test_refinement_route_without_the_tier_is_refused(calibrated, path):
    svlearn.save(calibrated, path)

    def edit(spec, arrays):
        state = spec["root"]["state"]
        for name in (
            "refine_template_",
            "refine_error_coef_",
            "refine_error_offset_",
            "refine_feature_range_",
        ):
            del state[name]

    _craft(path, edit)
    with pytest.raises(ValueError, match="refine_route_"):
        svlearn.load(path)


def test_error_coefficients_must_fit_the_error_features(calibrated, path):
    svlearn.save(calibrated, path)

    def edit(spec, arrays):
        key = spec["root"]["state"]["error_coef_"]["key"]
        arrays[key] = arrays[key][:4]

    _craft(path, edit)
    with pytest.raises(ValueError, match=r"error_coef_.*\(6,\)"):
        svlearn.load(path)


def test_mean_spectrum_state_must_fit_the_shape(matrices, path):
    reg = MeanSpectrumRegressor(scaling="subspace", n_components=2).fit(matrices)
    svlearn.save(reg, path)

    def edit(spec, arrays):
        key = spec["root"]["state"]["template_"]["key"]
        arrays[key] = np.ones(7)

    _craft(path, edit)
    with pytest.raises(ValueError, match=r"template_.*\(4,\)"):
        svlearn.load(path)


def test_svdlight_k_must_fit_its_matrices(fitted, matrices, path):
    svd = SVDLight(k=2, regressor=fitted).fit(matrices)
    svlearn.save(svd, path)
    _craft(path, lambda spec, arrays: spec["root"]["params"].update(k=9))
    with pytest.raises(ValueError, match="k=9"):
        svlearn.load(path)


def test_max_error_needs_an_error_model_to_save_or_load(fitted, path):
    uncalibrated = copy.deepcopy(fitted).set_params(max_error=0.1)
    with pytest.raises(ValueError, match="max_error=0.1 needs the error model"):
        svlearn.save(uncalibrated, path)
    svlearn.save(fitted, path)
    _craft(path, lambda spec, arrays: spec["root"]["params"].update(max_error=0.1))
    with pytest.raises(ValueError, match="max_error=0.1 needs the error model"):
        svlearn.load(path)


def test_every_stored_array_is_used_once(fitted, path):
    svlearn.save(fitted, path)
    _craft(path, lambda spec, arrays: arrays.update(extra=np.zeros(3)))
    with pytest.raises(ValueError, match=r"arrays \['extra'\] that nothing uses"):
        svlearn.load(path)

    def alias(spec, arrays):
        weights = spec["root"]["state"]["net_"]["state_dict"]
        weights["mlp.0.bias"] = weights["mlp.2.bias"]

    svlearn.save(fitted, path)
    _craft(path, alias)
    with pytest.raises(ValueError, match="a second time"):
        svlearn.load(path)


def test_unfitted_state_is_refused(fitted, path):
    svlearn.save(fitted, path)
    _craft(path, lambda spec, arrays: spec["root"].update(state={}))
    with pytest.raises(ValueError, match="not fitted"):
        svlearn.load(path)


def test_pipeline_memory_is_never_saved_or_loaded(matrices, path, tmp_path):
    pipe = make_pipeline(StandardScaler(), MeanSpectrumRegressor(), memory=None)
    pipe.fit(matrices)
    cached = make_pipeline(
        StandardScaler(), MeanSpectrumRegressor(), memory=str(tmp_path / "cache")
    ).fit(matrices)
    with pytest.raises(ValueError, match=r"estimator\.memory"):
        svlearn.save(cached, path)
    assert not path.exists()

    svlearn.save(pipe, path)
    folder = str(tmp_path / "cache")
    _craft(path, lambda spec, arrays: spec["root"]["params"].update(memory=folder))
    with pytest.raises(ValueError, match="memory"):
        svlearn.load(path)


def test_load_names_the_path_of_a_folder_missing_or_empty_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        svlearn.load(tmp_path)
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        svlearn.load(missing)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=f"{re.escape(str(empty))}.*empty"):
        svlearn.load(empty)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_file_mode_follows_the_umask(matrices, tmp_path, umask):
    reg = MeanSpectrumRegressor().fit(matrices)
    old = os.umask(umask)
    try:
        svlearn.save(reg, tmp_path / "model.safetensors")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "model.safetensors").stat().st_mode)
    assert mode == 0o666 & ~umask, oct(mode)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_saving_an_unfitted_estimator_raises_not_fitted(fitted, matrices, path):
    with pytest.raises(NotFittedError, match="SingularValueRegressor"):
        svlearn.save(SingularValueRegressor(), path)
    with pytest.raises(NotFittedError, match=r"steps\[0\].*StandardScaler"):
        svlearn.save(make_pipeline(StandardScaler(), PCA(n_components=2)), path)
    # The final step is fitted, the first is not: still not usable.
    with pytest.raises(NotFittedError, match=r"steps\[0\].*StandardScaler"):
        svlearn.save(make_pipeline(StandardScaler(), FrozenEstimator(fitted)), path)
    with pytest.raises(NotFittedError, match=r"steps\[1\].estimator.*PCA"):
        scaler = StandardScaler().fit(matrices)
        svlearn.save(make_pipeline(scaler, FrozenEstimator(PCA())), path)
    assert not path.exists()
    # Stateless: its tags say requires_fit=False.
    svlearn.save(MatrixWindowTransformer(window_shape=3), path)
    assert svlearn.load(path).window_shape == 3


def test_allow_list_holds_only_tested_classes(path):
    from svlearn._allow_list import ALLOWED

    assert sorted(ALLOWED) == sorted(ROUND_TRIPS)
    from sklearn.preprocessing import MinMaxScaler

    with pytest.raises(TypeError, match="MinMaxScaler.*allow-list"):
        svlearn.save(MinMaxScaler().fit(np.ones((3, 2))), path)


def _pipeline_case(matrices):
    images = np.random.default_rng(0).random((2, 12, 14))
    pipe = make_pipeline(
        MatrixWindowTransformer(window_shape=(3, 3), strides=3),
        StandardScaler(),
        PCA(n_components=4, random_state=0),
    )
    return pipe.fit(images), "transform", images


# One fitted example of each class on the allow-list, by its allow-list name.
ROUND_TRIPS = {
    "svlearn.SingularValueRegressor": lambda fitted, X: (fitted, "predict", X),
    "svlearn.MeanSpectrumRegressor": lambda fitted, X: (
        MeanSpectrumRegressor(scaling="subspace").fit(X),
        "predict",
        X,
    ),
    "svlearn.MatrixWindowTransformer": lambda fitted, X: (
        MatrixWindowTransformer(window_shape=(4, 5), strides=2),
        "transform",
        X.reshape(-1, 6, 6)[:5],
    ),
    "svlearn.SVDLight": lambda fitted, X: (
        SVDLight(k=2, regressor=fitted, random_state=0).fit(X),
        "transform",
        X,
    ),
    "sklearn.pipeline.Pipeline": lambda fitted, X: _pipeline_case(X),
    "sklearn.frozen.FrozenEstimator": lambda fitted, X: (
        FrozenEstimator(fitted),
        "predict",
        X,
    ),
    "sklearn.preprocessing.StandardScaler": lambda fitted, X: (
        StandardScaler().fit(X),
        "transform",
        X,
    ),
    "sklearn.decomposition.PCA": lambda fitted, X: (
        PCA(n_components=3, whiten=True, random_state=0).fit(X),
        "transform",
        X,
    ),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_round_trip_each_allowed_class(name, fitted, matrices, path):
    est, method, X = ROUND_TRIPS[name](fitted, matrices)
    svlearn.save(est, path)
    loaded = svlearn.load(path)
    assert type(loaded) is type(est)
    expected = getattr(est, method)(X)
    np.testing.assert_array_equal(getattr(loaded, method)(X), expected, strict=True)


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_every_fitted_attribute_is_declared(name, fitted, matrices):
    from svlearn._allow_list import format_of

    est, _, _ = ROUND_TRIPS[name](fitted, matrices)
    declared = set(format_of(est).attributes)
    fitted_attrs = set(vars(est)) - set(est.get_params(deep=False))
    assert fitted_attrs <= declared, sorted(fitted_attrs - declared)


def test_calibrated_and_early_stopping_state_round_trips(calibrated, matrices, path):
    stopping = SingularValueRegressor(early_stopping=True, **FAST).fit(matrices)
    assert stopping.validation_scores_ is not None
    for est in (calibrated, stopping):
        svlearn.save(est, path)
        loaded = svlearn.load(path)
        for attr in set(vars(est)) - set(est.get_params()) - {"net_"}:
            assert repr(getattr(loaded, attr)) == repr(getattr(est, attr)), attr
        np.testing.assert_array_equal(loaded.predict(matrices), est.predict(matrices))
    pred, error = calibrated.predict(matrices, return_error=True)
    svlearn.save(calibrated, path)
    loaded_pred, loaded_error = svlearn.load(path).predict(matrices, return_error=True)
    np.testing.assert_array_equal(loaded_pred, pred)
    np.testing.assert_array_equal(loaded_error, error)


# The modules that save and load model files, from the bottom up.
PERSISTENCE_MODULES = (
    "_model_formats",
    "_regressor_format",
    "_allow_list",
    "_model_tree",
    "_model_file",
    "_persistence",
)


@pytest.mark.parametrize("name", PERSISTENCE_MODULES)
def test_generic_code_does_not_build_the_regressor_net(name):
    module = importlib.import_module(f"svlearn.{name}")
    assert "_build_net" not in Path(module.__file__).read_text()


@pytest.mark.parametrize("index", range(len(PERSISTENCE_MODULES)))
def test_persistence_modules_import_only_the_ones_below(index):
    name = PERSISTENCE_MODULES[index]
    source = Path(importlib.import_module(f"svlearn.{name}").__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module is None:  # from . import _x
                imported.update(alias.name for alias in node.names)
            else:
                imported.add(node.module.split(".")[0])
    upward = imported & set(PERSISTENCE_MODULES[index:])
    assert not upward, f"{name} imports {sorted(upward)}"


def test_versions_are_recorded_and_a_mismatch_warns(fitted, path):
    import sklearn
    import skorch

    svlearn.save(fitted, path)
    spec, _ = _spec_and_arrays(path)
    assert spec["versions"] == {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "svlearn": svlearn.__version__,
        "torch": torch.__version__,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svlearn.load(path)

    def older(spec, arrays):
        spec["versions"]["scikit-learn"] = "1.0.2"
        spec["versions"]["torch"] = "2.1.0"

    _craft(path, older)
    with pytest.warns(svlearn.InconsistentVersionWarning) as record:
        loaded = svlearn.load(path)
    message = str(record[0].message)
    assert "scikit-learn 1.0.2" in message and sklearn.__version__ in message
    assert "torch 2.1.0" in message and "numpy" not in message
    assert record[0].message.original_versions == {
        "scikit-learn": "1.0.2",
        "torch": "2.1.0",
    }
    assert isinstance(loaded, SingularValueRegressor)


def test_docs_call_the_digest_an_integrity_check_not_authentication():
    docs = (Path(__file__).parents[1] / "docs" / "persistence.md").read_text()
    for text in (docs, svlearn.load.__doc__, svlearn._persistence.__doc__):
        flat = " ".join(text.split())
        assert "integrity check, not authentication" in flat


def test_docs_compare_with_skops_and_joblib_in_a_table():
    docs = (Path(__file__).parents[1] / "docs" / "persistence.md").read_text()
    header = next(line for line in docs.splitlines() if line.startswith("| |"))
    assert "joblib" in header and "skops.io" in header and "svlearn" in header
    rows = [
        line.split("|")[1].strip() for line in docs.splitlines() if line[:2] == "| "
    ]
    for row in ("stores", "trusts", "why svlearn keeps its own"):
        assert any(row in r for r in rows), row


def test_partial_fit_after_load_continues_the_epoch_count(fitted, matrices, path):
    svlearn.save(fitted, path)
    loaded = svlearn.load(path)
    assert len(loaded.net_.history) == fitted.n_iter_
    trained = copy.deepcopy(fitted).partial_fit(matrices)
    loaded.partial_fit(matrices)
    assert loaded.n_iter_ == trained.n_iter_ == fitted.n_iter_ + 1
    assert loaded.loss_curve_[:-1] == fitted.loss_curve_
    assert len(loaded.loss_curve_) == len(trained.loss_curve_)


@pytest.mark.parametrize("kind", ["regressor", "mean", "svd"])
def test_n_features_that_do_not_fit_the_matrix_shape_are_refused(
    fitted, matrices, path, kind
):
    est = {
        "regressor": fitted,
        "mean": MeanSpectrumRegressor(scaling="power").fit(matrices),
        "svd": SVDLight(k=2, regressor=fitted, random_state=0).fit(matrices),
    }[kind]
    svlearn.save(est, path)

    def edit(spec, arrays):
        spec["root"]["state"]["n_features_in_"] = 35  # 6 x 6 matrices have 36

    _craft(path, edit)
    with pytest.raises(ValueError, match=r"n_features_in_=35 but matrix_shape_="):
        svlearn.load(path)


@pytest.mark.parametrize(
    "name",
    [
        "error_feature_range_",
        "interval_multipliers_",
        "refine_template_",
        "refine_error_coef_",
        "refine_feature_range_",
        "log_det_range_",
    ],
)
def test_calibration_arrays_of_the_wrong_shape_are_refused(calibrated, path, name):
    svlearn.save(calibrated, path)

    def edit(spec, arrays):
        key = spec["root"]["state"][name]["key"]
        arrays[key] = np.append(arrays[key], 0.0)  # flat, one value more

    _craft(path, edit)
    with pytest.raises(ValueError, match=f"Inconsistent calibration: {name} has shape"):
        svlearn.load(path)


def test_a_file_without_the_log_det_check_loads_and_skips_it(
    calibrated, path, matrices
):
    svlearn.save(calibrated, path)

    def edit(spec, arrays):
        del arrays[spec["root"]["state"].pop("log_det_range_")["key"]]

    _craft(path, edit)
    loaded = svlearn.load(path)
    assert not hasattr(loaded, "log_det_range_")
    unchecked = copy.copy(calibrated)
    del unchecked.log_det_range_
    np.testing.assert_array_equal(
        loaded.predict(matrices, return_error=True)[1],
        unchecked.predict(matrices, return_error=True)[1],
    )
