# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Compare the default model's predict with that of an earlier git revision.

Checks a change for accuracy and throughput regressions side by side in one
process: the package as of ``--rev`` is extracted (``git archive``) under the
name ``svlearn_ref`` and imported beside the working tree's ``svlearn``. Both
default models train on the same random 40,000 CIFAR-10 matrices with the
same seed and are timed in interleaved rounds on the other 10,000, with
numpy's exact SVD as the common yardstick. Beside NMSE and MAE, each row
carries the whole spectrum's quantities that bench_sizes and bench_frontier
report (``_whole``) and the log-spectral distance.

    python benchmarks/bench_against.py --rev 254e9fb --data-dir ../shared/data

Writes benchmarks/results/bench_against.json.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown  # noqa: E402
from _meta import run_metadata  # noqa: E402
from _whole import WHOLE_HEADER, whole_cells, whole_spectrum  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _reference_package(rev, folder):
    """Extract ``svlearn/`` at ``rev`` into ``folder/svlearn_ref``."""
    archive = subprocess.run(
        ["git", "archive", rev, "svlearn"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (Path(folder) / "svlearn").rename(Path(folder) / "svlearn_ref")
    sys.path.insert(0, str(folder))
    return importlib.import_module("svlearn_ref._regressor").SingularValueRegressor


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="git revision to compare with")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "bench_against.json")
    )
    args = parser.parse_args(argv)
    meta = run_metadata([__file__, *argv])

    from svlearn import SingularValueRegressor, singular_values
    from svlearn._timing import interleaved_times
    from svlearn.metrics import log_spectral_distance, mae, nmse

    images = np.load(Path(args.data_dir) / "cifar10_gray_train.npz")["X"]
    X = images.reshape(len(images), -1).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    X_train, X_test = X[order[:40_000]], X[order[40_000:]]
    S = singular_values(X_test)
    A = X_test.reshape(-1, 32, 32)
    with tempfile.TemporaryDirectory() as tmp:
        Reference = _reference_package(args.rev, tmp)
        models = {
            args.rev: Reference(random_state=0).fit(X_train),
            "working tree": SingularValueRegressor(random_state=0).fit(X_train),
        }
        rows = {}
        for name, model in models.items():
            P = model.predict(X_test)
            rows[name] = {
                "nmse": nmse(S, P),
                "mae": mae(S, P),
                "log_spectral_distance": log_spectral_distance(S, P),
                "whole": whole_spectrum(S, P),
            }
        times = interleaved_times(
            {
                **{name: (lambda m=m: m.predict(X_test)) for name, m in models.items()},
                "numpy_svd": lambda: np.linalg.svd(A, compute_uv=False),
            },
            repeat=args.repeats,
        )
    for name in models:
        rows[name]["us_per_matrix"] = 1e6 * times[name] / len(X_test)
        rows[name]["speedup_vs_numpy_svd"] = times["numpy_svd"] / times[name]
    ratio = times["working tree"] / times[args.rev]
    print(f"working tree / {args.rev} time: {ratio:.3f}")
    result = {
        "meta": meta,
        "load_average": os.getloadavg()[0],
        "rev": args.rev,
        "rows": rows,
        "time_ratio_working_tree_over_rev": ratio,
        "parts": route_parts(models["working tree"], X_test, args.repeats),
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    for table in tables(result).values():
        print(table)
    print(f"wrote {args.out}")


def route_parts(model, X, repeat):
    """Microseconds per matrix of each stage of the working tree's CPU route.

    Each stage runs on one chunk of ``PREDICT_CHUNK`` matrices, as predict
    runs them, on its own inputs (computed once beforehand), all stages timed
    in interleaved rounds; "torch form" is the same fitted module through the
    torch route that accelerators and the other heads take.
    """
    import torch

    from svlearn import _lean
    from svlearn._bounds import certified_bounds, clamp_to_bounds
    from svlearn._mlp import equivariant_spectra
    from svlearn._numerics import PREDICT_CHUNK, THIN_REST
    from svlearn._timing import interleaved_times

    module = model.net_.module_
    plan = _lean.ritz_plan(module)
    chunk = np.ascontiguousarray(X[:PREDICT_CHUNK])
    x, x64, energy, _ = _lean._canonical_rows(chunk)
    A = plan._stack(x)
    At = A.transpose(0, 2, 1)
    start = plan.start_t.astype(A.dtype)
    W = (A @ start).transpose(0, 2, 1)
    Y = W @ A
    Q = _lean._orthonormal_rows(Y.copy())
    W = (Q @ At).astype(np.float64)
    gram = W @ W.transpose(0, 2, 1)
    inv_energy = 1.0 / energy
    unit = np.ones_like(energy)
    squares = plan._features(A, inv_energy, unit)
    thin = squares[:, plan.k] < THIN_REST
    A64 = plan._stack(x64(thin))
    out = plan.spectra(chunk)
    n_values = model.n_outputs_

    def clamp():
        lower, upper = certified_bounds(out.x_ritz, out.x_rest, out.x_energy, n_values)
        clamp_to_bounds(out.x_pred, lower, upper, out.x_energy)

    def torch_form():
        module.train(False)
        with torch.inference_mode():
            equivariant_spectra(module, chunk, torch.device("cpu"))

    stages = {
        "power-of-two row scaling": lambda: _lean._canonical_rows(chunk),
        "product A @ start": lambda: A @ start,
        "product W @ A": lambda: W @ A,
        "orthonormal basis (LAPACK QR)": lambda: _lean._orthonormal_rows(Y),
        "product Q @ A^T": lambda: Q @ At,
        "Ritz problem (LAPACK eigvalsh)": lambda: np.linalg.eigvalsh(gram),
        "float64 re-run of thin matrices": lambda: plan._features(
            A64, inv_energy[thin], unit[thin]
        ),
        "numpy form, whole": lambda: plan.spectra(chunk),
        "certified clamping": clamp,
        "predict, whole": lambda: model.predict(chunk),
        "torch form, whole": torch_form,
    }
    seconds = interleaved_times(stages, repeat=repeat)
    parts = {name: 1e6 * t / len(chunk) for name, t in seconds.items()}
    return {"chunk": len(chunk), "thin_share": float(thin.mean()), "us": parts}


def tables(result):
    """The Markdown tables of a result: both revisions side by side (``rows``),
    and the working tree's CPU route by stage (``parts``)."""
    rows = [
        [
            name,
            f"{100 * r['nmse']:.4f}",
            f"{r['mae']:.3f}",
            *whole_cells(r["whole"]),
            f"{r['log_spectral_distance']:.3f}",
            f"{r['us_per_matrix']:.2f}",
            f"{r['speedup_vs_numpy_svd']:.1f}x",
        ]
        for name, r in result["rows"].items()
    ]
    header = [
        "revision",
        "NMSE %",
        "MAE",
        *WHOLE_HEADER,
        "log-spectral",
        "µs / matrix",
        "vs numpy svd",
    ]
    out = {"rows": markdown(header, rows)}
    if "parts" in result:
        parts = result["parts"]["us"]
        out["parts"] = markdown(
            ["stage (one chunk)", "µs / matrix"],
            [[name, f"{us:.2f}"] for name, us in parts.items()],
        )
    return out


if __name__ == "__main__":
    main()
