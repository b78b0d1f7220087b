# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tests for svlearn.datasets, on tiny files built here in the official formats.

No test touches the network: ``_fetch_file`` is replaced by a function that
fails the test, or by one that simulates a download or an offline machine.
"""

import _pickle
import hashlib
import io
import pickle
import shutil
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

from svlearn.datasets import (
    _base,
    _cifar10,
    cifar10_protocol,
    get_data_home,
    load_cifar10,
    load_matrices,
    load_sample_windows,
    load_spambase,
    row_block_window_split,
    spambase_protocol,
)

N_PER_BATCH = 3
LABEL_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
BATCH_NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Fail on any download; point every data home variable at a temp folder."""

    def no_network(url, path):
        raise AssertionError(f"tests must not download {url}")

    monkeypatch.setattr(_base, "_fetch_file", no_network)
    # A corrupted download is retried after a pause; not needed here.
    monkeypatch.setattr(_base, "_DOWNLOAD_RETRIES", 0)
    monkeypatch.delenv("SVLEARN_DATA", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make every way of loading a pickle fail the test."""

    def poisoned(*args, **kwargs):
        raise AssertionError("CIFAR-10 loading must not unpickle anything")

    class PoisonedUnpickler:
        def __init__(self, *args, **kwargs):
            poisoned()

    for module in (pickle, _pickle):
        monkeypatch.setattr(module, "load", poisoned)
        monkeypatch.setattr(module, "loads", poisoned)
        monkeypatch.setattr(module, "Unpickler", PoisonedUnpickler)
    monkeypatch.setattr(pickle, "_Unpickler", PoisonedUnpickler)


def _batch(rng, n):
    """Labels and pixel bytes of ``n`` random records."""
    labels = rng.randint(0, 10, size=n).astype(np.uint8)
    pixels = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
    return labels, pixels


def _records(labels, pixels):
    """The binary version's bytes: per record, 1 label byte, 3072 pixel bytes."""
    return np.column_stack([labels, pixels]).astype(np.uint8).tobytes()


def _add(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def _write_cifar(folder, seed=0, payloads=None):
    """Write a tiny cifar-10-binary.tar.gz with the official internal layout.

    Returns the archive path and the (labels, pixels) written, by batch name.
    ``payloads`` replaces the bytes of some batches.
    """
    rng = np.random.RandomState(seed)
    batches = {name: _batch(rng, N_PER_BATCH) for name in BATCH_NAMES}
    archive = folder / "cifar-10-binary.tar.gz"
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, batch in batches.items():
            payload = (payloads or {}).get(name, _records(*batch))
            _add(tar, f"cifar-10-batches-bin/{name}", payload)
        _add(
            tar,
            "cifar-10-batches-bin/batches.meta.txt",
            "\n".join(LABEL_NAMES).encode(),
        )
        _add(tar, "cifar-10-batches-bin/readme.html", b"<html>CIFAR-10</html>")
    return archive, batches


def _extract(archive, home):
    home.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(home, filter="data")
    return home / "cifar-10-batches-bin"


def _write_python_version(home, as_folder):
    """A stand-in for the python version, pickles included."""
    home.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]})
    if as_folder:
        (home / "cifar-10-batches-py").mkdir()
        (home / "cifar-10-batches-py" / "data_batch_1").write_bytes(payload)
    else:
        with tarfile.open(home / "cifar-10-python.tar.gz", "w:gz") as tar:
            _add(tar, "cifar-10-batches-py/data_batch_1", payload)


def _gray(pixels):
    rgb = pixels.reshape(-1, 3, 32, 32).astype(np.float64)
    return 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]


# --- data home ----------------------------------------------------------------


def test_data_home_precedence(monkeypatch, tmp_path):
    assert get_data_home() == str(tmp_path / "sklearn_home")
    monkeypatch.setenv("SVLEARN_DATA", str(tmp_path / "svlearn_home"))
    assert get_data_home() == str(tmp_path / "svlearn_home")
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")


# --- CIFAR-10 -----------------------------------------------------------------


@pytest.mark.usefixtures("no_unpickling")
def test_load_cifar10_from_archive_in_file_order(tmp_path):
    _, batches = _write_cifar(tmp_path)
    train = load_cifar10(data_home=tmp_path)
    n_train = 5 * N_PER_BATCH
    assert train.images.shape == (n_train, 32, 32)
    assert train.data.shape == (n_train, 1024)
    assert train.images.dtype == np.float32
    assert np.shares_memory(train.data, train.images)
    train_batches = [batches[name] for name in BATCH_NAMES[:5]]
    expected = np.concatenate([_gray(pixels) for _, pixels in train_batches])
    assert_allclose(train.images, expected, rtol=1e-5)
    assert_array_equal(
        train.target, np.concatenate([labels for labels, _ in train_batches])
    )
    assert train.target.dtype == np.int64
    assert train.target_names == LABEL_NAMES
    assert "BT.601" in train.DESCR and "binary version" in train.DESCR

    X_test, y_test = load_cifar10(subset="test", data_home=tmp_path, return_X_y=True)
    assert X_test.shape == (N_PER_BATCH, 1024)
    assert_array_equal(y_test, batches["test_batch.bin"][0])
    everything = load_cifar10(subset="all", data_home=tmp_path)
    assert_array_equal(everything.data, np.concatenate([train.data, X_test]))


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_gray_is_bt601_luma(tmp_path):
    archive, batches = _write_cifar(tmp_path / "server")
    folder = _extract(archive, tmp_path / "home")
    # Pure red, green and blue pixels give the three luma weights times 255.
    labels, pixels = batches["test_batch.bin"]
    pixels[0] = 0
    pixels[0, 0] = 255  # red of pixel (0, 0)
    pixels[0, 1024 + 1] = 255  # green of pixel (0, 1)
    pixels[0, 2048 + 32] = 255  # blue of pixel (1, 0)
    pixels[0, 33] = 100  # red of pixel (1, 1) ...
    pixels[0, 1024 + 33] = 50  # ... with green ...
    pixels[0, 2048 + 33] = 200  # ... and blue
    (folder / "test_batch.bin").write_bytes(_records(labels, pixels))
    images = load_cifar10(subset="test", data_home=tmp_path / "home").images
    assert_allclose(
        [images[0, 0, 0], images[0, 0, 1], images[0, 1, 0], images[0, 1, 1]],
        [0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 100 + 0.587 * 50 + 0.114 * 200],
        rtol=1e-6,
    )
    assert images[0, 5, 5] == 0.0


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_gray_is_bitwise_that_of_the_python_version(tmp_path):
    # The python version's batches unpickle to C-contiguous (n, 3072) uint8
    # arrays of the same bytes, which it converted with the same function.
    _, batches = _write_cifar(tmp_path)
    _, pixels = batches["data_batch_2.bin"]
    python_version = _base.to_gray(pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    images = load_cifar10(data_home=tmp_path).images
    assert_array_equal(images[N_PER_BATCH : 2 * N_PER_BATCH], python_version)


@pytest.mark.usefixtures("no_unpickling")
def test_load_cifar10_from_extracted_folder(tmp_path):
    archive, _ = _write_cifar(tmp_path / "archive")
    from_archive = load_cifar10(subset="all", data_home=tmp_path / "archive")
    _extract(archive, tmp_path / "extracted")
    from_folder = load_cifar10(subset="all", data_home=tmp_path / "extracted")
    assert_array_equal(from_folder.images, from_archive.images)
    assert_array_equal(from_folder.target, from_archive.target)


def test_cifar10_missing_offline_says_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10(data_home=tmp_path, download=False)
    message = str(info.value)
    assert "cifar-10-binary.tar.gz" in message and str(tmp_path) in message
    assert "cifar-10-batches-bin" in message and _cifar10.CIFAR10_URL in message
    assert _cifar10.CIFAR10_URL.endswith("/cifar-10-binary.tar.gz")
    assert "python version" not in message


@pytest.mark.parametrize("as_folder", [True, False])
@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_python_version_is_not_unpickled(tmp_path, as_folder):
    _write_python_version(tmp_path, as_folder)
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10(data_home=tmp_path, download=False)
    message = str(info.value)
    name = "cifar-10-batches-py" if as_folder else "cifar-10-python.tar.gz"
    assert f"holds {name!r}, CIFAR-10's python version" in message
    assert "pickles" in message
    assert f"'cifar-10-binary.tar.gz' from {_cifar10.CIFAR10_URL}" in message


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_python_version_is_ignored_when_downloading(tmp_path, monkeypatch):
    source, batches = _write_cifar(tmp_path / "server")
    monkeypatch.setattr(
        _base, "_fetch_file", lambda url, path: shutil.copy(source, path)
    )
    monkeypatch.setattr(
        _cifar10, "CIFAR10_MD5", hashlib.md5(source.read_bytes()).hexdigest()
    )
    home = tmp_path / "home"
    _write_python_version(home, as_folder=False)
    test = load_cifar10(subset="test", data_home=home)
    assert_array_equal(test.target, batches["test_batch.bin"][0])
    assert (home / "cifar-10-binary.tar.gz").exists()


def test_cifar10_download_fails_offline(tmp_path, monkeypatch):
    def offline(url, path):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(_base, "_fetch_file", offline)
    with pytest.raises(FileNotFoundError, match="downloading it from .* failed"):
        load_cifar10(data_home=tmp_path / "home")


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_download_verifies_checksum(tmp_path, monkeypatch):
    source, _ = _write_cifar(tmp_path / "server")
    calls = []

    def fake_fetch(url, path):
        calls.append(url)
        shutil.copy(source, path)

    monkeypatch.setattr(_base, "_fetch_file", fake_fetch)
    home = tmp_path / "home"
    # The tiny archive does not have the official MD5: rejected and deleted.
    with pytest.raises(OSError, match="c32a1d4ab5d03f1284b67883e8d87530"):
        load_cifar10(data_home=home)
    assert not (home / "cifar-10-binary.tar.gz").exists()
    assert calls == ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]

    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    monkeypatch.setattr(_cifar10, "CIFAR10_MD5", md5)
    assert load_cifar10(data_home=home).images.shape == (5 * N_PER_BATCH, 32, 32)
    assert (home / "cifar-10-binary.tar.gz").exists()
    # Present now: loading again does not download.
    load_cifar10(data_home=home, download=True)
    assert len(calls) == 2


def test_corrupted_download_is_retried_by_pooch(tmp_path, monkeypatch):
    import pooch.core

    source, _ = _write_cifar(tmp_path / "server")
    served = iter([b"truncated", source.read_bytes()])
    calls = []

    def flaky_fetch(url, path):
        calls.append(url)
        Path(path).write_bytes(next(served))

    monkeypatch.setattr(_base, "_fetch_file", flaky_fetch)
    monkeypatch.setattr(_base, "_DOWNLOAD_RETRIES", 1)
    monkeypatch.setattr(pooch.core.time, "sleep", lambda seconds: None)
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    monkeypatch.setattr(_cifar10, "CIFAR10_MD5", md5)
    home = tmp_path / "home"
    assert load_cifar10(data_home=home).images.shape == (5 * N_PER_BATCH, 32, 32)
    assert len(calls) == 2


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_truncated_records_are_named_in_archive_and_folder(tmp_path):
    good = _records(*_batch(np.random.RandomState(1), 2))
    archive, _ = _write_cifar(
        tmp_path / "archive", payloads={"data_batch_3.bin": good[:-5]}
    )
    with pytest.raises(
        ValueError,
        match=r"'cifar-10-batches-bin/data_batch_3.bin' in .*cifar-10-binary.tar.gz"
        r"' holds 6141 bytes, which is not a whole number of CIFAR-10 records "
        r"of 3073 bytes",
    ):
        load_cifar10(data_home=tmp_path / "archive")
    # The test set is intact and still loads.
    assert len(load_cifar10(subset="test", data_home=tmp_path / "archive").data) == 3

    folder = _extract(archive, tmp_path / "home")
    (folder / "test_batch.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"test_batch.bin' holds 0 bytes"):
        load_cifar10(subset="test", data_home=tmp_path / "home")


@pytest.mark.parametrize("truncated", [True, False])
def test_cifar10_truncated_or_foreign_archive_is_named(tmp_path, truncated):
    archive, _ = _write_cifar(tmp_path)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2] if truncated else b"<html>404</html>")
    with pytest.raises(
        ValueError,
        match=r"cifar-10-binary.tar.gz' is not a readable .tar.gz archive .*"
        r"fresh 'cifar-10-binary.tar.gz' from https://",
    ):
        load_cifar10(data_home=tmp_path)


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_label_outside_0_to_9_is_named(tmp_path):
    labels, pixels = _batch(np.random.RandomState(2), 4)
    labels[2] = 10
    labels[3] = 255
    payloads = {"test_batch.bin": _records(labels, pixels)}
    _write_cifar(tmp_path, payloads=payloads)
    with pytest.raises(
        ValueError,
        match=r"test_batch.bin' in .* is not a CIFAR-10 batch: record 2 has label "
        r"10, outside 0..9 \(2 such records\)",
    ):
        load_cifar10(subset="test", data_home=tmp_path)


@pytest.mark.usefixtures("no_unpickling")
def test_cifar10_bad_subset_and_incomplete_archive(tmp_path):
    with pytest.raises(ValueError, match="subset must be .* got 'valid'"):
        load_cifar10(subset="valid", data_home=tmp_path)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(
        _records(*_batch(np.random.RandomState(3), 1))
    )
    with pytest.raises(
        ValueError,
        match=r"not a complete CIFAR-10 binary version: \['data_batch_1.bin', "
        r".*'data_batch_5.bin'\] missing",
    ):
        load_cifar10(data_home=tmp_path)
    assert load_cifar10(subset="test", data_home=tmp_path).data.shape == (1, 1024)


def test_cifar10_loader_imports_no_pickle():
    assert "pickle" not in vars(_cifar10)


# --- Spambase -----------------------------------------------------------------


def _spambase_like(n_rows, seed=0):
    rng = np.random.RandomState(seed)
    matrix = np.round(rng.rand(n_rows, 58) * 10, 3)
    matrix[:, -1] = rng.randint(0, 2, size=n_rows)
    return matrix


def _write_csv(path, matrix, newline="\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(f"{v:g}" for v in row) for row in matrix]
    path.write_bytes((newline.join(lines) + newline).encode())


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_load_spambase(tmp_path, newline):
    matrix = _spambase_like(40)
    _write_csv(tmp_path / "spambase.data", matrix, newline)
    spam = load_spambase(data_home=tmp_path)
    assert_allclose(spam.matrix, matrix)
    assert_allclose(spam.data, matrix[:, :57])
    assert_array_equal(spam.target, matrix[:, -1].astype(int))
    X, y = load_spambase(data_home=tmp_path, return_X_y=True)
    assert X.shape == (40, 57) and y.shape == (40,)


def test_spambase_wrong_columns(tmp_path):
    _write_csv(tmp_path / "spambase.data", np.zeros((5, 10)))
    with pytest.raises(ValueError, match="has 10 columns.*58"):
        load_spambase(data_home=tmp_path)


def test_spambase_missing_offline(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"Put 'spambase.data' \(from https"):
        load_spambase(data_home=tmp_path, download=False)
    monkeypatch.setenv("SVLEARN_DATA", str(tmp_path / "svhome"))
    with pytest.raises(FileNotFoundError, match="svhome"):
        load_spambase(download=False)


def test_spambase_download_is_checked_by_shape(tmp_path, monkeypatch):
    server = tmp_path / "server"
    _write_csv(server / "small.data", _spambase_like(10))
    _write_csv(server / "full.data", _spambase_like(4601), "\r\n")
    served = {"file": server / "small.data"}

    def fake_fetch(url, path):
        assert url.endswith("/spambase/spambase.data")
        shutil.copy(served["file"], path)

    monkeypatch.setattr(_base, "_fetch_file", fake_fetch)
    home = tmp_path / "home"
    with pytest.raises(OSError, match="expected a 4601 x 58 matrix"):
        load_spambase(data_home=home)
    assert not (home / "spambase.data").exists()
    served["file"] = server / "full.data"
    assert load_spambase(data_home=home).matrix.shape == (4601, 58)


# --- sample windows and own files ---------------------------------------------


def test_load_sample_windows():
    samples = load_sample_windows()
    assert samples.image_names == ["china.jpg", "flower.jpg"]
    assert samples.X_train.shape == (3850, 1024) == samples.X_test.shape
    assert samples.X_train.dtype == np.float32
    for X, origins, image in [
        (samples.X_train, samples.origins_train, samples.images[0]),
        (samples.X_test, samples.origins_test, samples.images[1]),
    ]:
        assert image.shape == (427, 640)
        for k in [0, 1234, len(X) - 1]:
            r, c = origins[k]
            assert_array_equal(X[k], image[r : r + 32, c : c + 32].ravel())
    assert samples.origins_train[-1].tolist() == [392, 608]
    small = load_sample_windows(window_shape=(16, 16), strides=(32, 32))
    assert small.X_train.shape == (13 * 20, 256)


def test_sample_windows_are_bt601_gray():
    from sklearn.datasets import load_sample_images

    rgb = load_sample_images().images[0].astype(np.float64)  # china.jpg
    gray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert_allclose(load_sample_windows().images[0], gray, rtol=1e-5)


def test_load_matrices(tmp_path):
    stack = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.save(tmp_path / "one.npy", stack[0])
    np.savez(tmp_path / "stack.npz", X=stack, y=np.array([3, 7]))
    np.savez(tmp_path / "other.npz", images=stack)

    one = load_matrices(tmp_path / "one.npy")
    assert_array_equal(one.data, stack[0]) and one.target is None
    mapped = load_matrices(tmp_path / "one.npy", mmap_mode="r")
    assert isinstance(mapped.data, np.memmap)
    data, target = load_matrices(tmp_path / "stack.npz", return_X_y=True)
    assert_array_equal(data, stack) and target.tolist() == [3, 7]
    other = load_matrices(str(tmp_path / "other.npz"), key="images")
    assert_array_equal(other.data, stack) and other.target is None


def test_load_matrices_errors(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(5))
    np.savez(tmp_path / "stack.npz", X=np.zeros((2, 3, 3)), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"\.npy or \.npz.*data\.csv"):
        load_matrices(tmp_path / "data.csv")
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        load_matrices(tmp_path / "flat.npy")
    with pytest.raises(ValueError, match=r"key='images' is not in .*\['X', 'y'\]"):
        load_matrices(tmp_path / "stack.npz", key="images")
    with pytest.raises(ValueError, match="labels 'y' .* does not match"):
        load_matrices(tmp_path / "stack.npz")
    assert load_matrices(tmp_path / "stack.npz", target_key=None).target is None


# --- protocols ----------------------------------------------------------------


def _coverage(origins, shape, window=32):
    """Count, for every matrix entry, the windows covering it (2-D prefix sums)."""
    diff = np.zeros((shape[0] + 1, shape[1] + 1), dtype=np.int64)
    r, c = origins[:, 0], origins[:, 1]
    np.add.at(diff, (r, c), 1)
    np.add.at(diff, (r + window, c), -1)
    np.add.at(diff, (r, c + window), -1)
    np.add.at(diff, (r + window, c + window), 1)
    return diff.cumsum(0).cumsum(1)[: shape[0], : shape[1]]


def _assert_windows_at_origins(split, matrix):
    for X, origins in [
        (split.X_train, split.origins_train),
        (split.X_test, split.origins_test),
    ]:
        for k in [0, len(X) // 2, len(X) - 1]:
            r, c = origins[k]
            window = matrix[r : r + 32, c : c + 32].ravel().astype(X.dtype)
            assert_array_equal(X[k], window)


@pytest.fixture(scope="module")
def spambase_shaped():
    # The shape of Spambase; uint8 keeps the 123,363 windows at 126 MB.
    return (np.arange(4601 * 58) % 251).astype(np.uint8).reshape(4601, 58)


def test_spambase_protocol_paper_counts(spambase_shaped):
    split = spambase_protocol(spambase_shaped, random_state=0, dtype=np.uint8)
    assert split.X_train.shape == (104_858, 1024)
    assert split.X_test.shape == (18_505, 1024)
    origins = np.concatenate([split.origins_train, split.origins_test])
    assert len(origins) == 123_363 == 4569 * 27
    # Every window of row offsets 0..4568 and column offsets 0..26, once.
    assert len(np.unique(origins[:, 0] * 27 + origins[:, 1])) == 123_363
    assert origins[:, 0].max() == 4568 and origins[:, 1].max() == 26
    _assert_windows_at_origins(split, spambase_shaped)
    again = spambase_protocol(spambase_shaped, random_state=0, dtype=np.uint8)
    assert_array_equal(again.origins_test, split.origins_test)


def test_spambase_protocol_row_blocks_share_no_entry(spambase_shaped):
    split = spambase_protocol(
        spambase_shaped, split="row_blocks", random_state=0, dtype=np.uint8
    )
    train_cover = _coverage(split.origins_train, spambase_shaped.shape)
    test_cover = _coverage(split.origins_test, spambase_shaped.shape)
    assert not np.any((train_cover > 0) & (test_cover > 0))
    n_train, n_test = len(split.X_train), len(split.X_test)
    assert n_test / (n_train + n_test) == pytest.approx(0.15, abs=0.03)
    assert n_train + n_test < 123_363  # windows straddling a boundary dropped
    _assert_windows_at_origins(split, spambase_shaped)


def test_spambase_protocol_loads_the_file_and_small_matrices(tmp_path):
    matrix = _spambase_like(100)
    _write_csv(tmp_path / "spambase.data", matrix)
    split = spambase_protocol(data_home=tmp_path, random_state=0)
    # (100 - 32) row offsets x (58 - 32 + 1) column offsets.
    assert len(split.X_train) + len(split.X_test) == 68 * 27
    assert len(split.X_test) == int(np.ceil(0.15 * 68 * 27))
    assert split.X_train.dtype == np.float32
    _assert_windows_at_origins(split, matrix)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(split="windows"), "'split' parameter of spambase_protocol .*Got 'wi"),
        (dict(test_size=1.5), r"'test_size' .*\(0.0, 1.0\). Got 1.5"),
        (dict(test_size=True), r"'test_size' parameter .*Got True"),
        (dict(split="row_blocks", n_blocks=1), r"'n_blocks' .*\[2, inf\). Got 1 "),
        (dict(n_blocks=True), r"'n_blocks' parameter .*Got True"),
        (dict(n_blocks=2.0), r"'n_blocks' parameter .*Got 2.0"),
        (dict(split="row_blocks", n_blocks=10), "n_blocks=10 is too many .* 100 rows"),
    ],
)
def test_spambase_protocol_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spambase_protocol(np.zeros((100, 58)), **kwargs)
    with pytest.raises(ValueError, match=r"\(32, 40\) is too small"):
        spambase_protocol(np.zeros((32, 40)))


def test_cifar10_protocol_official(tmp_path):
    _write_cifar(tmp_path)
    split = cifar10_protocol(data_home=tmp_path)
    assert split.X_train.shape == (5 * N_PER_BATCH, 1024)
    assert split.X_test.shape == (N_PER_BATCH, 1024)
    assert split.X_train.dtype == np.float32 and split.matrix_shape == (32, 32)
    assert_array_equal(
        split.X_test, load_cifar10(subset="test", data_home=tmp_path).data
    )
    with pytest.raises(ValueError, match="n_test=5 only apply with path="):
        cifar10_protocol(data_home=tmp_path, n_test=5)


def test_cifar10_protocol_from_file(tmp_path):
    # Like the shared gray copy of the training set: uint8, ordered by class.
    images = np.arange(50 * 32 * 32).reshape(50, 32, 32).astype(np.uint8)
    labels = np.repeat(np.arange(10), 5)
    np.savez(tmp_path / "gray.npz", X=images, y=labels)
    split = cifar10_protocol(path=tmp_path / "gray.npz", n_test=10)
    assert_array_equal(split.X_train, images[:40].reshape(40, -1))
    assert_array_equal(split.X_test, images[40:].reshape(10, -1))
    assert split.X_train.dtype == np.float32
    assert_array_equal(split.target_test, labels[40:])

    shuffled = cifar10_protocol(
        path=tmp_path / "gray.npz", n_test=10, shuffle=True, random_state=0
    )
    assert len(np.unique(shuffled.target_test)) > 2
    both = np.concatenate([shuffled.X_train, shuffled.X_test])
    assert_array_equal(np.sort(both[:, 0]), np.sort(images[:, 0, 0]))
    with pytest.raises(
        ValueError, match="n_test must be an int between 1 and n_images - 1 = 49"
    ):
        cifar10_protocol(path=tmp_path / "gray.npz", n_test=50)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_test=0), ValueError, r"'n_test' parameter of cifar10_protocol .*Got 0"),
        (dict(n_test=True), TypeError, r"'n_test' parameter .*Got True"),
        (dict(n_test=2.5), TypeError, r"'n_test' parameter .*Got 2.5"),
        (dict(shuffle="yes"), TypeError, r"'shuffle' parameter .*Got 'yes'"),
        (dict(random_state="a"), ValueError, r"'random_state' parameter"),
    ],
)
def test_cifar10_protocol_validates_parameters_by_name(tmp_path, kwargs, error, match):
    np.savez(tmp_path / "gray.npz", X=np.zeros((5, 4, 4)))
    # InvalidParameterError is both a ValueError and a TypeError.
    with pytest.raises(InvalidParameterError, match=match) as info:
        cifar10_protocol(path=tmp_path / "gray.npz", **kwargs)
    assert isinstance(info.value, error)


def test_hold_out_validates_n_test_by_name():
    from svlearn.datasets._protocols import hold_out

    images = np.arange(5 * 4).reshape(5, 2, 2)
    split = hold_out(images, None, np.int64(2))
    assert_array_equal(split.X_test, images[3:].reshape(2, 4))
    with pytest.raises(ValueError, match=r"'n_test' parameter of hold_out.*Got True"):
        hold_out(images, None, True)
    with pytest.raises(ValueError, match="n_images - 1 = 4, got 5 instead"):
        hold_out(images, None, 5)


# --- generic leak-free split of one matrix ------------------------------------


def test_row_block_window_split_is_leak_free_and_complete():
    rng = np.random.RandomState(0)
    matrix = rng.rand(130, 11)
    split = row_block_window_split(
        matrix, window_shape=(8, 4), strides=(1, 2), n_blocks=5, random_state=0
    )
    assert split.matrix_shape == (8, 4)
    for X, origins in (
        (split.X_train, split.origins_train),
        (split.X_test, split.origins_test),
    ):
        for window, (r, c) in zip(X, origins):
            np.testing.assert_array_equal(window, matrix[r : r + 8, c : c + 4].ravel())
    rows_train = {r + i for r in split.origins_train[:, 0] for i in range(8)}
    rows_test = {r + i for r in split.origins_test[:, 0] for i in range(8)}
    assert rows_train and rows_test and not rows_train & rows_test
    # The full sweep, unlike the paper's protocol: the last row offset is kept
    # when its rows fall on one side.
    n_offsets = (130 - 8 + 1) * len(range(0, 11 - 4 + 1, 2))
    n_straddling = n_offsets - len(split.X_train) - len(split.X_test)
    held_out_blocks = 1  # round(0.15 * 5)
    assert 0 < n_straddling <= (2 * held_out_blocks) * 7 * 4
    assert 122 in set(split.origins_train[:, 0]) | set(split.origins_test[:, 0])


def test_row_block_window_split_differs_from_the_paper_protocol_by_one_offset():
    matrix = np.random.RandomState(1).rand(4601, 58)
    ours = row_block_window_split(matrix, n_blocks=20, random_state=0)
    paper = spambase_protocol(matrix, split="row_blocks", random_state=0)
    last = 4601 - 32
    assert last in set(ours.origins_train[:, 0]) | set(ours.origins_test[:, 0])
    assert last not in set(paper.origins_train[:, 0]) | set(paper.origins_test[:, 0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_blocks=1), "'n_blocks' parameter"),
        (dict(n_blocks=True), "'n_blocks' parameter"),
        (dict(test_size=1.0), "'test_size' parameter"),
        (dict(window_shape=(0, 2)), "window_shape must contain positive"),
        (dict(n_blocks=11), "too many for a matrix with 40 rows"),
        (dict(window_shape=(8, 9)), r"larger than the matrix, of shape \(40, 6\)"),
    ],
)
def test_row_block_window_split_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        row_block_window_split(np.zeros((40, 6)), **{"window_shape": 4, **kwargs})


# --- what every loader and protocol returns -----------------------------------


def _spambase_home(tmp_path):
    _write_csv(tmp_path / "spambase.data", _spambase_like(40))
    return tmp_path


def _stack_file(tmp_path):
    np.savez(tmp_path / "stack.npz", X=np.zeros((6, 4, 4)), y=np.arange(6))
    return tmp_path / "stack.npz"


# Each builds a dataset from tiny files in tmp_path.
DATASETS = {
    "load_cifar10": lambda tmp_path: load_cifar10(
        data_home=_write_cifar(tmp_path)[0].parent
    ),
    "load_spambase": lambda tmp_path: load_spambase(data_home=_spambase_home(tmp_path)),
    "load_matrices": lambda tmp_path: load_matrices(_stack_file(tmp_path)),
    "load_sample_windows": lambda tmp_path: load_sample_windows(strides=64),
    "cifar10_protocol": lambda tmp_path: cifar10_protocol(
        path=_stack_file(tmp_path), n_test=2
    ),
    "spambase_protocol": lambda tmp_path: spambase_protocol(
        data_home=_spambase_home(tmp_path), random_state=0
    ),
    "row_block_window_split": lambda tmp_path: row_block_window_split(
        np.zeros((40, 6)), window_shape=4, n_blocks=4, random_state=0
    ),
}
# Loaders with return_X_y, whose slicing error says so.
WITH_X_Y = {"load_cifar10", "load_spambase", "load_matrices"}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_sliced_dataset_raises_a_type_error_naming_its_fields(tmp_path, name):
    dataset = DATASETS[name](tmp_path)
    for key in (slice(None, 10), 0, np.int64(0), (0, 1)):
        with pytest.raises(TypeError) as info:
            dataset[key]
        message = str(info.value)
        assert f"indexed by field name ({', '.join(map(repr, dataset))})" in message
        assert f"not by {key!r}" in message
        if name in WITH_X_Y:
            assert "dataset.data[:10] and dataset.target[:10]" in message
            assert "return_X_y=True" in message
        else:
            first = "X_train" if "X_train" in dataset else "images"
            assert f"e.g. dataset.{first}[:10]." in message
            assert "return_X_y" not in message


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_keeps_every_bunch_behaviour(tmp_path, name):
    dataset = DATASETS[name](tmp_path)
    assert isinstance(dataset, Bunch)
    field = "data" if "data" in dataset else "X_train"
    assert dataset[field] is getattr(dataset, field)
    assert dataset.get(field) is dataset[field]
    with pytest.raises(KeyError, match="no_such_field"):
        dataset["no_such_field"]
    assert not hasattr(dataset, "no_such_field")
    dataset.extra = 1
    assert dataset["extra"] == 1 and "extra" in dir(dataset)
    copy = pickle.loads(pickle.dumps(dataset))
    assert type(copy) is type(dataset)
    assert sorted(copy) == sorted(dataset)
    assert_array_equal(copy[field], dataset[field])
    with pytest.raises(TypeError, match="indexed by field name"):
        copy[:10]
