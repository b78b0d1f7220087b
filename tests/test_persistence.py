# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import json
import os
import subprocess
import sys
import textwrap
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from safetensors import safe_open
from sklearn.decomposition import PCA
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
)
from svlearn._persistence import FORMAT_VERSION, _write

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
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    for name, model in models.items():
        loaded = np.load(tmp_path / f"{name}_pred.npy", allow_pickle=False)
        np.testing.assert_array_equal(loaded, model.predict(matrices), strict=True)


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


def test_unfitted_and_string_feature_names(matrices, path):
    svlearn.save(SingularValueRegressor(hidden_layer_sizes=(4, 2)), path)
    assert svlearn.load(path).hidden_layer_sizes == (4, 2)
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
    _write(spec, arrays, path)
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
    _write(spec, arrays, path)
    with pytest.raises(ValueError, match="not on svlearn's allow-list"):
        svlearn.load(path)
    assert "svlearn_evil_module" not in sys.modules


def test_refuses_newer_format_and_foreign_files(fitted, path, tmp_path):
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    _write(spec, arrays, path, version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="newer than this svlearn reads"):
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
    _write(spec, arrays, path)
    with pytest.raises(ValueError, match="malformed description"):
        svlearn.load(path)


def test_refuses_setting_methods(fitted, path):
    svlearn.save(fitted, path)
    spec, arrays = _spec_and_arrays(path)
    spec["root"]["state"]["predict"] = 1
    _write(spec, arrays, path)
    with pytest.raises(ValueError, match="Refusing to set attribute 'predict'"):
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
        svlearn.save(SingularValueRegressor(random_state=rng), path)
    with pytest.raises(TypeError, match="must be an estimator"):
        svlearn.save([1, 2], path)
    assert not path.exists()


def test_joblib_keeps_working(fitted, matrices, tmp_path):
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict(matrices), fitted.predict(matrices))
