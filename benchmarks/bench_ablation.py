# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ablation of SingularValueRegressor's levers on CIFAR-10 gray, over 3 seeds.

Each configuration is trained on a random 40,000 of the 50,000 matrices of
cifar10_gray_train.npz and evaluated on the other 10,000 (all classes; the
same split as bench_frontier.py), with seeds 0, 1 and 2: NMSE and MAE as mean
± std over the seeds, predict time per matrix at batch 10,000 (one thread,
first seed's model) and training time. The exact routes are timed in the same
process. Every row changes one lever of the default (the "ritz" head, 4
components, 1 step, (64, 64)). Writes benchmarks/results/bench_ablation.json
(``--out``, with the run's provenance under ``"meta"``) and
docs/figures/accuracy_vs_throughput.png (``--figure``).

    OMP_NUM_THREADS=1 python benchmarks/bench_ablation.py --data-dir ../shared/data
    python benchmarks/bench_ablation.py --quick --out /tmp/a.json --figure /tmp/a.png

``--quick`` trains every configuration for one epoch on 2,000 matrices with
one seed and times one round: it proves that the script runs, and its JSON
says ``"quick": true`` so that it never reaches the docs.
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
    singular_values,
)
from svlearn.metrics import mae, nmse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown, pm  # noqa: E402
from _meta import run_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SEEDS = (0, 1, 2)
# (label, lever, parameters); every row changes one thing from the default
# unless it says otherwise. "no network" is the default's front end with the
# template alone (MeanSpectrumRegressor); "transpose augmentation" trains on
# every matrix and its transpose.
CONFIGS = [
    ("default: ritz head, 4 components, 1 step, (64, 64)", "default", {}),
    ("no network: Ritz values + template tail", "residual", "template"),
    (
        "network sees the flattened matrix (subspace head, 4 components, 1 step)",
        "features",
        dict(head="subspace"),
    ),
    (
        "previous default: subspace head, 3 components, 2 steps",
        "features",
        dict(head="subspace", n_components=3, n_iter=2),
    ),
    ("frobenius head (no iteration)", "head", dict(head="frobenius")),
    ("raw head (the paper's outputs), (64, 64), MSE", "head", dict(head="raw")),
    ("hidden (32, 32)", "width", dict(hidden_layer_sizes=(32, 32))),
    ("hidden (128, 128)", "width", dict(hidden_layer_sizes=(128, 128))),
    ("hidden (64, 64, 64)", "depth", dict(hidden_layer_sizes=(64, 64, 64))),
    ("hidden () (linear correction)", "depth", dict(hidden_layer_sizes=())),
    ("loss l1", "loss", dict(loss="l1")),
    ("loss huber", "loss", dict(loss="huber")),
    ("transpose augmentation", "augmentation", "transpose"),
    (
        "learning_rate constant (1e-3)",
        "schedule",
        dict(learning_rate="constant", learning_rate_init=1e-3),
    ),
    ("max_iter 15", "epochs", dict(max_iter=15)),
    ("max_iter 60", "epochs", dict(max_iter=60)),
]


def _transposed(X):
    return X.reshape(-1, 32, 32).transpose(0, 2, 1).reshape(len(X), -1)


def _fit_config(params, seed, over, X_train, S_train):
    """Build and fit one configuration; returns the model and the fit time."""
    if params == "template":
        model = MeanSpectrumRegressor(scaling="subspace", n_components=4, n_iter=1)
    elif params == "transpose":
        model = SingularValueRegressor(random_state=seed, **over)
        X_train = np.vstack([X_train, _transposed(X_train)])
        S_train = np.vstack([S_train, S_train])
    else:
        model = SingularValueRegressor(random_state=seed, **{**params, **over})
    start = time.perf_counter()
    model.fit(X_train, S_train)
    return model, time.perf_counter() - start


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
    order = np.random.default_rng(0).permutation(len(X))
    X_train, X_test = X[order[10_000:]], X[order[:10_000]]
    seeds = SEEDS[:1] if args.quick else SEEDS
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
    chosen = range(len(CONFIGS))
    if args.only:
        chosen = [int(i) for i in args.only.split(",")]
    for i in chosen:
        label, lever, params = CONFIGS[i]
        runs, model = [], None
        for seed in seeds if params != "template" else seeds[:1]:
            fitted, fit_s = _fit_config(params, seed, over, X_train, S_train)
            pred = fitted.predict(X_test)
            runs.append(
                {
                    "seed": seed,
                    "nmse_pct": 100 * nmse(S_test, pred),
                    "mae": mae(S_test, pred),
                    "nmse_pct_transposed": 100
                    * nmse(S_test, fitted.predict(_transposed(X_test))),
                    "fit_s": fit_s,
                }
            )
            model = model or fitted
        row = {
            "label": label,
            "lever": lever,
            "params": model.get_params(),
            "runs": runs,
        }
        for metric in ("nmse_pct", "mae", "nmse_pct_transposed", "fit_s"):
            values = np.array([r[metric] for r in runs])
            row[metric], row[f"{metric}_std"] = (
                float(values.mean()),
                float(values.std()),
            )
        if params == "template":
            del row["fit_s"], row["fit_s_std"]
        row["matrices_per_s"] = _rate(model.predict, X_test, args.repeats)
        rows.append(row)
        print(
            f"{label:<58} NMSE {row['nmse_pct']:.4f}% ± {row['nmse_pct_std']:.4f} "
            f"MAE {row['mae']:.3f} A^T {row['nmse_pct_transposed']:.4f}% "
            f"{row['matrices_per_s']:>10,.0f}/s",
            flush=True,
        )

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "meta": meta,
                "quick": args.quick,
                "torch_threads": torch.get_num_threads(),
                "seeds": list(seeds),
                "n_train": len(X_train),
                "n_test": len(X_test),
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
}


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    colors = {
        "exact": "k",
        "baseline": "tab:gray",
        "default": "tab:green",
        "residual": "tab:gray",
        "features": "tab:red",
        "head": "tab:orange",
        "augmentation": "tab:cyan",
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
        if lever in ("default", "residual", "features", "head"):
            text = r["label"].split(":")[0].split(" (")[0]
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
    ax.set_ylabel("NMSE % (mean of 3 seeds), CIFAR-10 random hold-out")
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


def tables(result):
    """The Markdown table of a result: one row per configuration (``rows``)."""
    rows = [
        [
            # Rows by what they change, not by the history of the default.
            r["label"].removeprefix("previous default: "),
            r["lever"],
            pm(r["nmse_pct"], r.get("nmse_pct_std", 0.0), ".4f"),
            pm(r["mae"], r.get("mae_std", 0.0), ".2f"),
            f"{r['nmse_pct_transposed']:.4f}" if "nmse_pct_transposed" in r else "0",
            f"{1e6 / r['matrices_per_s']:.2f}",
            f"{r['fit_s']:.0f}" if "fit_s" in r else "-",
        ]
        for r in result["rows"]
    ]
    header = ["configuration", "lever", "NMSE %", "MAE", "NMSE % on A^T"]
    header += ["µs / matrix", "fit (s)"]
    return {"rows": markdown(header, rows, "ll" + "r" * 5)}


if __name__ == "__main__":
    main()
