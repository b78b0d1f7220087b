# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The train/test sets of ``svlearn reproduce``, built on ``svlearn.datasets``."""

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Windows cut from a user's single matrix, as in the paper's Spambase protocol.
_USER_WINDOW = (32, 32)


@dataclass
class Experiment:
    """One train/test split to evaluate, with how it was made."""

    key: str  # folder name in the output directory
    title: str
    protocol: str  # one sentence, for the report
    X_train: np.ndarray  # (n_train, m * n)
    X_test: np.ndarray  # (n_test, m * n)
    matrix_shape: tuple
    paper: str | None = None  # key of svlearn._paper.PAPER_TABLE_I to stand beside
    notes: list = field(default_factory=list)


def _subset(X, n, rng):
    """A random subset of ``n`` rows of ``X`` in their original order."""
    if n is None or n >= len(X):
        return X
    return X[np.sort(rng.choice(len(X), size=n, replace=False))]


def _check_finite(X, what):
    if np.iscomplexobj(X) or not np.isfinite(X).all():
        raise ValueError(
            f"{what} holds complex, NaN or infinite values; singular values are "
            "learned from finite real matrices."
        )


def _read_user_file(path):
    """The arrays of a user's .npy/.npz file: ``{"X": ...}`` or train/test."""
    from ..datasets import load_matrices

    if not path.is_file():
        raise FileNotFoundError(
            f"--dataset {str(path)!r} is neither sample_images, cifar10 or "
            "spambase nor an existing .npy/.npz file."
        )
    try:
        files = ["X"]
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                files = archive.files
        if {"X_train", "X_test"} <= set(files):
            keys = ("X_train", "X_test")
            return {key: load_matrices(path, key=key).data for key in keys}
        key = "X" if "X" in files or len(files) != 1 else files[0]
        return {"X": load_matrices(path, key=key).data}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"could not read {str(path)!r} as a .npy/.npz file of matrices: {exc}"
        ) from exc


def _user_experiments(path, test_size, seed):
    """Experiments from the user's .npy/.npz file (see ``svlearn reproduce -h``)."""
    from ..datasets import row_block_window_split
    from ..datasets._protocols import hold_out as _hold_out

    path = Path(path)
    arrays = _read_user_file(path)
    if "X_train" in arrays:
        X_train, X_test = arrays["X_train"], arrays["X_test"]
        if X_train.ndim != 3 or X_train.shape[1:] != X_test.shape[1:]:
            raise ValueError(
                f"X_train and X_test in {str(path)!r} must be 3-D stacks of "
                f"matrices of one shape; got shapes {X_train.shape} and "
                f"{X_test.shape}."
            )
        shape = X_train.shape[1:]
        protocol = f"The file's own X_train / X_test arrays ({path.name})."
        X_train = X_train.reshape(len(X_train), -1)
        X_test = X_test.reshape(len(X_test), -1)
    elif arrays["X"].ndim == 3:
        data = arrays["X"]
        n = len(data)
        n_test = 0.2 if test_size is None else test_size
        if isinstance(n_test, float):
            n_test = math.ceil(n_test * n)
        if not 0 < n_test < n:
            raise ValueError(
                f"--test-size {test_size} leaves no training or no test matrix "
                f"out of the {n} in {str(path)!r}."
            )
        # The CIFAR-10 protocol on a file: the first n - n_test train.
        split = _hold_out(data, None, n_test)
        X_train, X_test, shape = split.X_train, split.X_test, split.matrix_shape
        protocol = (
            f"The first {n - n_test} matrices of {path.name} train, the last "
            f"{n_test} test."
        )
    else:
        data = arrays["X"]
        fraction = 0.15 if test_size is None else test_size
        if not isinstance(fraction, float):
            raise ValueError(
                f"{str(path)!r} holds one 2-D matrix, which is windowed; "
                f"--test-size must then be a fraction in (0, 1), got {test_size}."
            )
        m, n = _USER_WINDOW
        # As many row blocks as Spambase's 20, each at least a window high.
        n_blocks = min(20, data.shape[0] // m)
        if n_blocks < 2 or data.shape[1] < n:
            raise ValueError(
                f"{str(path)!r} holds one {data.shape[0]} x {data.shape[1]} "
                f"matrix; windowing it into {m} x {n} windows split by row "
                f"blocks needs at least {2 * m} rows and {n} columns."
            )
        split = row_block_window_split(
            data,
            window_shape=_USER_WINDOW,
            test_size=fraction,
            n_blocks=n_blocks,
            random_state=seed,
        )
        X_train, X_test, shape = split.X_train, split.X_test, split.matrix_shape
        protocol = (
            f"{m} x {n} windows (stride 1) of the {data.shape[0]} x "
            f"{data.shape[1]} matrix in {path.name}, split by contiguous row "
            f"blocks ({fraction:g} of {n_blocks} blocks held out; windows "
            "straddling a boundary dropped)."
        )
    return [Experiment(path.stem, path.name, protocol, X_train, X_test, tuple(shape))]


def _sample_images_experiments():
    from ..datasets import load_sample_windows

    data = load_sample_windows()
    return [
        Experiment(
            "sample_images",
            "scikit-learn sample images, 32 x 32 gray windows",
            "Windows (stride 8) of china.jpg train, windows of flower.jpg test: "
            "a split by image, so no test window shares a pixel with a "
            "training window.",
            data.X_train,
            data.X_test,
            (32, 32),
        )
    ]


def _cifar10_experiments(data_home, download):
    from ..datasets import cifar10_protocol

    split = cifar10_protocol(data_home=data_home, download=download)
    return [
        Experiment(
            "cifar10",
            "CIFAR-10, 32 x 32 gray images",
            "The official 50,000 training and 10,000 test images, as the paper.",
            split.X_train,
            split.X_test,
            tuple(split.matrix_shape),
            paper="cifar10",
        )
    ]


_SPAMBASE_SPLITS = [
    (
        "random",
        "spambase_random",
        "The paper's protocol: all 123,363 32 x 32 windows (stride 1) of the "
        "4601 x 58 matrix, label column included, split at random 85% / 15%. "
        "Overlapping windows leak test entries into training.",
    ),
    (
        "row_blocks",
        "spambase_row_blocks",
        "Leakage-free: the same windows, but 15% of 20 contiguous row blocks "
        "are held out and windows straddling a boundary are dropped, so no "
        "matrix entry is in both sets.",
    ),
]


def _spambase_experiments(data_home, download, seed):
    from ..datasets import load_spambase, spambase_protocol

    matrix = load_spambase(data_home=data_home, download=download).matrix
    experiments = []
    for split_name, key, protocol in _SPAMBASE_SPLITS:
        split = spambase_protocol(matrix, split=split_name, random_state=seed)
        experiments.append(
            Experiment(
                key,
                f"Spambase, {split_name.replace('_', '-')} split",
                protocol,
                split.X_train,
                split.X_test,
                tuple(split.matrix_shape),
                paper="spambase",
            )
        )
    return experiments


def load_experiments(
    dataset="sample_images", *, data_home=None, test_size=None, max_train=None,
    max_test=None, seed=0, download=True,
):  # fmt: skip
    """The train/test experiments of a data set, under the paper's protocols.

    Parameters
    ----------
    dataset : str, default="sample_images"
        ``"sample_images"`` (embedded, no network), ``"cifar10"`` (50,000 /
        10,000), ``"spambase"`` (two experiments: the paper's random split of
        the 123,363 windows and a leakage-free row-block split), or the path of
        a ``.npy`` / ``.npz`` file: a 3-D stack of matrices (key ``"X"``, or
        the archive's only array) whose last ``test_size`` matrices are the
        test set; an archive with ``"X_train"`` and ``"X_test"``; or one 2-D
        matrix, windowed 32 x 32 and split by row blocks
        (:func:`svlearn.datasets.row_block_window_split`).
    data_home : str, default=None
        Where the CIFAR-10 and Spambase files are (or are downloaded to).
    test_size : int or float, default=None
        For a file: number (int) or fraction (float) of test matrices.
    max_train, max_test : int, default=None
        Keep a random subset of this many training / test matrices.
    seed : int, default=0
        Seeds the Spambase and row-block splits and the subsets.
    download : bool, default=True
        Download missing CIFAR-10 / Spambase files where a network exists.

    Returns
    -------
    experiments : list of Experiment
    """
    if dataset == "sample_images":
        experiments = _sample_images_experiments()
    elif dataset == "cifar10":
        experiments = _cifar10_experiments(data_home, download)
    elif dataset == "spambase":
        experiments = _spambase_experiments(data_home, download, seed)
    else:
        experiments = _user_experiments(dataset, test_size, seed)

    rng = np.random.default_rng(seed)
    for exp in experiments:
        _check_finite(exp.X_train, f"The training data of {exp.title!r}")
        _check_finite(exp.X_test, f"The test data of {exp.title!r}")
        n_train, n_test = len(exp.X_train), len(exp.X_test)
        exp.X_train = _subset(exp.X_train, max_train, rng)
        exp.X_test = _subset(exp.X_test, max_test, rng)
        if (len(exp.X_train), len(exp.X_test)) != (n_train, n_test):
            exp.notes.append(
                f"Random subsets (--max-train/--max-test): {len(exp.X_train)} of "
                f"{n_train} training and {len(exp.X_test)} of {n_test} test "
                "matrices."
            )
        if len(exp.X_train) < 2 or len(exp.X_test) < 1:
            raise ValueError(
                f"{exp.title}: {len(exp.X_train)} training and {len(exp.X_test)} "
                "test matrices; need n_samples >= 2 to train and >= 1 to test."
            )
    return experiments
