# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from svlearn import (
    MeanSpectrumRegressor,
    SingularValueRegressor,
    paper_regressor,
    singular_values,
)
from svlearn.metrics import nmse

FAST = dict(hidden_layer_sizes=(16,), max_iter=2, batch_size=64, random_state=0)


def _is_valid_spectrum(pred):
    return np.all(pred >= 0) and np.all(np.diff(pred, axis=1) <= 1e-6 * pred[:, :1])


@pytest.mark.parametrize("head", ["ritz", "ends", "subspace", "frobenius", "raw"])
def test_predictions_are_non_negative_and_descending(head, matrices):
    reg = SingularValueRegressor(head=head, **FAST).fit(matrices)
    # Inputs far from the training data must still give valid spectra.
    X = np.vstack([matrices, -5 * matrices, np.zeros((1, 36), np.float32)])
    pred = reg.predict(X)
    assert pred.shape == (X.shape[0], 6)
    assert pred.dtype == np.float64
    assert _is_valid_spectrum(pred)


def test_three_d_input_equals_flat_input(matrices, fitted):
    stack = matrices.reshape(-1, 6, 6)
    np.testing.assert_array_equal(fitted.predict(stack), fitted.predict(matrices))
    assert fitted.matrix_shape_ == (6, 6)
    reg = SingularValueRegressor(**FAST).fit(stack)
    assert reg.n_features_in_ == 36 and reg.matrix_shape_ == (6, 6)


@pytest.mark.parametrize("shape, given", [((3, 5), (3, 5)), ((5, 3), (-1, 3))])
def test_non_square_matrices(shape, given):
    X = np.random.default_rng(0).random((200, 15))
    reg = SingularValueRegressor(matrix_shape=given, **FAST).fit(X)
    assert reg.matrix_shape_ == shape
    assert reg.predict(X).shape == (200, 3)


def test_y_none_trains_on_exact_singular_values(matrices):
    y = singular_values(matrices)
    a = SingularValueRegressor(**FAST).fit(matrices).predict(matrices)
    b = SingularValueRegressor(**FAST).fit(matrices, y).predict(matrices)
    np.testing.assert_array_equal(a, b)


def test_same_random_state_is_bit_identical_and_leaves_global_rngs(matrices):
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = SingularValueRegressor(dropout=0.2, **FAST).fit(matrices).predict(matrices)
    b = SingularValueRegressor(dropout=0.2, **FAST).fit(matrices).predict(matrices)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    params = {**FAST, "random_state": 1}
    c = SingularValueRegressor(dropout=0.2, **params).fit(matrices).predict(matrices)
    assert not np.array_equal(a, c)


def test_frobenius_head_learns_planted_spectrum(planted):
    # Every matrix has the same normalised spectrum; the "frobenius" head must
    # learn that shape and scale it by the exact norm.
    X, S = planted
    reg = SingularValueRegressor(
        head="frobenius",
        hidden_layer_sizes=(32,),
        max_iter=40,
        batch_size=32,
        random_state=0,
    ).fit(X[:300])
    baseline = MeanSpectrumRegressor(scaling="none").fit(X[:300]).predict(X[300:])
    error = nmse(S[300:], reg.predict(X[300:]))
    assert error < 1e-3
    assert error < nmse(S[300:], baseline) / 100


def test_raw_head_learns_planted_spectrum_and_scale(planted):
    # The raw head sees unnormalised matrices: it must learn the shape and the
    # scale (norms vary 4x) from the entries.
    X, S = planted
    reg = SingularValueRegressor(
        head="raw",
        hidden_layer_sizes=(32,),
        max_iter=60,
        batch_size=32,
        random_state=0,
    ).fit(X[:300])
    baseline = MeanSpectrumRegressor(scaling="none").fit(X[:300]).predict(X[300:])
    assert nmse(S[300:], reg.predict(X[300:])) < nmse(S[300:], baseline) / 5


def _two_families(n, rng):
    """Random rotations of two spectra whose tails differ; tops tell them apart."""
    shapes = np.array([[1, 0.9, 0.8, 0.7, 0.7, 0.7], [1, 0.5, 0.5, 0.4, 0.1, 0.01]])
    S = shapes[rng.integers(0, 2, n)] * rng.uniform(0.5, 2, (n, 1))
    X = np.empty((n, 6, 6))
    for i in range(n):
        u = np.linalg.qr(rng.standard_normal((6, 6)))[0]
        v = np.linalg.qr(rng.standard_normal((6, 6)))[0]
        X[i] = u @ np.diag(S[i]) @ v.T
    return X, S


def test_subspace_head_tail_comes_from_the_network():
    # The same front end with a fixed template tail (no network) cannot tell
    # the families' tails apart; the network, fed the leading values, can.
    X, S = _two_families(1000, np.random.default_rng(0))
    reg = SingularValueRegressor(
        head="subspace",
        n_components=3,
        n_iter=30,
        hidden_layer_sizes=(32,),
        max_iter=30,
        batch_size=32,
        random_state=0,
    ).fit(X[:800])
    template = MeanSpectrumRegressor(scaling="subspace", n_components=3, n_iter=30).fit(
        X[:800]
    )
    error = nmse(S[800:], reg.predict(X[800:]))
    assert error < nmse(S[800:], template.predict(X[800:])) / 50


def test_ritz_head_correction_comes_from_the_network():
    # The network sees only the Ritz values (and energies), never the matrix:
    # from the two exact leading values it must tell the families apart and
    # correct the template tail, which the same front end without a network
    # (MeanSpectrumRegressor) cannot.
    X, S = _two_families(1000, np.random.default_rng(0))
    params = dict(n_components=2, n_iter=30)
    reg = SingularValueRegressor(
        hidden_layer_sizes=(32,), max_iter=30, batch_size=32, random_state=0, **params
    ).fit(X[:800])
    assert reg.net_.module_.head == "ritz"  # the default
    template = MeanSpectrumRegressor(scaling="subspace", **params).fit(X[:800])
    error = nmse(S[800:], reg.predict(X[800:]))
    assert error < nmse(S[800:], template.predict(X[800:])) / 50


def test_subspace_head_top_values_converge(planted):
    X, S = planted
    errors = []
    for n_iter in (0, 2, 30):
        reg = SingularValueRegressor(
            head="subspace", n_components=3, n_iter=n_iter, **FAST
        ).fit(X)
        errors.append(np.abs(reg.predict(X)[:, :2] - S[:, :2]).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-4


@pytest.mark.parametrize("head", ["ritz", "ends", "subspace", "frobenius"])
def test_scale_equivariance_without_overflow(head, matrices):
    reg = SingularValueRegressor(head=head, **FAST).fit(matrices)
    X = matrices.astype(np.float64)
    big = reg.predict(X * 1e30)  # squares of 1e30 overflow float32
    assert np.all(np.isfinite(big))
    # float32 network: agreement to float32 precision relative to sigma_1.
    expected = 1e30 * reg.predict(X)
    np.testing.assert_allclose(big, expected, rtol=1e-5, atol=1e-5 * expected.max())


def test_integer_and_float32_input(matrices):
    X = (matrices * 255).astype(np.uint8)
    reg = SingularValueRegressor(**FAST).fit(X)
    np.testing.assert_allclose(
        reg.predict(X), reg.predict(X.astype(np.float32)), rtol=1e-6
    )


def test_warm_start_continues_training(matrices):
    reg = SingularValueRegressor(warm_start=True, **FAST).fit(matrices)
    net = reg.net_
    reg.fit(matrices)
    assert reg.net_ is net
    assert reg.n_iter_ == 4 and len(reg.loss_curve_) == 4
    cold = SingularValueRegressor(**FAST).fit(matrices)
    cold.fit(matrices)
    assert cold.n_iter_ == 2


def test_early_stopping_stops_and_restores_best(matrices):
    reg = SingularValueRegressor(
        hidden_layer_sizes=(16,),
        max_iter=50,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.5,
        random_state=0,
    ).fit(matrices)
    assert reg.n_iter_ < 50
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_loss_ == min(reg.validation_scores_)


def test_verbose_prints_epoch_log(matrices, capsys):
    SingularValueRegressor(verbose=1, **FAST).fit(matrices)
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out
    SingularValueRegressor(**FAST).fit(matrices)
    assert capsys.readouterr() == ("", "")
    SingularValueRegressor(verbose=2, **FAST).fit(matrices)
    assert "it/s" in capsys.readouterr().err  # skorch's tqdm progress bar


def test_paper_regressor_is_the_papers_network(matrices):
    reg = paper_regressor(max_iter=1, random_state=0).fit(matrices)
    layers = [type(m).__name__ for m in reg.net_.module_.mlp]
    assert layers == ["Linear", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert isinstance(reg.net_.criterion_, torch.nn.L1Loss)
    assert _is_valid_spectrum(reg.predict(matrices))


def test_score_without_y_uses_exact_values(matrices, fitted):
    assert fitted.score(matrices) == fitted.score(matrices, singular_values(matrices))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_and_cpu_predictions_agree(matrices):
    import copy

    gpu = SingularValueRegressor(device="cuda", **FAST).fit(matrices)
    assert next(gpu.net_.module_.parameters()).is_cuda
    on_gpu = gpu.predict(matrices)
    assert _is_valid_spectrum(on_gpu)
    cpu = copy.deepcopy(gpu)
    cpu.net_.module_.to("cpu")  # predict follows the weights' device
    np.testing.assert_allclose(cpu.predict(matrices), on_gpu, rtol=1e-4)


# --- bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((5, 4), np.nan), "NaN"),
        (np.full((5, 4), np.inf), "infinity"),
        (np.empty((0, 4)), "holds no matrices"),
        (np.ones(4), "Expected 2D array"),
        (np.ones((5, 4)) * 1j, "Complex data not supported"),
        (np.array([["a"] * 4] * 5, dtype=object), "could not convert"),
        (np.ones((5, 10)), "not a perfect square"),
    ],
)
def test_bad_X_in_fit(X, match):
    with pytest.raises(ValueError, match=match):
        SingularValueRegressor(**FAST).fit(X)


def test_sparse_X_is_rejected():
    with pytest.raises(TypeError, match="[Ss]parse"):
        SingularValueRegressor(**FAST).fit(sp.random(20, 16, format="csr"))


def test_predict_with_other_width_or_shape(fitted):
    with pytest.raises(ValueError, match="36 features"):
        fitted.predict(np.ones((3, 25)))
    with pytest.raises(ValueError, match="fitted on"):
        fitted.predict(np.ones((3, 4, 9)))


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SingularValueRegressor().predict(np.ones((2, 4)))


@pytest.mark.parametrize(
    "y, match",
    [
        (np.ones((300, 5)), r"y must have shape \(n_samples, 6\)"),
        (np.ones(300), r"y must have shape \(n_samples, 6\)"),
        (np.ones((299, 6)), "inconsistent numbers of samples"),
        (np.full((300, 6), np.nan), "NaN"),
        (-np.ones((300, 6)), "y holds negative values"),
        (np.tile(np.arange(6.0), (300, 1)), "descending order; row 0 rises"),
    ],
)
def test_bad_y(y, match, matrices):
    with pytest.raises(ValueError, match=match):
        SingularValueRegressor(**FAST).fit(matrices, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (16, -2)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (16, True)}, "hidden_layer_sizes"),
        ({"dropout": 1.0}, r"'dropout' parameter .* range \[0.0, 1.0\)"),
        ({"dropout": -0.1}, "dropout"),
        ({"head": "magic"}, r"'head' parameter .* must be a str among"),
        ({"loss": "l3"}, "'loss' parameter"),
        ({"activation": "cube"}, "activation"),
        ({"learning_rate": "adaptive"}, "'learning_rate' parameter"),
        ({"max_iter": 0}, r"'max_iter' parameter .* range \[1, inf\)"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_components": 0}, "n_components"),
        ({"n_iter": True}, "'n_iter' parameter"),
        ({"max_iter": 2.0}, "'max_iter' parameter"),
        ({"early_stopping": "yes"}, "'early_stopping' parameter"),
        ({"matrix_shape": (0, 4)}, "matrix_shape"),
        ({"matrix_shape": (3, 3)}, "holds 9 entries"),
        ({"device": "warp-drive"}, "device"),
    ],
)
def test_invalid_parameters(params, match, matrices):
    with pytest.raises(ValueError, match=match):
        SingularValueRegressor(**{**FAST, **params}).fit(matrices)


def test_invalid_parameters_raise_sklearns_error_before_touching_data():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'dropout' parameter"):
        SingularValueRegressor(dropout=2.0).fit(np.ones((3, 5)))  # bad shape too


def test_early_stopping_needs_validation_samples():
    with pytest.raises(ValueError, match="n_samples=3"):
        SingularValueRegressor(early_stopping=True, **FAST).fit(np.ones((3, 4)))


def test_real_sample_images_beat_the_mean_spectrum():
    # Train on windows of china.jpg, test on windows of flower.jpg.
    from svlearn.datasets import load_sample_windows

    data = load_sample_windows(strides=(16, 16))
    reg = SingularValueRegressor(max_iter=5, random_state=0).fit(data.X_train)
    truth = singular_values(data.X_test)
    error = nmse(truth, reg.predict(data.X_test))
    mean = MeanSpectrumRegressor(scaling="none").fit(data.X_train)
    baseline = nmse(truth, mean.predict(data.X_test))
    assert error < baseline / 10, (error, baseline)
    paper = paper_regressor(max_iter=5, random_state=0).fit(data.X_train)
    assert nmse(truth, paper.predict(data.X_test)) < baseline


@pytest.mark.parametrize("value, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_X_in_predict(value, match, matrices, fitted):
    X = matrices[:5].copy()
    X[2, 3] = value
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)


# --- fitted state, warm starts, partial_fit ---------------------------------


def test_set_params_after_fit_changes_nothing_until_refit(matrices, fitted):
    from sklearn.base import clone

    reg = clone(fitted).fit(matrices)
    before = reg.predict(matrices)
    reg.set_params(
        head="raw",
        n_iter=7,
        n_components=1,
        hidden_layer_sizes=(3,),
        device="meta",
        matrix_shape=(4, 9),
    )
    np.testing.assert_array_equal(reg.predict(matrices), before)
    assert reg.score(matrices) == pytest.approx(fitted.score(matrices), rel=0.5)


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_warm_start_with_every_schedule_and_more_samples(schedule, matrices):
    reg = SingularValueRegressor(warm_start=True, learning_rate=schedule, **FAST).fit(
        matrices[:100]
    )
    net = reg.net_
    reg.fit(matrices)  # three times the samples: more steps per epoch
    reg.fit(matrices[:7])
    assert reg.net_ is net
    assert reg.n_iter_ == 6 and len(reg.loss_curve_) == 6
    assert np.isfinite(reg.loss_curve_).all()


def test_warm_start_rejects_non_finite_matrices(matrices):
    reg = SingularValueRegressor(warm_start=True, **FAST).fit(matrices)
    X = matrices.copy()
    X[4, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        reg.fit(X)
    with pytest.raises(ValueError, match="NaN"):
        reg.partial_fit(X)


def test_warm_start_rejects_other_matrix_shapes(matrices):
    reg = SingularValueRegressor(warm_start=True, **FAST).fit(matrices)
    with pytest.raises(ValueError, match=r"\(4, 9\) matrices while the fitted"):
        reg.fit(np.ones((20, 4, 9)))


def test_partial_fit_runs_one_epoch_per_call_and_keeps_learning(matrices):
    reg = SingularValueRegressor(**FAST)
    for start in range(0, 300, 100):
        reg.partial_fit(matrices[start : start + 100])
    assert reg.n_iter_ == 3 and len(reg.loss_curve_) == 3
    first = reg.net_
    reg.partial_fit(matrices)
    assert reg.net_ is first and reg.n_iter_ == 4
    truth = singular_values(matrices)
    untrained = SingularValueRegressor(**{**FAST, "max_iter": 1})
    untrained.partial_fit(matrices[:2])
    assert nmse(truth, reg.predict(matrices)) < nmse(truth, untrained.predict(matrices))


def test_partial_fit_from_a_memmap_equals_in_memory(tmp_path, matrices):
    path = tmp_path / "X.npy"
    np.save(path, matrices)
    mm = np.load(path, mmap_mode="r")
    a = SingularValueRegressor(**FAST)
    b = SingularValueRegressor(**FAST)
    for start in range(0, 300, 150):
        a.partial_fit(mm[start : start + 150])
        b.partial_fit(np.array(matrices[start : start + 150]))
    np.testing.assert_array_equal(a.predict(mm), b.predict(matrices))


def test_chunked_predict_on_a_memmap_equals_in_memory(tmp_path, fitted):
    import svlearn._route as module

    X = np.random.default_rng(2).random((1000, 36))
    path = tmp_path / "X.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    expected = fitted.predict(X)
    chunk = module.PREDICT_CHUNK
    module.PREDICT_CHUNK = 128  # many chunks, a short last one
    try:
        np.testing.assert_allclose(fitted.predict(mm), expected, rtol=1e-6)
    finally:
        module.PREDICT_CHUNK = chunk


def test_cuda_trained_model_predicts_on_a_cpu_only_machine(matrices, monkeypatch):
    import joblib
    from skorch.exceptions import DeviceWarning

    reg = SingularValueRegressor(**FAST).fit(matrices)
    expected = reg.predict(matrices)
    # What a CUDA fit leaves behind: the device recorded on the net and in the
    # parameters. On a machine without CUDA, loading maps the weights to the
    # CPU with skorch's warning, and predict follows the weights.
    reg.set_params(device="cuda")
    reg.net_.device = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    buffer = __import__("io").BytesIO()
    joblib.dump(reg, buffer)
    buffer.seek(0)
    with pytest.warns(DeviceWarning):
        loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.predict(matrices), expected)
    with pytest.raises(ValueError, match="no CUDA device"):
        loaded.fit(matrices)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_frobenius_head_is_deprecated_with_its_removal_version(matrices, method):
    reg = SingularValueRegressor(
        head="frobenius", hidden_layer_sizes=(8,), max_iter=1, calibration_fraction=0
    )
    with pytest.warns(FutureWarning, match=r"deprecated in 0\.1 .* removed in 0\.3"):
        getattr(reg, method)(matrices)
