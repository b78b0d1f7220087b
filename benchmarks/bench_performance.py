# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Accuracy and speed of SingularValueRegressor against exact SVD and baselines.

Prints the accuracy, per-index error, throughput, training-time and memory tables
of docs/performance.md and writes them to benchmarks/results/bench_performance.json.

    python benchmarks/bench_performance.py --data-dir ../shared/data

CIFAR-10: trained on the first 40,000 matrices of cifar10_gray_train.npz, tested
on the last 10,000. Spambase: the paper's random 85/15 split of its 123,363 32x32
windows and the leakage-free row-block split. Every number comes from this run,
in one process, with the same threads for every method.
"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

from svlearn import (
    MeanSpectrumRegressor,
    SingularValueRegressor,
    paper_regressor,
    singular_values,
)
from svlearn.datasets import cifar10_protocol, spambase_protocol
from svlearn.metrics import mae_per_matrix, nmse_per_matrix

PAPER = {"cifar10": (1.59, 0.89, 43.36, 11.95), "spambase": (4.04, 2.89, 1.00, 2.14)}


def _accuracy(S, P):
    nm, ma = nmse_per_matrix(S, P) * 100, mae_per_matrix(S, P)
    err = np.abs(S - P)
    return {
        "nmse_pct_mean": float(nm.mean()),
        "nmse_pct_std": float(nm.std()),
        "mae_mean": float(ma.mean()),
        "mae_std": float(ma.std()),
        "mae_sigma1": float(err[:, 0].mean()),
        "mae_rest": float(err[:, 1:].mean()),
        "rel_err_sigma1": float((err[:, 0] / np.maximum(S[:, 0], 1e-300)).mean()),
    }


def _models(args):
    over = {} if args.max_iter is None else {"max_iter": args.max_iter}
    return {
        "svlearn default": SingularValueRegressor(random_state=0, **over),
        "paper network (raw MLP, L1)": paper_regressor(random_state=0, **over),
        "mean spectrum": MeanSpectrumRegressor(scaling="none"),
        "Frobenius x template": MeanSpectrumRegressor(scaling="frobenius"),
        "power iteration s1 + template": MeanSpectrumRegressor(scaling="power"),
    }


def run_accuracy(name, X_train, X_test, args):
    S_train, S_test = singular_values(X_train), singular_values(X_test)
    rows, fitted = [], {}
    for label, model in _models(args).items():
        start = time.perf_counter()
        model.fit(X_train, S_train)
        fit_s = time.perf_counter() - start
        row = {"dataset": name, "model": label, "fit_s": fit_s}
        row.update(_accuracy(S_test, model.predict(X_test)))
        rows.append(row)
        fitted[label] = model
        print(
            f"{name:<22} {label:<30} NMSE {row['nmse_pct_mean']:.4f}% "
            f"± {row['nmse_pct_std']:.4f}  MAE {row['mae_mean']:.3f} "
            f"± {row['mae_std']:.3f}  MAE s1 {row['mae_sigma1']:.3f} "
            f"rest {row['mae_rest']:.3f}  fit {fit_s:.1f}s",
            flush=True,
        )
    return rows, fitted


def run_throughput(model, X, repeats):
    """Matrices per second of predict and of the exact routes, same batch."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    routes = {
        "svlearn predict": lambda A: model.predict(A),
        "numpy svd (LAPACK)": lambda A: np.linalg.svd(
            A.reshape(-1, 32, 32), compute_uv=False
        ),
        "torch.linalg.svdvals": lambda A: torch.linalg.svdvals(
            torch.from_numpy(A).reshape(-1, 32, 32)
        ),
        "torch eigvalsh(A^T A)": lambda A: (
            torch.linalg.eigvalsh(
                (lambda T: T.mT @ T)(torch.from_numpy(A).reshape(-1, 32, 32))
            )
            .clamp_min(0)
            .sqrt()
        ),
    }
    rows = []
    for batch in (1, 100, 10_000):
        A = X32[:batch]
        # Small batches are timed over many calls to beat timer resolution.
        calls = max(1, 2000 // batch)
        best = dict.fromkeys(routes, np.inf)
        for fn in routes.values():
            fn(A)  # warm-up
        # Interleave the routes in every repeat, so that a slow spell of a
        # shared machine hits all of them rather than one.
        for _ in range(repeats):
            for key, fn in routes.items():
                start = time.perf_counter()
                for _ in range(calls):
                    fn(A)
                best[key] = min(best[key], time.perf_counter() - start)
        ours = best["svlearn predict"]
        for key, t in best.items():
            rate = batch * calls / t
            rows.append(
                {
                    "batch": batch,
                    "route": key,
                    "matrices_per_s": rate,
                    "us_per_matrix": 1e6 / rate,
                    "speedup_of_svlearn": t / ours,
                }
            )
            print(
                f"batch {batch:>6} {key:<24} {rate:>12,.0f} matrices/s "
                f"{1e6 / rate:8.2f} us/matrix  svlearn is {t / ours:6.2f}x",
                flush=True,
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--max-iter", type=int, default=None, help="epoch override")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-spambase", action="store_true")
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="train only the default model on CIFAR and time it",
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "bench_performance.json"),
    )
    args = parser.parse_args(argv)
    data = Path(args.data_dir)
    print(f"torch threads: {torch.get_num_threads()}", flush=True)

    cifar = cifar10_protocol(path=data / "cifar10_gray_train.npz", n_test=10_000)
    X_train, X_test = cifar.X_train.reshape(len(cifar.X_train), -1), cifar.X_test
    X_test = X_test.reshape(len(X_test), -1)
    if args.throughput_only:
        model = SingularValueRegressor(random_state=0).fit(X_train)
        result = {
            "torch_threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "throughput": run_throughput(model, X_test, args.repeats),
        }
        out = Path(args.out).with_name("bench_throughput.json")
        out.write_text(json.dumps(result, indent=2))
        print(f"wrote {out}")
        return
    accuracy, fitted = run_accuracy("CIFAR-10 gray", X_train, X_test, args)
    throughput = run_throughput(fitted["svlearn default"], X_test, args.repeats)

    if not args.skip_spambase:
        matrix = np.loadtxt(data / "spambase.data", delimiter=",")
        for split in ("random", "row_blocks"):
            sb = spambase_protocol(matrix, split=split, random_state=0)
            rows, _ = run_accuracy(f"Spambase ({split})", sb.X_train, sb.X_test, args)
            accuracy += rows

    result = {
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "paper_table1": PAPER,
        "accuracy": accuracy,
        "throughput": throughput,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(f"peak resident memory: {result['peak_rss_mb']:.0f} MB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
