# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The default SingularValueRegressor across matrix sizes.

For each size (8x8 to 256x256, and the rectangular 24x48 and 100x20) the
default :class:`~svlearn.SingularValueRegressor` (``random_state`` = seed,
``matrix_shape`` set for rectangular ones, everything else default) is fitted
with 3 seeds on real matrices and tested against the exact singular values:

* 8x8: scikit-learn's digits (1,797 images, random 85/15 split, seed 0) and
  8x8 windows of scikit-learn's sample images (train china.jpg, test
  flower.jpg, stride 4), each its own model; the timing batch is flower
  windows (digits has too few matrices for it).
* 16x16 to 256x256: windows of the sample images, train china.jpg, test
  flower.jpg (stride 4, so no test window shares a pixel with a training
  window); 32x32 also gray CIFAR-10 (random 40,000 / 10,000 of the 50,000,
  seed 0), whose test set is the timing batch.
* 24x48 and 100x20: windows of the whole Spambase matrix (4601 x 58, label
  column included) at stride 1, random 85/15 split (seed 0); 100x20 draws
  50,000 of its 175,578 windows (seed 0) first.

Beside the NMSE and MAE (mean and std over seeds), one process times, in
interleaved rounds on the same float32 batch and one thread: ``predict`` of
the seed-0 model, ``np.linalg.svd(A, compute_uv=False)``,
``torch.linalg.eigvalsh`` of the smaller side's Gram matrix, and the
zero-learning :class:`~svlearn.MeanSpectrumRegressor` (``scaling="subspace"``)
for every ``n_components`` k in 1..8 and ``n_iter`` q in 1..4. The best
non-learned estimator at equal cost is the one with the lowest test NMSE among
those no slower than ``predict``. The timing batch is 10,000 matrices up to
64x64 (and for the rectangular sizes), 2,000 at 128x128 and 500 at 256x256
(memory and numpy's time); the targets (never slower than numpy at batch
10,000, at least 3x numpy at 8x8) are judged at the batch measured, and the
JSON says whether that is 10,000.

Run from the repository root (about 15-20 minutes on 2 cores)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_sizes.py --data-dir ../shared/data

``--quick`` (one seed, one epoch, at most 2,000 / 1,000 matrices per set, small
timing batches, one timed round) proves that the script runs; its JSON says
``"quick": true``. ``--sizes 8x8 24x48`` runs a subset.
"""

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _format import markdown, pm  # noqa: E402
from _meta import run_metadata  # noqa: E402
from _whole import WHOLE_HEADER, WHOLE_KEYS, whole_cells, whole_spectrum  # noqa: E402

from svlearn import (  # noqa: E402
    MeanSpectrumRegressor,
    SingularValueRegressor,
    extract_windows,
    singular_values,
)
from svlearn._timing import interleaved_times  # noqa: E402
from svlearn.datasets import load_sample_windows  # noqa: E402
from svlearn.metrics import mae, nmse  # noqa: E402

# Size name -> matrix shape, timing batch, stride of the sample-image windows.
SIZES = {
    "8x8": {"shape": (8, 8), "batch": 10_000, "stride": 4},
    "16x16": {"shape": (16, 16), "batch": 10_000, "stride": 4},
    "32x32": {"shape": (32, 32), "batch": 10_000, "stride": 4},
    "64x64": {"shape": (64, 64), "batch": 10_000, "stride": 4},
    "128x128": {"shape": (128, 128), "batch": 2_000, "stride": 4},
    "256x256": {"shape": (256, 256), "batch": 500, "stride": 4},
    "24x48": {"shape": (24, 48), "batch": 10_000, "stride": None},
    "100x20": {"shape": (100, 20), "batch": 10_000, "stride": None},
}
SEEDS = (0, 1, 2)
TARGET_BATCH = 10_000
TARGET_SPEEDUP_8X8 = 3.0
MAX_COMPONENTS, MAX_ITER = 8, 4
SPAMBASE_MAX_WINDOWS = 50_000
# --quick: per-set caps, timing batches and a coarser window stride.
QUICK_TRAIN, QUICK_TEST, QUICK_STRIDE = 2_000, 1_000, 4
QUICK_BATCH = {"128x128": 200, "256x256": 50}
QUICK_BATCH_DEFAULT = 500


# --- pure helpers (tested in tests/test_bench_sizes.py) ----------------------


def subspace_grid(shape, max_components=MAX_COMPONENTS, max_iter=MAX_ITER):
    """The (k, q) grid of the subspace baselines, k capped by ``min(shape)``."""
    k_max = min(max_components, *shape)
    return [(k, q) for k in range(1, k_max + 1) for q in range(1, max_iter + 1)]


def best_at_equal_cost(candidates, budget_us, key="nmse_pct"):
    """Lowest-``key`` candidate whose cost is at most ``budget_us``; None if none.

    ``candidates`` are dicts with ``"us_per_matrix"`` and ``key`` (``key`` may
    name an entry of their ``"whole"`` dict, as ``"whole/worst_median"``);
    ties go to the cheaper one.
    """

    def value(c):
        return c["whole"][key[6:]] if key.startswith("whole/") else c[key]

    affordable = [c for c in candidates if c["us_per_matrix"] <= budget_us]
    if not affordable:
        return None
    return min(affordable, key=lambda c: (value(c), c["us_per_matrix"]))


def mean_std(values):
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std


def speed_targets(size, batch, speedup_numpy):
    """The targets for one size, judged at the batch that was timed."""
    targets = {
        "not_slower_than_numpy": {
            "target": "predict no slower than numpy at batch 10,000",
            "speedup_numpy": speedup_numpy,
            "measured_at_batch": batch,
            "at_target_batch": batch == TARGET_BATCH,
            "met": bool(speedup_numpy >= 1.0),
        }
    }
    if size == "8x8":
        targets["at_least_3x_numpy"] = {
            "target": f"predict >= {TARGET_SPEEDUP_8X8:g}x numpy at 8x8",
            "speedup_numpy": speedup_numpy,
            "measured_at_batch": batch,
            "at_target_batch": batch == TARGET_BATCH,
            "met": bool(speedup_numpy >= TARGET_SPEEDUP_8X8),
        }
    return targets


def timing_batch(X_test, X_train, batch):
    """The first ``batch`` test matrices, topped up with training ones.

    Returns the batch (float32, C-contiguous) and where it came from.
    """
    if len(X_test) >= batch:
        A, origin = X_test[:batch], "test"
    else:
        A = np.concatenate([X_test, X_train[: batch - len(X_test)]])
        origin = "test+train"
    return np.ascontiguousarray(A, dtype=np.float32), origin


def _random_split(n, test_size, seed):
    # Sizes as in train_test_split: the test set is rounded up.
    order = np.random.default_rng(seed).permutation(n)
    n_test = math.ceil(test_size * n)
    return order[n_test:], order[:n_test]


# --- data ------------------------------------------------------------------


def _source(key, description, split, X_train, X_test):
    return {
        "key": key,
        "data": description,
        "split": split,
        "X_train": np.ascontiguousarray(X_train, dtype=np.float32),
        "X_test": np.ascontiguousarray(X_test, dtype=np.float32),
    }


def _sample_windows(shape, stride):
    s = load_sample_windows(window_shape=shape, strides=(stride, stride))
    return _source(
        "sample_windows",
        f"scikit-learn sample images, gray {shape[0]}x{shape[1]} windows, "
        f"stride {stride}",
        "train china.jpg, test flower.jpg",
        s.X_train,
        s.X_test,
    )


def _digits():
    from sklearn.datasets import load_digits

    images = load_digits().images.reshape(-1, 64)
    train, test = _random_split(len(images), 0.15, 0)
    return _source(
        "digits",
        "scikit-learn digits (8x8 images, values 0..16)",
        "random 85/15, seed 0",
        images[train],
        images[test],
    )


def _cifar(data_dir):
    X = np.load(Path(data_dir) / "cifar10_gray_train.npz")["X"]
    order = np.random.default_rng(0).permutation(len(X))
    X = X.reshape(len(X), -1)
    return _source(
        "cifar10",
        "CIFAR-10 gray, 50,000 training images (32x32)",
        "random 40,000 train / 10,000 test, seed 0",
        X[order[:40_000]],
        X[order[40_000:50_000]],
    )


def _spambase(data_dir, shape):
    matrix = np.loadtxt(Path(data_dir) / "spambase.data", delimiter=",")
    matrix = matrix.astype(np.float32)
    total = (matrix.shape[0] - shape[0] + 1) * (matrix.shape[1] - shape[1] + 1)
    cap = SPAMBASE_MAX_WINDOWS if total > SPAMBASE_MAX_WINDOWS else None
    windows = extract_windows(matrix, shape, strides=1, max_windows=cap, random_state=0)
    train, test = _random_split(len(windows), 0.15, 0)
    drawn = f", {len(windows):,} of {total:,} drawn (seed 0)" if cap else ""
    return _source(
        "spambase",
        f"Spambase 4601x58 (label column included), {shape[0]}x{shape[1]} "
        f"windows at stride 1{drawn}",
        "random 85/15, seed 0",
        windows[train],
        windows[test],
    )


def load_sources(size, data_dir, quick):
    """The data sets of one size; the first one gives the timing batch."""
    spec = SIZES[size]
    shape, stride = spec["shape"], spec["stride"]
    if quick and stride is not None:
        stride *= QUICK_STRIDE
    if size == "8x8":
        # Windows first: they fill the 10,000-matrix timing batch.
        sources = [_sample_windows(shape, stride), _digits()]
    elif size == "32x32":
        sources = [_cifar(data_dir), _sample_windows(shape, stride)]
    elif stride is None:
        sources = [_spambase(data_dir, shape)]
    else:
        sources = [_sample_windows(shape, stride)]
    if quick:
        for s in sources:
            s["X_train"], s["X_test"] = (
                s["X_train"][:QUICK_TRAIN],
                s["X_test"][:QUICK_TEST],
            )
    return sources


# --- measurements -------------------------------------------------------------


def _exact(X, shape):
    # Bounded float64 copies: about 32 MB per LAPACK call.
    batch = max(1, 2**22 // (shape[0] * shape[1]))
    return singular_values(X, matrix_shape=shape, batch_size=batch)


def _scores(S, P):
    return {
        "nmse_pct": 100 * nmse(S, P),
        "mae": mae(S, P),
        "whole": whole_spectrum(S, P),
    }


def fit_source(source, shape, seeds, max_iter):
    """Fit the default with each seed and every subspace baseline on one set."""
    X_train, X_test = source["X_train"], source["X_test"]
    start = time.perf_counter()
    S_train, S_test = _exact(X_train, shape), _exact(X_test, shape)
    exact_s = time.perf_counter() - start
    over = {} if max_iter is None else {"max_iter": max_iter}
    runs, model = [], None
    for seed in seeds:
        reg = SingularValueRegressor(matrix_shape=shape, random_state=seed, **over)
        start = time.perf_counter()
        reg.fit(X_train, S_train)
        fit_s = time.perf_counter() - start
        runs.append(
            {"seed": seed, "fit_s": fit_s, **_scores(S_test, reg.predict(X_test))}
        )
        if model is None:
            model = reg
        print(
            f"  {source['key']:<15} seed {seed}: NMSE {runs[-1]['nmse_pct']:.4f}% "
            f"MAE {runs[-1]['mae']:.4g} fit {fit_s:.1f}s",
            flush=True,
        )
    baselines = {}
    for k, q in subspace_grid(shape):
        base = MeanSpectrumRegressor(
            matrix_shape=shape, scaling="subspace", n_components=k, n_iter=q
        ).fit(X_train, S_train)
        baselines[(k, q)] = (base, _scores(S_test, base.predict(X_test)))
    nm, ma = (mean_std([r[key] for r in runs]) for key in ("nmse_pct", "mae"))
    whole = {key: mean_std([r["whole"][key] for r in runs]) for key in WHOLE_KEYS}
    result = {
        "data": source["data"],
        "split": source["split"],
        "n_train": len(X_train),
        "n_test": len(X_test),
        "exact_targets_s": exact_s,
        "default": {
            "nmse_pct_mean": nm[0],
            "nmse_pct_std": nm[1],
            "mae_mean": ma[0],
            "mae_std": ma[1],
            "whole_mean": {key: m for key, (m, _) in whole.items()},
            "whole_std": {key: sd for key, (_, sd) in whole.items()},
            "max_iter": reg.max_iter,
            "runs": runs,
        },
    }
    return result, model, baselines


def _routes(model, baselines, shape):
    m, n = shape

    def numpy_svd(A):
        return np.linalg.svd(A.reshape(-1, m, n), compute_uv=False)

    def eigvalsh(A):
        T = torch.from_numpy(A).reshape(-1, m, n)
        G = T.mT @ T if m >= n else T @ T.mT  # the smaller side's Gram matrix
        return torch.linalg.eigvalsh(G).clamp_min(0).sqrt()

    routes = {"default": model.predict, "numpy": numpy_svd, "eigvalsh": eigvalsh}
    for (k, q), (base, _) in baselines.items():
        routes[f"subspace_k{k}_q{q}"] = base.predict
    return routes


def time_routes(routes, A, repeat):
    """Microseconds per matrix of each route on batch ``A`` (interleaved)."""
    funcs = {key: (lambda fn=fn: fn(A)) for key, fn in routes.items()}
    seconds = interleaved_times(funcs, repeat=repeat)
    return {key: 1e6 * t / len(A) for key, t in seconds.items()}


def run_size(size, args):
    spec = SIZES[size]
    shape = spec["shape"]
    batch = QUICK_BATCH.get(size, QUICK_BATCH_DEFAULT) if args.quick else spec["batch"]
    seeds = SEEDS[:1] if args.quick else SEEDS
    print(f"{size}:", flush=True)
    sources = load_sources(size, args.data_dir, args.quick)
    data, timed = {}, None
    for source in sources:
        result, model, baselines = fit_source(source, shape, seeds, args.max_iter)
        data[source["key"]] = {"result": result, "baselines": baselines}
        if timed is None:
            A, origin = timing_batch(source["X_test"], source["X_train"], batch)
            timed = {"source": source["key"], "origin": origin, "model": model}
            timed["baselines"] = baselines
        del source["X_train"], source["X_test"]
    start = time.perf_counter()
    us = time_routes(_routes(timed["model"], timed["baselines"], shape), A, args.repeat)
    timing_s = time.perf_counter() - start
    del A
    ours = us["default"]
    timing = {
        "batch": batch,
        "batch_from": f"{timed['source']} ({timed['origin']})",
        "repeat": args.repeat,
        "timing_s": timing_s,
        "us_per_matrix": {k: us[k] for k in ("default", "numpy", "eigvalsh")},
        "speedup_numpy": us["numpy"] / ours,
        "speedup_eigvalsh": us["eigvalsh"] / ours,
    }
    for key, entry in data.items():
        grid = [
            {"k": k, "q": q, "us_per_matrix": us[f"subspace_k{k}_q{q}"], **scores}
            for (k, q), (_, scores) in entry["baselines"].items()
        ]
        best = best_at_equal_cost(grid, ours)
        none = {"note": "no subspace baseline is as cheap as the default"}
        entry["result"]["best_non_learned"] = best or none
        best = best_at_equal_cost(grid, ours, key="whole/worst_median")
        entry["result"]["best_non_learned_worst_index"] = best or none
        entry["result"]["subspace_grid"] = grid
        data[key] = entry["result"]
    result = {
        "shape": list(shape),
        "timing_source": timed["source"],
        "sources": data,
        "timing": timing,
        "targets": speed_targets(size, batch, timing["speedup_numpy"]),
    }
    print(
        f"  timing batch {batch}: default {ours:.2f} us, numpy {us['numpy']:.2f} us "
        f"({timing['speedup_numpy']:.2f}x), eigvalsh {us['eigvalsh']:.2f} us "
        f"({timing['speedup_eigvalsh']:.2f}x), {timing_s:.0f}s",
        flush=True,
    )
    return result


# --- output ---------------------------------------------------------------------


def _best_text(best):
    if "note" in best:
        return "none as cheap"
    k, q, nm, us = (best[key] for key in ("k", "q", "nmse_pct", "us_per_matrix"))
    return f"k={k} q={q} {nm:.3g}% {us:.1f}us"


def format_table(sizes):
    """One row per size and data set."""
    head = (
        f"{'size':<8} {'data':<15} {'n_train':>7} {'n_test':>6} "
        f"{'NMSE % (mean±std)':>20} {'MAE':>10} {'batch':>6} {'us':>7} "
        f"{'numpy':>8} {'eigh':>8} {'x np':>6} {'x eigh':>6} "
        f"{'best non-learned <= cost':<30} targets"
    )
    lines = [head, "-" * len(head)]
    for size, r in sizes.items():
        t = r["timing"]
        us = t["us_per_matrix"]
        met = ", ".join(
            f"{name}: {'met' if v['met'] else 'NOT met'}"
            for name, v in r["targets"].items()
        )
        for i, (key, s) in enumerate(r["sources"].items()):
            d = s["default"]
            nm = f"{d['nmse_pct_mean']:.4f} ± {d['nmse_pct_std']:.4f}"
            timing = (
                f"{t['batch']:>6} {us['default']:>7.2f} {us['numpy']:>8.2f} "
                f"{us['eigvalsh']:>8.2f} {t['speedup_numpy']:>6.2f} "
                f"{t['speedup_eigvalsh']:>6.2f}"
                if i == 0
                else " " * 47
            )
            lines.append(
                f"{size if i == 0 else '':<8} {key:<15} {s['n_train']:>7} "
                f"{s['n_test']:>6} {nm:>20} {d['mae_mean']:>10.4g} {timing} "
                f"{_best_text(s['best_non_learned']):<30} {met if i == 0 else ''}"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument(
        "--sizes", nargs="+", default=list(SIZES), choices=list(SIZES), metavar="MxN"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds")
    parser.add_argument("--max-iter", type=int, default=None, help="epoch override")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 seed, 1 epoch, small data and timing batches",
    )
    parser.add_argument(
        "--out", default=str(HERE / "results" / "bench_sizes.json"), help="JSON path"
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="replace only --sizes in an existing --out, recording this run's "
        "provenance under 'updates' (the other sizes keep theirs)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.max_iter, args.repeat = 1, 1
    torch.set_num_threads(1)
    missing = [
        v
        for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        if os.environ.get(v) != "1"
    ]
    if missing:
        print(f"warning: {', '.join(missing)} not 1: numpy may use more threads")
    # Provenance at the start: the state of the checkout that the run measures.
    meta = run_metadata(sys.argv if argv is None else [__file__, *argv])
    load_before = os.getloadavg()
    start = time.perf_counter()
    sizes = {size: run_size(size, args) for size in args.sizes}
    result = {
        "meta": meta,
        "quick": args.quick,
        "torch_threads": torch.get_num_threads(),
        # 1-, 5- and 15-minute load averages: above 1 means other jobs shared
        # the machine with this one-thread run.
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "seeds": list(SEEDS[:1] if args.quick else SEEDS),
        "repeat": args.repeat,
        "std": "sample standard deviation over seeds (ddof=1)",
        "wall_s": time.perf_counter() - start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "sizes": sizes,
    }
    print()
    print(format_table(sizes))
    print(
        f"\nwall {result['wall_s']:.0f}s, peak resident memory "
        f"{result['peak_rss_mb']:.0f} MB, load {load_before} -> "
        f"{result['loadavg_after']}"
    )
    out = Path(args.out)
    if args.update and out.is_file():
        previous = json.loads(out.read_text())
        update = {
            key: result[key]
            for key in ("meta", "loadavg_before", "loadavg_after", "wall_s")
        }
        previous.setdefault("updates", []).append({"sizes": args.sizes, **update})
        previous["sizes"].update(sizes)
        result = previous
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


def targets(result):
    """The speed targets of every size, judged at its timed batch.

    Returns a list of dicts with ``name``, ``value`` (the speed-up over
    numpy), ``target``, ``met``, and ``size`` and ``batch``.
    """
    out = []
    for size, entry in result["sizes"].items():
        t = entry["timing"]
        judged = speed_targets(size, t["batch"], t["speedup_numpy"])
        for key, target in judged.items():
            out.append(
                {
                    "name": target["target"],
                    "value": target["speedup_numpy"],
                    "target": TARGET_SPEEDUP_8X8 if key == "at_least_3x_numpy" else 1.0,
                    "met": target["met"],
                    "size": size,
                    "batch": t["batch"],
                }
            )
    return out


def tables(result):
    """The Markdown tables of a result, narrow enough for the docs' column.

    ``accuracy``: the default's error at each size and data set, beside the
    best non-learned estimator no slower than it; ``whole``: the same for the
    whole spectrum (the worst index's median relative error, beside the
    non-learned estimator no slower than the default that is best at it,
    and the quantities read off the spectrum); ``speed``: the default's time
    per matrix against the exact routes, one row per size.
    """
    accuracy, whole, speed = [], [], []
    for size, entry in result["sizes"].items():
        t = entry["timing"]
        speed.append(
            [
                size,
                entry["timing_source"].replace("_", " "),
                f"{t['batch']:,}",
                f"{t['us_per_matrix']['default']:.3g}",
                f"{t['speedup_numpy']:.2g}",
                f"{t['speedup_eigvalsh']:.2g}",
            ]
        )
        for name, source in entry["sources"].items():
            d, best = source["default"], source["best_non_learned"]
            accuracy.append(
                [
                    size,
                    name.replace("_", " "),
                    f"{source['n_train']:,}",
                    pm(d["nmse_pct_mean"], d["nmse_pct_std"], ".3g"),
                    f"{d['mae_mean']:.3g}",
                    f"{best['nmse_pct']:.3g}" if "k" in best else "none as cheap",
                    f"k={best['k']} q={best['q']}" if "k" in best else "",
                ]
            )
            if "whole_mean" not in d:
                continue
            w = d["whole_mean"]
            other = source.get("best_non_learned_worst_index", {})
            learned_better = "whole" in other and (
                w["worst_median"] < other["whole"]["worst_median"]
            )
            whole.append(
                [
                    size,
                    name.replace("_", " "),
                    *whole_cells(w),
                    (
                        f"{other['whole']['worst_median']:.3g} (k={other['k']} "
                        f"q={other['q']})"
                        if "whole" in other
                        else "none as cheap"
                    ),
                    "yes" if learned_better else "no",
                ]
            )
    header = ["size", "data", "n_train", "NMSE %", "MAE", "non-learned NMSE %"]
    header += ["its k, q"]
    whole_header = ["size", "data", *WHOLE_HEADER]
    whole_header += ["non-learned worst index", "learned better"]
    return {
        "accuracy": markdown(header, accuracy, "ll" + "rrrr" + "l"),
        "whole": markdown(whole_header, whole, "ll" + "r" * 6 + "ll"),
        "speed": markdown(
            ["size", "data", "batch", "µs", "× numpy", "× eigvalsh"],
            speed,
            "ll" + "r" * 4,
        ),
    }


if __name__ == "__main__":
    main()
