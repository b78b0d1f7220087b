# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Predictions on a CUDA device: the exact properties, and agreement with the CPU.

The scale-equivariant heads keep sigma(cA) = |c| sigma(A), sigma(-A) =
sigma(A), the energy identity and the order by construction, on any device;
these tests check them on CUDA, check that the same weights predict the same
spectra on CUDA and on the CPU (to float32 rounding, the bound of
tests/test_invariance.py), and that a model saved on CUDA loads on a CPU-only
machine and back. Skipped without a CUDA device.
"""

import copy
from unittest import mock

import numpy as np
import pytest
import torch
from skorch.exceptions import DeviceWarning

import svlearn
from svlearn import SingularValueRegressor, singular_values
from svlearn.metrics import nmse

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)

DEVICE = "cuda"
# Wide and tall (the module iterates on the transpose of wide matrices),
# square with at most 256 entries (iterated in float64 from the start) and
# square with more (float32, thin rows redone in float64).
SHAPES = [(3, 5), (5, 3), (6, 6), (20, 20)]
EQUIVARIANT_HEADS = ["ritz", "subspace", "frobenius"]
HEADS = [*EQUIVARIANT_HEADS, "raw"]
ROUNDING = 1e-5  # float32 rounding, relative to the spectrum's norm


@pytest.fixture(scope="module")
def models():
    """One small network per (shape, head), trained on CUDA on signed data."""
    rng = np.random.default_rng(0)
    out = {}
    for shape in SHAPES:
        X = rng.standard_normal((300, *shape)).astype(np.float32)
        X *= 10.0 ** rng.uniform(-2, 2, (300, 1, 1))
        for head in HEADS:
            out[shape, head] = SingularValueRegressor(
                head=head,
                hidden_layer_sizes=(16,),
                max_iter=3,
                batch_size=64,
                random_state=0,
                device=DEVICE,
                calibration_fraction=0.0,  # too few matrices to calibrate
            ).fit(X)
    return out


@pytest.fixture(scope="module")
def image_model():
    """The default model on sample-image windows, fitted on CUDA (calibrated)."""
    from svlearn.datasets import load_sample_windows

    # 3,850 training windows: 385 held out, enough to calibrate at 0.99.
    data = load_sample_windows()
    model = SingularValueRegressor(max_iter=3, random_state=0, device=DEVICE)
    return model.fit(data.X_train), data.X_test[:500]


def _matrices(shape, n, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, shape[0] * shape[1]))
    return (X * 10.0 ** rng.uniform(-3, 3, (n, 1))).astype(dtype)


def _deviation(a, b, model):
    """Per-matrix ||a - b|| / ||b||; the raw head's relative to its scale."""
    num = np.linalg.norm(a - b, axis=1)
    if model.net_.module_.head == "raw":
        return num / model.scale_
    den = np.linalg.norm(b, axis=1)
    return np.where(num == 0, 0.0, num / np.where(den > 0, den, np.inf))


def _on_cpu(model):
    """A copy of a fitted model with its weights on the CPU."""
    cpu = copy.deepcopy(model)
    cpu.net_.module_.to("cpu")
    cpu.net_.device = "cpu"
    return cpu.set_params(device="cpu")


def _flat(pred, n):
    return pred.reshape(n, -1)


def test_fit_on_cuda_keeps_the_network_on_the_device(models):
    model = models[(6, 6), "ritz"]
    module = model.net_.module_
    assert all(p.is_cuda for p in module.parameters())
    assert module.template.is_cuda
    pred = model.predict(_matrices((6, 6), 10))
    assert isinstance(pred, np.ndarray) and pred.dtype == np.float64
    assert all(p.is_cuda for p in module.parameters())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("n", [50, 600])
def test_cuda_and_cpu_predict_the_same_spectra_from_the_same_weights(
    models, shape, head, n
):
    # 600 matrices take the CPU's float32 torch route in chunks, as on CUDA;
    # 50 take the CPU's float64 numpy route of small batches ("ritz" head).
    model = models[shape, head]
    X = _matrices(shape, n)
    on_cuda = _flat(model.predict(X), n)
    on_cpu = _flat(_on_cpu(model).predict(X), n)
    assert _deviation(on_cuda, on_cpu, model).max() <= ROUNDING


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", EQUIVARIANT_HEADS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scale_equivariance_on_cuda(models, shape, head, dtype):
    model = models[shape, head]
    X = _matrices(shape, 40, dtype=dtype)
    base = _flat(model.predict(X), 40)
    scales = [1e-20, 1e-6, 3.7, -2.5, 1e6, 1e20]
    if dtype == np.float64:  # beyond float32's range: rescaled on the host
        scales += [1e-300, 1e-150, 1e150, 1e300]
    for c in scales:
        scaled = _flat(model.predict(X * dtype(c)), 40)
        assert np.all(np.isfinite(scaled)), c
        # Compared at unit scale: norms of 1e300-sized spectra overflow.
        assert _deviation(scaled / abs(c), base, model).max() <= ROUNDING, c


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", EQUIVARIANT_HEADS)
def test_power_of_two_scales_and_negation_are_exact_on_cuda(models, shape, head):
    # Powers of two scale every product and norm exactly and negation flips
    # signs exactly (IEEE rounding is symmetric), and the kernels of a batch
    # of one size are the same: so the spectra are equal bit for bit.
    model = models[shape, head]
    X = _matrices(shape, 40).astype(np.float64)
    base = model.predict(X)
    for exponent in (-100, -7, 13, 100):
        np.testing.assert_array_equal(
            model.predict(np.ldexp(X, exponent)), np.ldexp(base, exponent)
        )
    np.testing.assert_array_equal(model.predict(-X), base)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", HEADS)
def test_spectra_are_ordered_with_the_matrix_energy_on_cuda(models, shape, head):
    model = models[shape, head]
    X = _matrices(shape, 60).astype(np.float64)
    pred = _flat(model.predict(X), 60)
    assert pred.shape == (60, min(shape))
    assert np.all(pred >= 0) and np.all(np.diff(pred, axis=1) <= 0)
    if head != "raw":
        energy = (X**2).sum(axis=1)
        np.testing.assert_allclose((pred**2).sum(axis=1), energy, rtol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", HEADS)
def test_a_batch_predicts_what_its_rows_predict_alone_on_cuda(models, shape, head):
    model = models[shape, head]
    X = _matrices(shape, 30)
    batch = _flat(model.predict(X), 30)
    alone = np.vstack([_flat(model.predict(row[None]), 1) for row in X])
    # Another batch size may choose other kernels, which sum in another order.
    assert _deviation(batch, alone, model).max() <= ROUNDING


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head", HEADS)
def test_float32_float64_and_stacked_input_agree_on_cuda(models, shape, head):
    model = models[shape, head]
    X = _matrices(shape, 40)
    flat = _flat(model.predict(X), 40)
    wide = _flat(model.predict(X.astype(np.float64)), 40)
    assert _deviation(flat, wide, model).max() <= ROUNDING
    stacked = _flat(model.predict(X.reshape(-1, *shape)), 40)
    np.testing.assert_array_equal(stacked, flat)


def test_transposed_windows_are_predicted_as_well_on_cuda(image_model):
    # Invariance to transposition is learned (the network sees the matrix
    # through the iteration on A^T A): the NMSE on A^T stays within 1.15x of
    # the NMSE on A, the bound tests/test_invariance.py sets on the CPU.
    model, X = image_model
    S = singular_values(X)
    error = nmse(S, model.predict(X))
    transposed = X.reshape(-1, 32, 32).transpose(0, 2, 1).reshape(len(X), -1)
    assert nmse(S, model.predict(transposed)) <= 1.15 * error
    assert nmse(S, model.predict(-X)) == error


def test_error_estimates_and_the_exact_fallback_on_cuda(image_model):
    model, X = image_model
    pred, error = model.predict(X, return_error=True)
    assert error.shape == (len(X),) and np.all(error > 0)
    np.testing.assert_array_equal(pred, model.predict(X))
    # max_error=0 recomputes every matrix exactly (LAPACK, on the host).
    exact = copy.deepcopy(model).set_params(max_error=0.0)
    pred, error = exact.predict(X, return_error=True)
    np.testing.assert_array_equal(pred, singular_values(X))
    np.testing.assert_array_equal(error, 0.0)


def test_partial_fit_on_cuda_continues_on_the_device(models):
    model = copy.deepcopy(models[(6, 6), "ritz"])
    before = model.n_iter_
    model.partial_fit(_matrices((6, 6), 100).astype(np.float32))
    assert model.n_iter_ == before + 1
    assert all(p.is_cuda for p in model.net_.module_.parameters())


def test_a_cuda_model_saved_loads_on_the_cpu_and_back(image_model, tmp_path):
    model, X = image_model
    on_cuda = model.predict(X)
    path = tmp_path / "model.safetensors"
    svlearn.save(model, path)

    # Loaded where CUDA is not available: on the CPU, with skorch's warning.
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        with pytest.warns(DeviceWarning, match="CUDA is not available"):
            cpu = svlearn.load(path)
    assert cpu.device == "cpu"
    assert all(not p.is_cuda for p in cpu.net_.module_.parameters())
    assert _deviation(cpu.predict(X), on_cuda, model).max() <= ROUNDING

    # Where CUDA is available the same file loads on CUDA, bit-identical.
    again = svlearn.load(path)
    assert all(p.is_cuda for p in again.net_.module_.parameters())
    np.testing.assert_array_equal(again.predict(X), on_cuda)

    # The CPU copy, sent back: device="cuda" before saving rebuilds the net on
    # CUDA when loaded, with the same weights and so the same bits.
    cpu.set_params(device=DEVICE)
    back_path = tmp_path / "back.safetensors"
    svlearn.save(cpu, back_path)
    back = svlearn.load(back_path)
    assert all(p.is_cuda for p in back.net_.module_.parameters())
    np.testing.assert_array_equal(back.predict(X), on_cuda)
