# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Rebuild the pretrained models shipped in ``svlearn/_pretrained_files/``.

For each square shape (8, 16, 32, 64) the default
:class:`~svlearn.SingularValueRegressor` (``random_state=0``; its
``calibration_fraction=0.1`` holds a random tenth of the mixture out of
training to calibrate the error estimates) is trained on a mixture of

* natural images: windows of the gray CIFAR-10 training images (whole images
  at 32 x 32; no CIFAR at 64 x 64, the images are 32 x 32) from the 40,000
  that a seeded split keeps out of the benchmark's hold-out; windows of
  scikit-learn's sample image ``china.jpg``; scikit-learn's 8 x 8 digits (at
  8 x 8, a seeded 80 % of them);
* a table: windows of the Spambase matrix, training part of a leak-free
  row-block split (not at 64 x 64: the matrix has 58 columns);
* the synthetic families of :data:`svlearn._pretrained.FAMILIES` (Gaussian,
  uniform, rank 5, low rank plus noise, power-law and exponential spectra
  with random singular vectors, Toeplitz, sparse, heavy-tailed), an equal
  share each.

A source that is missing (no ``--data-dir`` files) or does not exist at a
shape drops out and the others' weights are renormalised; the manifest
records the parts actually used. Each model is then measured on held-out
matrices of every family and source (other seeds, the other side of each
split), and written with :func:`svlearn.save` as
``svlearn-<n>x<n>.safetensors`` beside its manifest ``svlearn-<n>x<n>.json``:
mixture and weights, seeds, commit, library versions, the command, the
file's SHA-256 digest and size, training time and the metrics per family.

Run from the repository root (about 5 minutes for the four shapes on 2
shared cores, one thread)::

    OMP_NUM_THREADS=1 python benchmarks/build_pretrained.py --data-dir ../shared/data

``--quick`` trains small models into ``benchmarks/results/quick/pretrained/``
and never touches the shipped files.
"""

import argparse
import copy
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The benchmarks and this checkout's svlearn (whose folder the files go to).
sys.path[:0] = [str(HERE), str(ROOT)]
from _meta import run_metadata  # noqa: E402

import svlearn  # noqa: E402
from svlearn import SingularValueRegressor, extract_windows  # noqa: E402
from svlearn._pretrained import FAMILIES, SHAPES, synthetic_matrices  # noqa: E402
from svlearn.datasets import (  # noqa: E402
    load_sample_windows,
    load_spambase,
    row_block_window_split,
)
from svlearn.metrics import nmse_per_matrix, worst_index_relative_error  # noqa: E402

MAX_ERROR = 1e-3
SEEDS = {
    "cifar_split": 0,  # which 10,000 CIFAR images are the benchmark's hold-out
    "mixture": 0,  # draws of the training mixture
    "model": 0,  # the regressor's random_state
    "test": 1,  # draws of the test matrices
}
N_CIFAR_HOLDOUT = 10_000
# Mixture weights before renormalisation over the sources present at a shape;
# the synthetic share is split equally among FAMILIES.
WEIGHTS = {
    "cifar": 0.30,
    "sample_images": 0.10,
    "digits": 0.05,
    "spambase": 0.10,
    "synthetic": 0.45,
}
# Training matrices per shape (calibration included), and test matrices per
# family: sized for about 5 minutes in all on one thread.
N_TRAIN = {8: 40_000, 16: 40_000, 32: 40_000, 64: 32_000}
N_TEST = {8: 2000, 16: 2000, 32: 2000, 64: 1000}
QUICK_N_TRAIN, QUICK_N_TEST = 3000, 300
DESCRIPTIONS = {
    "cifar": "gray CIFAR-10 training images (windows below 32 x 32)",
    "sample_images": "windows of scikit-learn's sample image china.jpg",
    "digits": "scikit-learn's 8 x 8 digits",
    "spambase": "windows of the Spambase matrix (row-block training part)",
    **FAMILIES,
}


def _subsample(X, n, rng):
    if len(X) <= n:
        return X
    return X[np.sort(rng.choice(len(X), n, replace=False))]


def cifar_split(data_dir):
    """The CIFAR images for training and the hold-out, or None without the file.

    The file is ordered by class, so the hold-out is a seeded random
    ``N_CIFAR_HOLDOUT`` of it.
    """
    path = Path(data_dir) / "cifar10_gray_train.npz"
    if not path.is_file():
        return None
    with np.load(path) as data:
        images = data["X"].astype(np.float32).reshape(-1, 32, 32)
    order = np.random.default_rng(SEEDS["cifar_split"]).permutation(len(images))
    return images[order[N_CIFAR_HOLDOUT:]], images[order[:N_CIFAR_HOLDOUT]]


def natural_sources(n, data_dir):
    """Real-data pools at side ``n``: name -> (training pool, test pool).

    A pool is either an array of flat matrices or a function ``(count, seed)
    -> array`` that draws windows. Sources that do not exist at this shape,
    or whose files are missing, are left out.
    """
    sources = {}
    split = cifar_split(data_dir)
    if split is not None:
        train, holdout = split
        if n == 32:
            sources["cifar"] = (
                train.reshape(len(train), -1),
                holdout.reshape(-1, n * n),
            )
        elif n < 32:
            sources["cifar"] = tuple(_window_drawer(images, n) for images in split)
    if n <= 64:
        # About 13,000 to 270,000 windows per image.
        stride = min(max(1, n // 8), 4)
        samples = load_sample_windows(window_shape=(n, n), strides=(stride, stride))
        sources["sample_images"] = (samples.X_train, samples.X_test)
    if n == 8:
        from sklearn.datasets import load_digits

        images = load_digits().images.astype(np.float32).reshape(-1, 64)
        order = np.random.default_rng(SEEDS["mixture"]).permutation(len(images))
        cut = int(0.8 * len(images))
        sources["digits"] = (images[order[:cut]], images[order[cut:]])
    if n <= 58 and (Path(data_dir) / "spambase.data").is_file():
        matrix = load_spambase(data_home=data_dir, download=False).matrix
        spam = row_block_window_split(
            matrix,
            window_shape=(n, n),
            # Every row offset would repeat each entry n times over.
            strides=(max(1, n // 4), 1),
            test_size=0.2,
            random_state=SEEDS["mixture"],
            dtype=np.float32,
        )
        sources["spambase"] = (spam.X_train, spam.X_test)
    return sources


def _window_drawer(images, n):
    def draw(count, seed):
        return extract_windows(images, (n, n), max_windows=count, random_state=seed)

    return draw


def _draw(pool, count, seed):
    if callable(pool):
        return pool(count, seed)
    return _subsample(pool, count, np.random.default_rng(seed))


def mixture_counts(n, names, n_train):
    """Matrices per part of the mixture at side ``n``, given the sources present."""
    weights = {k: WEIGHTS[k] for k in (*names, "synthetic")}
    total = sum(weights.values())
    counts = {
        k: int(round(n_train * w / total))
        for k, w in weights.items()
        if k != "synthetic"
    }
    per_family = (n_train - sum(counts.values())) // len(FAMILIES)
    counts.update({f: per_family for f in FAMILIES})
    return counts


def training_mixture(n, data_dir, n_train):
    """The shuffled training matrices at side ``n`` and the mixture's record."""
    sources = natural_sources(n, data_dir)
    counts = mixture_counts(n, sources, n_train)
    parts, record = [], {}
    for i, (name, count) in enumerate(counts.items()):
        seed = SEEDS["mixture"] * 1000 + i
        if name in sources:
            X = _draw(sources[name][0], count, seed)
        else:
            X = synthetic_matrices(name, count, n, random_state=seed)
        parts.append(np.ascontiguousarray(X, dtype=np.float32))
        record[name] = {"n": len(X), "description": DESCRIPTIONS[name]}
    X = np.vstack(parts)
    X = X[np.random.default_rng(SEEDS["mixture"]).permutation(len(X))]
    for part in record.values():
        part["weight"] = part["n"] / len(X)
    return X, record


def test_sets(n, data_dir, n_test):
    """Held-out matrices of every family and source of the mixture at side ``n``."""
    sets = {}
    for i, family in enumerate(FAMILIES):
        seed = SEEDS["test"] * 1000 + i
        sets[family] = synthetic_matrices(family, n_test, n, random_state=seed)
    for i, (name, (_, test)) in enumerate(natural_sources(n, data_dir).items()):
        seed = SEEDS["test"] * 1000 + 100 + i
        sets[name] = np.ascontiguousarray(_draw(test, n_test, seed), dtype=np.float32)
    return sets


def exact(X, n):
    return np.linalg.svd(
        np.asarray(X, dtype=np.float64).reshape(-1, n, n), compute_uv=False
    )


def evaluate(reg, X):
    """Accuracy and the exact fallback of ``reg`` on flat square matrices ``X``."""
    n = reg.matrix_shape_[0]
    S = exact(X, n)
    pred, estimate = reg.predict(X, return_error=True)
    nmse = nmse_per_matrix(S, pred)
    # A shallow copy shares the fitted net; max_error acts at predict time.
    guarded = copy.copy(reg)
    guarded.max_error = MAX_ERROR
    pred_g, estimate_g = guarded.predict(X, return_error=True)
    return {
        "n": len(X),
        "nmse_mean": float(nmse.mean()),
        "nmse_median": float(np.median(nmse)),
        "nmse_p90": float(np.quantile(nmse, 0.9)),
        "nmse_p99": float(np.quantile(nmse, 0.99)),
        "worst_index": worst_index_relative_error(S, pred),
        "coverage": float(np.mean(nmse <= estimate)),
        "recomputed": float(np.mean(estimate_g == 0.0)),
        "slips": float(np.mean(nmse_per_matrix(S, pred_g) > MAX_ERROR)),
    }


# The deterministic sample whose NMSE the tests recompute exactly.
CHECK = {"family": "gaussian", "n_matrices": 64, "random_state": 12345}


def check_sample(reg):
    n = reg.matrix_shape_[0]
    X = synthetic_matrices(
        CHECK["family"], CHECK["n_matrices"], n, CHECK["random_state"]
    )
    return {
        **CHECK,
        "nmse_mean": float(nmse_per_matrix(exact(X, n), reg.predict(X)).mean()),
    }


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build(n, args, meta):
    start = time.perf_counter()
    X, record = training_mixture(n, args.data_dir, args.n_train[n])
    params = dict(args.model_params)
    reg = SingularValueRegressor(random_state=SEEDS["model"], **params)
    reg.fit(X)
    fit_s = time.perf_counter() - start
    metrics = {
        name: evaluate(reg, T)
        for name, T in test_sets(n, args.data_dir, args.n_test[n]).items()
    }
    name = f"svlearn-{n}x{n}"
    path = args.out_dir / f"{name}.safetensors"
    svlearn.save(reg, path)
    manifest = {
        "shape": [n, n],
        "file": path.name,
        "sha256": sha256(path),
        "size_bytes": path.stat().st_size,
        "format": "svlearn.save (safetensors + JSON)",
        "estimator": "SingularValueRegressor",
        "params": {"random_state": SEEDS["model"], **params},
        "n_train": int(len(X) - reg.n_calibration_),
        "n_calibration": int(reg.n_calibration_),
        "calibration": "a random calibration_fraction=0.1 of the mixture, "
        "held out of training",
        "mixture": record,
        "seeds": SEEDS,
        "max_error": MAX_ERROR,
        "metrics": metrics,
        "check": check_sample(reg),
        "fit_s": fit_s,
        "build_s": time.perf_counter() - start,
        "meta": meta,
    }
    (args.out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--shapes", type=int, nargs="+", default=list(SHAPES))
    parser.add_argument("--quick", action="store_true", help="small models, elsewhere")
    parser.add_argument("--out-dir", default=None, help="folder of the files")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.shapes) - set(SHAPES))
    if unknown:
        parser.error(f"--shapes {unknown}: the shipped shapes are {list(SHAPES)}")
    torch.set_num_threads(args.threads)
    if args.quick:
        default_out = HERE / "results" / "quick" / "pretrained"
        args.n_train = dict.fromkeys(SHAPES, QUICK_N_TRAIN)
        args.n_test = dict.fromkeys(SHAPES, QUICK_N_TEST)
        args.model_params = {"max_iter": 3}
    else:
        default_out = ROOT / "svlearn" / "_pretrained_files"
        args.n_train, args.n_test, args.model_params = N_TRAIN, N_TEST, {}
    args.out_dir = Path(args.out_dir or default_out)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    # Provenance as the run starts: edits made while it runs are not its code.
    meta = run_metadata(sys.argv if argv is None else [__file__, *argv])
    start = time.perf_counter()
    for n in args.shapes:
        manifest = build(n, args, meta)
        worst = max(manifest["metrics"].items(), key=lambda kv: kv[1]["nmse_mean"])
        print(
            f"{n}x{n}: {manifest['n_train']:,} trained, {manifest['n_calibration']:,}"
            f" calibration, {manifest['size_bytes'] / 1e3:.0f} kB, built in "
            f"{manifest['build_s']:.0f} s; worst family {worst[0]} NMSE "
            f"{worst[1]['nmse_mean']:.3g}",
            flush=True,
        )
    print(f"wrote {args.out_dir} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
