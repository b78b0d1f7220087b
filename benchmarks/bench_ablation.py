# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ablation of SingularValueRegressor's levers on CIFAR-10 gray, with throughput.

Each configuration is trained on the first 40,000 matrices of
cifar10_gray_train.npz and evaluated on the last 10,000 (NMSE, MAE, predict
throughput at batch 10,000, training time). The exact routes and zero-learning
baselines are timed in the same process. Writes
benchmarks/results/bench_ablation.json (``--out``, with the run's provenance
under ``"meta"``) and docs/figures/accuracy_vs_throughput.png (``--figure``).

    python benchmarks/bench_ablation.py --data-dir ../shared/data
    python benchmarks/bench_ablation.py --quick --out /tmp/a.json --figure /tmp/a.png

``--quick`` trains every configuration for one epoch on the first 2,000
training matrices and times one round: it proves that the
script runs, and its JSON says ``"quick": true`` so that it never reaches the
docs.
"""

import argparse
import json
import sys
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
from svlearn.metrics import mae, nmse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import run_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# (label, lever, parameters); every row changes one thing from the default
# unless it says otherwise.
CONFIGS = [
    ("paper network: raw head, (512, 512), dropout 0.2, L1", "paper", "paper"),
    ("raw head, (64, 64), MSE", "head", dict(head="raw")),
    ("frobenius head (exact norm, unit-norm shape)", "head", dict(head="frobenius")),
    ("subspace head, n_components=1", "n_components", dict(n_components=1)),
    ("subspace head, n_components=2", "n_components", dict(n_components=2)),
    ("default: subspace, n_components=3, n_iter=2, (64, 64)", "default", {}),
    ("subspace head, n_components=4", "n_components", dict(n_components=4)),
    ("n_iter=1", "n_iter", dict(n_iter=1)),
    ("n_iter=3", "n_iter", dict(n_iter=3)),
    ("hidden (32, 32)", "width", dict(hidden_layer_sizes=(32, 32))),
    ("hidden (128, 128)", "width", dict(hidden_layer_sizes=(128, 128))),
    ("hidden (256, 256)", "width", dict(hidden_layer_sizes=(256, 256))),
    ("hidden (64, 64, 64)", "depth", dict(hidden_layer_sizes=(64, 64, 64))),
    ("hidden () (linear tail)", "depth", dict(hidden_layer_sizes=())),
    ("loss l1", "loss", dict(loss="l1")),
    (
        "learning_rate constant (1e-3)",
        "schedule",
        dict(learning_rate="constant", learning_rate_init=1e-3),
    ),
    ("max_iter 60", "epochs", dict(max_iter=60)),
]


def _rate(func, X, repeats):
    func(X)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func(X)
        best = min(best, time.perf_counter() - start)
    return len(X) / best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default=None, help="comma-separated config indices")
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw the figure from the JSON"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 epoch on 2,000 training matrices, 1 timed round",
    )
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "bench_ablation.json")
    )
    parser.add_argument(
        "--figure",
        default=str(ROOT / "docs" / "figures" / "accuracy_vs_throughput.png"),
    )
    args = parser.parse_args(argv)
    out, figure = Path(args.out), Path(args.figure)
    if args.plot_only:
        _plot(json.loads(out.read_text())["rows"], figure)
        return
    # Provenance of the code and checkout measured, taken before the run.
    meta = run_metadata(sys.argv if argv is None else [__file__, *argv])
    over = {}
    if args.quick:
        args.repeats, over = 1, {"max_iter": 1}
    npz = np.load(Path(args.data_dir) / "cifar10_gray_train.npz")
    X = npz["X"].reshape(len(npz["X"]), -1).astype(np.float32)
    X_train, X_test = X[:-10_000], X[-10_000:]
    if args.quick:
        X_train = X_train[:2_000]
    S_train, S_test = singular_values(X_train), singular_values(X_test)
    stack = X_test.reshape(-1, 32, 32)
    T = torch.from_numpy(stack)
    exact = {
        "numpy svd (LAPACK)": lambda A: np.linalg.svd(
            A.reshape(-1, 32, 32), compute_uv=False
        ),
        "torch.linalg.svdvals": lambda A: torch.linalg.svdvals(
            torch.from_numpy(A).reshape(-1, 32, 32)
        ),
        "torch eigvalsh(A^T A)": lambda A: torch.linalg.eigvalsh(
            (lambda t: t.mT @ t)(torch.from_numpy(A).reshape(-1, 32, 32))
        ),
    }
    del T, stack
    rows = []
    for label, fn in exact.items():
        rows.append(
            {
                "label": label,
                "lever": "exact",
                "nmse_pct": 0.0,
                "mae": 0.0,
                "matrices_per_s": _rate(fn, X_test, args.repeats),
            }
        )
        print(
            f"{label:<58} {rows[-1]['matrices_per_s']:>10,.0f} matrices/s", flush=True
        )
    for scaling in ("none", "frobenius", "power"):
        model = MeanSpectrumRegressor(scaling=scaling).fit(X_train, S_train)
        pred = model.predict(X_test)
        rows.append(
            {
                "label": f"baseline: MeanSpectrumRegressor(scaling={scaling!r})",
                "lever": "baseline",
                "nmse_pct": 100 * nmse(S_test, pred),
                "mae": mae(S_test, pred),
                "matrices_per_s": _rate(model.predict, X_test, args.repeats),
            }
        )
        r = rows[-1]
        print(
            f"{r['label']:<58} NMSE {r['nmse_pct']:.4f}% MAE {r['mae']:.3f} "
            f"{r['matrices_per_s']:>10,.0f}/s",
            flush=True,
        )
    chosen = range(len(CONFIGS))
    if args.only:
        chosen = [int(i) for i in args.only.split(",")]
    for i in chosen:
        label, lever, params = CONFIGS[i]
        model = (
            paper_regressor(random_state=0, **over)
            if params == "paper"
            else SingularValueRegressor(random_state=0, **{**params, **over})
        )
        start = time.perf_counter()
        model.fit(X_train, S_train)
        fit_s = time.perf_counter() - start
        pred = model.predict(X_test)
        rows.append(
            {
                "label": label,
                "lever": lever,
                "params": model.get_params(),
                "nmse_pct": 100 * nmse(S_test, pred),
                "mae": mae(S_test, pred),
                "fit_s": fit_s,
                "matrices_per_s": _rate(model.predict, X_test, args.repeats),
            }
        )
        r = rows[-1]
        print(
            f"{label:<58} NMSE {r['nmse_pct']:.4f}% MAE {r['mae']:.3f} "
            f"{r['matrices_per_s']:>10,.0f}/s fit {fit_s:.0f}s",
            flush=True,
        )

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "meta": meta,
                "quick": args.quick,
                "torch_threads": torch.get_num_threads(),
                "rows": rows,
            },
            indent=2,
            default=str,
        )
    )
    _plot(rows, figure)
    print(f"wrote {out}")


SHORT = {
    "numpy svd (LAPACK)": "numpy svd",
    "torch.linalg.svdvals": "torch svdvals",
    "torch eigvalsh(A^T A)": "torch eigvalsh(A^T A)",
    "baseline: MeanSpectrumRegressor(scaling='none')": "mean spectrum",
    "baseline: MeanSpectrumRegressor(scaling='frobenius')": "Frobenius x template",
    "baseline: MeanSpectrumRegressor(scaling='power')": "power sigma_1 + template",
}


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    colors = {
        "exact": "k",
        "baseline": "tab:gray",
        "paper": "tab:red",
        "default": "tab:green",
        "head": "tab:orange",
        "n_components": "tab:blue",
        "n_iter": "tab:cyan",
        "width": "tab:purple",
        "depth": "tab:pink",
        "loss": "tab:olive",
        "schedule": "tab:brown",
        "epochs": "gold",
    }
    seen = set()
    for k, r in enumerate(rows):
        lever = r["lever"]
        marker = {"exact": "s", "baseline": "D", "default": "*"}.get(lever, "o")
        # Exact routes have zero error: draw them on the floor of the plot.
        y = max(r["nmse_pct"], 3e-3)
        ax.scatter(
            r["matrices_per_s"],
            y,
            c=colors.get(lever, "tab:blue"),
            marker=marker,
            s=200 if marker == "*" else 45,
            zorder=3,
            label=None if lever in seen else lever,
        )
        seen.add(lever)
        text = SHORT.get(r["label"])
        if lever in ("paper", "default", "n_components", "head"):
            text = r["label"].split(":")[0].replace("subspace head, ", "")
        if text:
            offset = (5, 4 + 10 * (k % 3)) if lever == "exact" else (5, 3)
            ax.annotate(
                text,
                (r["matrices_per_s"], y),
                fontsize=7,
                xytext=offset,
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predict throughput, matrices/s (batch 10,000, 32x32 float32)")
    ax.set_ylabel("NMSE % on the last 10,000 CIFAR-10 gray matrices")
    ax.set_title(
        "Accuracy against throughput; exact routes drawn at the floor (zero error)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", title="lever", title_fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    main()
