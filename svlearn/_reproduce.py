# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The SV-Learn paper's experiment: Table I and Figures 2-6, with baselines.

:func:`reproduce` loads a data set under the paper's protocol, trains the
paper-faithful network and svlearn's default model, evaluates them beside
zero-learning baselines and exact SVD, times everything in one process, and
writes ``report.md``, ``report.json``, ``predictions.npz`` and the figures.
The ``svlearn reproduce`` command (:mod:`svlearn._cli`) is a thin layer over
it.
"""

import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from ._linalg import singular_values

# Table I of the paper (mean +- std over the test matrices; NMSE as a fraction).
PAPER_TABLE_I = {
    "cifar10": {"nmse_mean": 0.0159, "nmse_std": 0.0089, "mae_mean": 43.36,
                "mae_std": 11.95},
    "spambase": {"nmse_mean": 0.0404, "nmse_std": 0.0289, "mae_mean": 1.00,
                 "mae_std": 2.14},
}  # fmt: skip

SVDLIGHT_K = 5  # rank of the SVD-LIGHT reconstructions in Figure 6


@dataclass
class Experiment:
    """One train/test split to evaluate, with how it was made."""

    key: str  # folder name in the output directory
    title: str
    protocol: str  # one sentence, for the report
    X_train: np.ndarray  # (n_train, m * n)
    X_test: np.ndarray  # (n_test, m * n)
    matrix_shape: tuple
    paper: str | None = None  # key of PAPER_TABLE_I to stand beside
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


def _user_experiments(path, test_size, seed):
    """Experiments from the user's .npy/.npz file (see ``svlearn reproduce -h``)."""
    import zipfile

    from .datasets import load_matrices, spambase_protocol

    path = Path(path)
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
            X_train = load_matrices(path, key="X_train").data
            X_test = load_matrices(path, key="X_test").data
        else:
            key = "X" if "X" in files or len(files) != 1 else files[0]
            data = load_matrices(path, key=key).data
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"could not read {str(path)!r} as a .npy/.npz file of matrices: {exc}"
        ) from exc
    name = path.stem
    if {"X_train", "X_test"} <= set(files):
        if X_train.ndim != 3 or X_train.shape[1:] != X_test.shape[1:]:
            raise ValueError(
                f"X_train and X_test in {str(path)!r} must be 3-D stacks of "
                f"matrices of one shape; got shapes {X_train.shape} and "
                f"{X_test.shape}."
            )
        shape = X_train.shape[1:]
        protocol = f"The file's own X_train / X_test arrays ({path.name})."
        X_train, X_test = (
            X_train.reshape(len(X_train), -1),
            X_test.reshape(len(X_test), -1),
        )
    elif data.ndim == 3:
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
        shape = data.shape[1:]
        X_train, X_test = data[: n - n_test], data[n - n_test :]
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(n_test, -1)
        protocol = (
            f"The first {n - n_test} matrices of {path.name} train, the last "
            f"{n_test} test."
        )
    else:
        fraction = 0.15 if test_size is None else test_size
        if not isinstance(fraction, float):
            raise ValueError(
                f"{str(path)!r} holds one 2-D matrix, which is windowed; "
                f"--test-size must then be a fraction in (0, 1), got {test_size}."
            )
        # As many row blocks as Spambase's 20, each at least a window high.
        n_blocks = min(20, data.shape[0] // 32)
        if n_blocks < 2 or data.shape[1] < 32:
            raise ValueError(
                f"{str(path)!r} holds one {data.shape[0]} x {data.shape[1]} "
                "matrix; windowing it into 32 x 32 windows split by row blocks "
                "needs at least 64 rows and 32 columns."
            )
        split = spambase_protocol(
            data,
            split="row_blocks",
            test_size=fraction,
            n_blocks=n_blocks,
            random_state=seed,
        )
        X_train, X_test, shape = split.X_train, split.X_test, split.matrix_shape
        protocol = (
            f"32 x 32 windows (stride 1) of the {data.shape[0]} x {data.shape[1]} "
            f"matrix in {path.name}, split by contiguous row blocks ({fraction:g} "
            f"of {n_blocks} blocks held out; windows straddling a boundary dropped)."
        )
    return [Experiment(name, f"{path.name}", protocol, X_train, X_test, tuple(shape))]


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
        matrix, windowed 32 x 32 and split by row blocks.
    data_home : str, default=None
        Where the CIFAR-10 and Spambase files are (or are downloaded to).
    test_size : int or float, default=None
        For a file: number (int) or fraction (float) of test matrices.
    max_train, max_test : int, default=None
        Keep a random subset of this many training / test matrices.
    seed : int, default=0
        Seeds the Spambase splits and the subsets.
    download : bool, default=True
        Download missing CIFAR-10 / Spambase files where a network exists.

    Returns
    -------
    experiments : list of Experiment
    """
    from .datasets import (
        cifar10_protocol,
        load_sample_windows,
        load_spambase,
        spambase_protocol,
    )

    if dataset == "sample_images":
        data = load_sample_windows()
        experiments = [
            Experiment(
                "sample_images",
                "scikit-learn sample images, 32 x 32 gray windows",
                "Windows (stride 8) of china.jpg train, windows of flower.jpg "
                "test: a split by image, so no test window shares a pixel with "
                "a training window.",
                data.X_train,
                data.X_test,
                (32, 32),
            )
        ]
    elif dataset == "cifar10":
        split = cifar10_protocol(data_home=data_home, download=download)
        experiments = [
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
    elif dataset == "spambase":
        matrix = load_spambase(data_home=data_home, download=download).matrix
        experiments = []
        for split_name, key, protocol in [
            (
                "random",
                "spambase_random",
                "The paper's protocol: all 123,363 32 x 32 windows (stride 1) "
                "of the 4601 x 58 matrix, label column included, split at "
                "random 85% / 15%. Overlapping windows leak test entries into "
                "training.",
            ),
            (
                "row_blocks",
                "spambase_row_blocks",
                "Leakage-free: the same windows, but 15% of 20 contiguous row "
                "blocks are held out and windows straddling a boundary are "
                "dropped, so no matrix entry is in both sets.",
            ),
        ]:
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


class RandomSpectrumBaseline:
    """Random singular values: the "random" reconstructions of Figure 6.

    The paper does not say how its random singular values were drawn. Here
    each matrix gets ``min(m, n)`` values drawn independently and uniformly
    from ``[0, s_max]``, where ``s_max`` is the largest singular value seen in
    training, sorted in descending order so that they form a valid spectrum.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._reproduce import RandomSpectrumBaseline
    >>> base = RandomSpectrumBaseline(random_state=0).fit(None, [[4.0, 1.0]])
    >>> S = base.predict(np.zeros((3, 4)))
    >>> S.shape, bool((S[:, 0] >= S[:, 1]).all()), bool(S.max() <= 4.0)
    ((3, 2), True, True)
    """

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y, dtype=np.float64)
        self.high_ = float(y.max())
        self.n_outputs_ = y.shape[1]
        self._rng = check_random_state(self.random_state)
        return self

    def predict(self, X):
        s = self._rng.uniform(0.0, self.high_, size=(len(X), self.n_outputs_))
        return -np.sort(-s, axis=1)


def _timed(fn, repeats):
    """Best wall time of ``repeats`` calls of ``fn``, and the last result."""
    best = math.inf
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _torch_svdvals(X3, device):
    """Exact singular values with torch.linalg.svdvals, numpy in and out."""
    import torch

    dev = torch.device(device)
    S = torch.linalg.svdvals(torch.from_numpy(X3).to(dev))
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return S.cpu().numpy()


def environment():
    """Versions, machine and thread settings the timings were measured under."""
    import sklearn
    import threadpoolctl
    import torch

    from . import __version__

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    pools = [
        {"api": p["internal_api"], "num_threads": p["num_threads"]}
        for p in threadpoolctl.threadpool_info()
    ]
    return {
        "svlearn": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_cores_available": cores,
        "torch_threads": torch.get_num_threads(),
        "threadpools": pools,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def _json_params(estimator):
    """An estimator's parameters as JSON-friendly values."""
    out = {}
    for key, value in estimator.get_params(deep=False).items():
        if isinstance(value, tuple):
            value = list(value)
        if value is None or isinstance(value, (bool, int, float, str, list)):
            out[key] = value
        else:
            out[key] = repr(value)
    return out


def _summary(y_true, y_pred):
    from .metrics import mae_per_matrix, nmse_per_matrix

    nmse = nmse_per_matrix(y_true, y_pred)
    mae = mae_per_matrix(y_true, y_pred)
    return {
        "nmse_mean": float(np.mean(nmse)),
        "nmse_std": float(np.std(nmse)),
        "mae_mean": float(np.mean(mae)),
        "mae_std": float(np.std(mae)),
    }


def _log(progress, message):
    if progress:
        print(f"[svlearn] {message}", file=sys.stderr, flush=True)


def models(
    *, matrix_shape, seed, device="cpu", verbose=0, max_iter=None,
    hidden_layer_sizes=None, batch_size=None,
):  # fmt: skip
    """The estimators compared in Table I, as ``{key: (name, estimator)}``.

    ``max_iter``, ``hidden_layer_sizes`` and ``batch_size``, when given,
    override both networks' settings.
    """
    from ._baselines import MeanSpectrumRegressor
    from ._regressor import SingularValueRegressor, paper_regressor

    common = {
        "matrix_shape": matrix_shape,
        "random_state": seed,
        "device": device,
        "verbose": verbose,
    }
    overrides = {
        "max_iter": max_iter,
        "hidden_layer_sizes": hidden_layer_sizes,
        "batch_size": batch_size,
    }
    common.update({k: v for k, v in overrides.items() if v is not None})
    return {
        "paper_net": ("SV-Learn network (paper-faithful)", paper_regressor(**common)),
        "svlearn_default": (
            "svlearn default (SingularValueRegressor)",
            SingularValueRegressor(**common),
        ),
        "mean_spectrum": (
            "mean training spectrum",
            MeanSpectrumRegressor(matrix_shape=matrix_shape, scaling="none"),
        ),
        "frobenius_template": (
            "mean normalised spectrum x exact Frobenius norm",
            MeanSpectrumRegressor(matrix_shape=matrix_shape, scaling="frobenius"),
        ),
        "power_template": (
            "power-iteration s1 + exact leftover energy x template",
            MeanSpectrumRegressor(matrix_shape=matrix_shape, scaling="power"),
        ),
        "random": (
            "random singular values (uniform in [0, max training s1], sorted)",
            RandomSpectrumBaseline(random_state=seed),
        ),
    }


NETWORKS = ("paper_net", "svlearn_default")


def run_experiment(
    exp, *, out_dir, seed=0, device="cpu", verbose=1, repeats=3, progress=True,
    max_iter=None, hidden_layer_sizes=None, batch_size=None,
):  # fmt: skip
    """Train, evaluate and time every model on one experiment; draw its figures.

    Returns the experiment's entry of ``report.json``; writes
    ``predictions.npz`` and the figures into ``out_dir / exp.key``.
    """
    from ._report import draw_figures, reconstruction_errors

    folder = Path(out_dir) / exp.key
    folder.mkdir(parents=True, exist_ok=True)
    shape = tuple(exp.matrix_shape)
    X_train = np.ascontiguousarray(exp.X_train, dtype=np.float32)
    X_test = np.ascontiguousarray(exp.X_test, dtype=np.float32)
    X3_test = X_test.reshape(-1, *shape)

    # Targets once, in float64, shared by every model (so the networks' fit
    # times below exclude the exact SVD of the training set, reported apart).
    t_targets, y_train = _timed(lambda: singular_values(X_train, matrix_shape=shape), 1)
    y_true = singular_values(X_test, matrix_shape=shape)
    estimators = models(
        matrix_shape=shape, seed=seed, device=device, verbose=verbose,
        max_iter=max_iter, hidden_layer_sizes=hidden_layer_sizes,
        batch_size=batch_size,
    )  # fmt: skip

    rows, preds = [], {}
    for key, (name, est) in estimators.items():
        _log(progress, f"{exp.key}: fitting {name} on {len(X_train)} matrices")
        start = time.perf_counter()
        est.fit(X_train, y_train)
        rows.append(
            {"key": key, "name": name, "fit_time_s": time.perf_counter() - start}
        )
        if key in NETWORKS:
            rows[-1].update(
                params=_json_params(est),
                n_iter=int(est.n_iter_),
                final_train_loss=float(est.loss_curve_[-1]),
            )

    # Evaluation: each model's predictions, then exact batched singular values
    # on the same float32 test matrices, all timed best-of-`repeats` here.
    steps = [(row, estimators[row["key"]][1]) for row in rows]
    steps += [("numpy", None), ("torch", None)]
    bar = _progress_bar(steps, progress, f"{exp.key}: evaluating")
    exact = {}
    for row, est in bar:
        if row == "numpy":
            exact["numpy_s"], _ = _timed(
                lambda: np.linalg.svd(X3_test, compute_uv=False), repeats
            )
        elif row == "torch":
            exact["torch_s"], _ = _timed(
                lambda: _torch_svdvals(X3_test, device), repeats
            )
        else:
            t, y = _timed(lambda est=est: est.predict(X_test), repeats)
            preds[row["key"]] = np.asarray(y, dtype=np.float64)
            row.update(_summary(y_true, y), predict_time_s=t)

    n_test = len(X_test)
    for row in rows:
        row["predict_time_per_matrix_s"] = row["predict_time_s"] / n_test
        row["speedup_vs_numpy"] = exact["numpy_s"] / row["predict_time_s"]
        row["speedup_vs_torch"] = exact["torch_s"] / row["predict_time_s"]
    rows.append(
        {
            "key": "exact_svd",
            "name": "exact SVD (numpy/LAPACK, float32)",
            "nmse_mean": 0.0, "nmse_std": 0.0, "mae_mean": 0.0, "mae_std": 0.0,
            "fit_time_s": 0.0,
            "predict_time_s": exact["numpy_s"],
            "predict_time_per_matrix_s": exact["numpy_s"] / n_test,
            "speedup_vs_numpy": 1.0,
            "speedup_vs_torch": exact["torch_s"] / exact["numpy_s"],
        }
    )  # fmt: skip

    np.savez_compressed(
        folder / "predictions.npz",
        y_true=y_true,
        **{f"y_pred__{key}": y for key, y in preds.items()},
    )
    _log(progress, f"{exp.key}: drawing figures")
    fitted = {key: est for key, (_, est) in estimators.items()}
    figures = draw_figures(
        exp, folder, X_test, y_true, preds, fitted, seed=seed, svdlight_k=SVDLIGHT_K
    )
    recon = reconstruction_errors(
        X_test, y_true, preds, fitted["paper_net"], shape, seed, SVDLIGHT_K
    )
    return {
        "key": exp.key,
        "title": exp.title,
        "protocol": exp.protocol,
        "notes": exp.notes,
        "matrix_shape": list(shape),
        "n_train": len(X_train),
        "n_test": n_test,
        "paper": PAPER_TABLE_I.get(exp.paper),
        "models": rows,
        "timing": {
            "target_svd_time_s": t_targets,
            "numpy_svd_time_s": exact["numpy_s"],
            "torch_svdvals_time_s": exact["torch_s"],
            "repeats": repeats,
            "device": device,
        },
        "reconstruction": recon,
        "figures": {k: str(Path(exp.key) / v) for k, v in figures.items()},
        "predictions": str(Path(exp.key) / "predictions.npz"),
    }


def _progress_bar(items, enabled, desc):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="step", leave=False, file=sys.stderr)


def reproduce(
    experiments, *, out_dir, seed=0, device="cpu", verbose=1, repeats=3,
    progress=True, command=None, dataset=None, **overrides,
):  # fmt: skip
    """Run every experiment and write ``report.md`` and ``report.json``.

    Parameters
    ----------
    experiments : list of Experiment
        From :func:`load_experiments`.
    out_dir : str or path
        Output folder, created if needed.
    seed : int, default=0
        Seeds the networks, the baselines and the figures' random choices.
    device : str, default="cpu"
        Torch device of the networks and of ``torch.linalg.svdvals``.
    verbose : int, default=1
        Passed to the networks (2 adds skorch's progress bar).
    repeats : int, default=3
        Timings are the best of this many runs.
    progress : bool, default=True
        Log steps and show the evaluation progress bar on stderr.
    command : str, default=None
        The command line, recorded in the report.
    dataset : str, default=None
        The data set as named by the user, recorded in the report.
    **overrides : dict
        ``max_iter``, ``hidden_layer_sizes`` and ``batch_size`` of both
        networks.

    Returns
    -------
    report : dict
        What ``report.json`` holds.
    """
    # Everything the run needs, imported now: a broken install fails here, not
    # after the training.
    from . import _baselines, _regressor, _svd, plotting  # noqa: F401
    from ._report import write_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = environment()
    start = time.perf_counter()
    results = [
        run_experiment(
            exp, out_dir=out_dir, seed=seed, device=device, verbose=verbose,
            repeats=repeats, progress=progress, **overrides,
        )
        for exp in experiments
    ]  # fmt: skip
    report = {
        "command": command,
        "dataset": dataset,
        "config": {"seed": seed, "device": device, "repeats": repeats, **overrides},
        "environment": env,
        "total_time_s": time.perf_counter() - start,
        "paper_table_i": PAPER_TABLE_I,
        "experiments": results,
    }
    write_report(report, out_dir)
    _log(progress, f"wrote {out_dir / 'report.md'} and {out_dir / 'report.json'}")
    return report
