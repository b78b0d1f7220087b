# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import dask.array as da
import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDRegressor
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import svlearn.dask
from svlearn import (
    MatrixWindowTransformer,
    MeanSpectrumRegressor,
    SingularValueRegressor,
)
from svlearn.metrics import nmse_scorer

FAST = dict(hidden_layer_sizes=(8,), max_iter=2, batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def image():
    """One 70 x 83 matrix, float32, with some structure."""
    rng = np.random.default_rng(3)
    return (rng.random((70, 83)) + np.linspace(0, 1, 83)).astype(np.float32)


@pytest.fixture(scope="module")
def window_model(image):
    windows = MatrixWindowTransformer(window_shape=(6, 6), strides=2).transform(image)
    return SingularValueRegressor(**FAST).fit(windows)


def _assert_same_predictions(actual, expected):
    # A row's prediction does not depend on the batch it comes in (one route
    # per device): blocks agree with one in-memory call to float32 rounding,
    # 1e-6 per matrix (tests/test_route.py).
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    deviation = np.linalg.norm(actual - expected, axis=1) / np.maximum(
        np.linalg.norm(expected, axis=1), 1e-300
    )
    assert deviation.max() <= 1e-6, deviation.max()


def test_predict_blockwise_equals_in_memory(fitted, matrices):
    expected = fitted.predict(matrices)
    for X in (
        da.from_array(matrices, chunks=(37, 36)),
        da.from_array(matrices.reshape(-1, 6, 6), chunks=(50, 3, 6)),
    ):
        S = svlearn.dask.predict(fitted, X)
        assert isinstance(S, da.Array) and S.shape == expected.shape
        assert S.dtype == expected.dtype
        _assert_same_predictions(S.compute(), expected)


def test_predict_pipeline_with_windowing_and_transform(fitted, matrices):
    images = np.random.default_rng(0).random((9, 10, 14)).astype(np.float32)
    pipe = make_pipeline(MatrixWindowTransformer(window_shape=6, strides=4), fitted)
    S = svlearn.dask.predict(pipe, da.from_array(images, chunks=(4, 10, 14)))
    assert S.chunks[0] == (24, 24, 6)  # 6 windows per image
    _assert_same_predictions(S.compute(), pipe.predict(images))

    scaler = StandardScaler().fit(matrices)
    T = svlearn.dask.predict(scaler, da.from_array(matrices, 64), method="transform")
    np.testing.assert_array_equal(T.compute(), scaler.transform(matrices))


@pytest.mark.parametrize(
    "chunks, strides, max_block_windows",
    [((70, 83), (2, 2), 65536), ((16, 21), (2, 3), 65536), ((25, 40), (5, 1), 7)],
)
def test_spectral_map_equals_windows_then_predict(
    image, window_model, chunks, strides, max_block_windows
):
    windower = MatrixWindowTransformer(window_shape=(6, 6), strides=strides)
    expected = window_model.predict(windower.transform(image))
    S, origins = svlearn.dask.spectral_map(
        window_model,
        da.from_array(image, chunks=chunks),
        window_shape=(6, 6),
        strides=strides,
        max_block_windows=max_block_windows,
        return_origins=True,
    )
    n_r, n_c = (70 - 6) // strides[0] + 1, (83 - 6) // strides[1] + 1
    assert S.shape == (n_r, n_c, 6)
    assert max(S.chunks[0]) * max(S.chunks[1]) <= max_block_windows
    _assert_same_predictions(S.compute().reshape(-1, 6), expected)
    np.testing.assert_array_equal(origins, windower.window_origins(image))


def test_spectral_map_never_builds_all_windows(image, window_model, monkeypatch):
    seen = []
    original = svlearn.dask.extract_windows

    def spy(M, *args, **kwargs):
        out = original(M, *args, **kwargs)
        seen.append(out.shape[0])
        return out

    monkeypatch.setattr(svlearn.dask, "extract_windows", spy)
    monkeypatch.setattr(svlearn.dask, "_BATCH_WINDOWS", 100)
    A = da.from_array(image, chunks=(20, 20))
    svlearn.dask.spectral_map(window_model, A, window_shape=6, strides=1).compute()
    assert sum(seen) == 65 * 78 and max(seen) <= 100


def test_errors(fitted, matrices, image, window_model):
    with pytest.raises(ValueError, match=r"X must be a dask array with 2 or 3"):
        svlearn.dask.predict(fitted, da.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="has no method 'decompose'"):
        svlearn.dask.predict(fitted, matrices, method="decompose")
    with pytest.raises(NotFittedError):
        svlearn.dask.predict(SingularValueRegressor(), matrices)
    with pytest.raises(ValueError, match="larger than A"):
        svlearn.dask.spectral_map(window_model, image[:5], window_shape=6)
    with pytest.raises(
        ValueError, match="'max_block_windows' parameter of spectral_map.*Got 0"
    ):
        svlearn.dask.spectral_map(
            window_model, image, window_shape=6, max_block_windows=0
        )
    with pytest.raises(ValueError, match="'window_shape' parameter of spectral_map"):
        svlearn.dask.spectral_map(window_model, image, window_shape=0)
    pipe = make_pipeline(MatrixWindowTransformer(window_shape=2), window_model)
    with pytest.raises(ValueError, match="failed on one all-zero sample"):
        svlearn.dask.spectral_map(pipe, image, window_shape=6)
    with pytest.raises(TypeError, match="has no partial_fit"):
        svlearn.dask.partial_fit(MeanSpectrumRegressor(), matrices)
    with pytest.raises(ValueError, match="'n_epochs' parameter of partial_fit"):
        svlearn.dask.partial_fit(SGDRegressor(), matrices, n_epochs=0)
    with pytest.raises(TypeError, match="'chunk_size' parameter.*Got True"):
        svlearn.dask.partial_fit(SGDRegressor(), matrices, chunk_size=True)


def test_partial_fit_leaves_the_estimators_own_parameter_errors_alone(matrices):
    # The estimator's error must keep naming the estimator, not partial_fit.
    y = np.zeros(len(matrices))
    with pytest.raises(ValueError, match="'alpha' parameter of SGDRegressor"):
        svlearn.dask.partial_fit(SGDRegressor(alpha=-1.0), matrices, y)


def test_partial_fit_from_memmap_and_dask_equals_in_memory_chunks(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((700, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    path = tmp_path / "X.npy"
    np.save(path, X)
    memmap = np.load(path, mmap_mode="r")

    manual = SGDRegressor(random_state=0)
    for _ in range(3):
        for start in range(0, 700, 128):
            manual.partial_fit(X[start : start + 128], y[start : start + 128])
    for data in (memmap, da.from_array(memmap, chunks=128)):
        est = svlearn.dask.partial_fit(
            SGDRegressor(random_state=0), data, y, n_epochs=3, chunk_size=128
        )
        np.testing.assert_array_equal(est.coef_, manual.coef_)
        np.testing.assert_array_equal(est.intercept_, manual.intercept_)


def test_partial_fit_regressor_from_memmap(matrices, tmp_path):
    # Needs SingularValueRegressor.partial_fit(X, y=None): one pass over the
    # given data, the first call initialising the network.
    path = tmp_path / "X.npy"
    np.save(path, matrices)
    memmap = np.load(path, mmap_mode="r")
    params = dict(FAST, learning_rate="constant")
    manual = SingularValueRegressor(**params)
    for start in range(0, 300, 100):
        manual.partial_fit(matrices[start : start + 100])
    chunked = svlearn.dask.partial_fit(
        SingularValueRegressor(**params), memmap, chunk_size=100
    )
    np.testing.assert_array_equal(chunked.predict(matrices), manual.predict(matrices))


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _results(search):
    keys = [k for k in search.cv_results_ if "time" not in k]
    return {k: search.cv_results_[k] for k in keys}


def test_searches_on_dask_equal_sequential(cluster, matrices):
    pipe = make_pipeline(StandardScaler(), SingularValueRegressor(**FAST))
    searches = [
        lambda: GridSearchCV(
            pipe,
            {"singularvalueregressor__hidden_layer_sizes": [(4,), (8,)]},
            scoring=nmse_scorer,
            cv=KFold(2),
        ),
        lambda: RandomizedSearchCV(
            pipe,
            {"singularvalueregressor__learning_rate_init": [1e-3, 3e-3, 1e-2]},
            n_iter=2,
            scoring=nmse_scorer,
            cv=KFold(2),
            random_state=0,
        ),
    ]
    X = matrices[:200]
    for make in searches:
        sequential = make().set_params(n_jobs=1).fit(X)
        with joblib.parallel_config(backend="dask"):
            parallel = make().set_params(n_jobs=-1).fit(X)
        expected, got = _results(sequential), _results(parallel)
        assert got.keys() == expected.keys()
        for key in expected:
            if key == "params":
                assert got[key] == expected[key]
            elif np.asarray(expected[key]).dtype.kind != "f":
                np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
            else:
                # Equal to float64 rounding: the products of the float64
                # network may sum in another order in a worker process.
                np.testing.assert_allclose(
                    got[key], expected[key], rtol=1e-12, atol=0, err_msg=key
                )


def test_spectral_map_on_cluster(cluster, image, window_model):
    A = da.from_array(image, chunks=(30, 30))
    S = svlearn.dask.spectral_map(window_model, A, window_shape=6, strides=3)
    windows = MatrixWindowTransformer(window_shape=6, strides=3).transform(image)
    expected = window_model.predict(windows)
    _assert_same_predictions(cluster.compute(S).result().reshape(-1, 6), expected)
