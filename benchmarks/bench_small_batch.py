# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fixed cost of SingularValueRegressor.predict on small batches of 32x32 matrices.

Times ``predict`` of the default model at batch sizes 1 to 256 against exact
singular values by numpy (LAPACK), ``torch.linalg.svdvals`` and
``torch.linalg.eigvalsh(A^T A)`` on the same float32 arrays, and against
``predict`` forced through the torch module (the route of accelerators; on
the CPU the "ritz" head runs its numpy form), interleaved in one process
(``svlearn._timing.interleaved_times``) on one thread. Prints a table and
writes it, with the run's provenance under ``"meta"``, to
benchmarks/results/bench_small_batch.json (``--out``)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_small_batch.py --data-dir ../shared/data

The model trains with default parameters (``random_state=0``) on a random
40,000 of the matrices of cifar10_gray_train.npz (seed 0); the timed matrices
are from the other 10,000. ``--quick`` trains on 3,000 matrices for one epoch
and times three rounds: it proves that the script runs, and its JSON says
``"quick": true``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import svlearn._route
from svlearn import SingularValueRegressor
from svlearn._timing import interleaved_times

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown  # noqa: E402
from _meta import run_metadata  # noqa: E402

ROUTES = {
    "svlearn": "svlearn predict",
    "svlearn_torch_path": "svlearn predict, torch path",
    "numpy": "numpy svd (LAPACK)",
    "torch_svdvals": "torch.linalg.svdvals",
    "torch_eigvalsh": "torch eigvalsh(A^T A)",
}
BATCHES = (1, 4, 16, 64, 256)
SHAPE = (32, 32)


def _routes(model):
    def torch_path(A):
        # The same predict through the torch module instead of the numpy form.
        plan = svlearn._route.ritz_plan
        svlearn._route.ritz_plan = lambda module: None
        try:
            return model.predict(A)
        finally:
            svlearn._route.ritz_plan = plan

    def eigvalsh(A):
        T = torch.from_numpy(A).reshape(-1, *SHAPE)
        return torch.linalg.eigvalsh(T.mT @ T).clamp_min(0).sqrt()

    return {
        "svlearn": model.predict,
        "svlearn_torch_path": torch_path,
        "numpy": lambda A: np.linalg.svd(A.reshape(-1, *SHAPE), compute_uv=False),
        "torch_svdvals": lambda A: torch.linalg.svdvals(
            torch.from_numpy(A).reshape(-1, *SHAPE)
        ),
        "torch_eigvalsh": eigvalsh,
    }


def _deviation(model, A):
    """Largest per-matrix ||numpy form - torch|| / ||torch|| on the batch ``A``."""
    routes = _routes(model)
    ours, reference = routes["svlearn"](A), routes["svlearn_torch_path"](A)
    num = np.linalg.norm(ours - reference, axis=1)
    return float(np.max(num / np.linalg.norm(reference, axis=1)))


def run_batches(model, X, batches, repeats):
    """Microseconds per call and per matrix of every route, batch by batch."""
    result = {}
    for batch in batches:
        A = np.ascontiguousarray(X[:batch])
        # Small batches are timed over many calls to beat timer resolution.
        calls = max(1, 2000 // batch)

        def looped(fn, A=A, calls=calls):
            return lambda: [fn(A) for _ in range(calls)]

        funcs = {key: looped(fn) for key, fn in _routes(model).items()}
        seconds = interleaved_times(funcs, repeat=repeats)
        ours = seconds["svlearn"]
        rows = {}
        for key, t in seconds.items():
            per_call = 1e6 * t / calls
            rows[key] = {
                "route": ROUTES[key],
                "us_per_call": per_call,
                "us_per_matrix": per_call / batch,
                "speedup_of_svlearn": t / ours,
            }
            print(
                f"batch {batch:>4} {ROUTES[key]:<28} {per_call:>10.1f} us/call "
                f"{per_call / batch:>8.2f} us/matrix  svlearn is {t / ours:6.2f}x",
                flush=True,
            )
        result[str(batch)] = {
            "calls_per_round": calls,
            "svlearn_path": "numpy",
            "max_deviation_from_torch_path": _deviation(model, A),
            "routes": rows,
        }
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds")
    parser.add_argument(
        "--batches", type=int, nargs="+", default=list(BATCHES), help="batch sizes"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3,000 training matrices, 1 epoch, 3 timed rounds",
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "bench_small_batch.json"),
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_train, params = 40_000, {}
    if args.quick:
        n_train, params, args.repeats = 3_000, {"max_iter": 1}, 3
    # Provenance is taken at the start: the commit and the state of the
    # checkout that the run measures, not those at its end.
    meta = run_metadata(sys.argv if argv is None else [__file__, *argv])
    load_before = os.getloadavg()

    X = np.load(Path(args.data_dir) / "cifar10_gray_train.npz")["X"]
    X = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:40_000][:n_train], order[40_000:]
    start = time.perf_counter()
    model = SingularValueRegressor(random_state=0, **params).fit(X[train])
    fit_s = time.perf_counter() - start
    print(f"torch threads: {torch.get_num_threads()}; fit {fit_s:.1f}s", flush=True)
    batches = run_batches(model, X[test], args.batches, args.repeats)

    result = {
        "meta": meta,
        "quick": args.quick,
        "torch_threads": torch.get_num_threads(),
        # 1-, 5- and 15-minute load averages before and after the run: a load
        # above the thread count means that another job shared the machine.
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "n_train": int(len(train)),
        "fit_s": fit_s,
        "repeats": args.repeats,
        "batches": batches,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


def tables(result):
    """The Markdown table of a result: µs per predict call by batch (``batches``)."""
    rows = []
    for batch, entry in result["batches"].items():
        r = entry["routes"]
        ours = r["svlearn"]["us_per_call"]
        rows.append(
            [
                batch,
                entry["svlearn_path"],
                f"{ours:,.1f}",
                f"{r['svlearn_torch_path']['us_per_call']:,.1f}",
                f"{r['numpy']['us_per_call']:,.1f}",
                f"{r['torch_eigvalsh']['us_per_call']:,.1f}",
                f"{r['numpy']['us_per_call'] / ours:.2f}x",
                f"{entry['max_deviation_from_torch_path']:.1e}",
            ]
        )
    header = ["batch", "path", "svlearn µs / call", "torch path µs / call"]
    header += ["numpy svd µs / call", "eigvalsh µs / call", "svlearn vs numpy"]
    return {"batches": markdown([*header, "deviation from the torch path"], rows)}


if __name__ == "__main__":
    main()
