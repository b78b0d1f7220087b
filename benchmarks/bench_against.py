# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Compare the default model's predict with that of an earlier git revision.

Checks a change for accuracy and throughput regressions side by side in one
process: the package as of ``--rev`` is extracted (``git archive``) under the
name ``svlearn_ref`` and imported beside the working tree's ``svlearn``. Both
default models train on the same random 40,000 CIFAR-10 matrices with the
same seed and are timed in interleaved rounds on the other 10,000, with
numpy's exact SVD as the common yardstick.

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
    from svlearn.metrics import mae, nmse

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
            rows[name] = {"nmse": nmse(S, P), "mae": mae(S, P)}
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
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(tables(result)["rows"])
    print(f"wrote {args.out}")


def tables(result):
    """The Markdown table of a result: both revisions side by side (``rows``)."""
    rows = [
        [
            name,
            f"{100 * r['nmse']:.4f}",
            f"{r['mae']:.3f}",
            f"{r['us_per_matrix']:.2f}",
            f"{r['speedup_vs_numpy_svd']:.1f}x",
        ]
        for name, r in result["rows"].items()
    ]
    header = ["revision", "NMSE %", "MAE", "µs / matrix", "vs numpy svd"]
    return {"rows": markdown(header, rows)}


if __name__ == "__main__":
    main()
