# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Whole-spectrum suite: is the predicted spectrum right at every index.

The NMSE weighs each singular value by its energy, so on 32 x 32 CIFAR it
mostly measures sigma_1. This suite measures every index and the quantities
users compute from a spectrum, for several configurations of
:class:`~svlearn.SingularValueRegressor` (``random_state=0``), each trained on
a random 40,000 of the 50,000 gray CIFAR-10 training matrices and tested on
the other 10,000 (and, trained on the first 40,000 in file order, on the last
10,000: two classes it never saw; and trained on 40,000 of Spambase's 32 x 32
training windows of the leakage-free row-block split, on 10,000 of its test
windows):

* the per-index relative error ``|s_hat_i - s_i| / max(s_i, 1e-6 s_1)``: its
  median and 90th percentile over matrices, index by index, and the worst
  index of each;
* sigma_min (median relative error), the condition number (share within 5 %),
  the nuclear norm (median relative error), the numerical rank (values above
  1e-3 s_1) and the energy rank (fewest values holding 99.9 % of the energy),
  each exact and within +-1;
* rank-deficient matrices (sigma_min < 1e-6 sigma_1): the share predicted
  with s_hat_min < 1e-5 s_hat_1;
* the NMSE, and the throughput of ``predict`` against numpy's batched SVD
  (``np.linalg.svd(A, compute_uv=False)`` on the same float32 batch of
  10,000), timed in interleaved rounds in one process. On the CPU,
  ``predict`` runs the "ritz" and "ends" heads' numpy forms; the "ends"
  configurations' torch form (the route of accelerators) is timed beside
  them, as ``<name>_torch_form`` in ``seconds_per_batch``.

Beside the learned configurations, one exact reference that needs no
training: the eigenvalues of the float64 Gram matrix ``A^T A`` (LAPACK
``syevd``, one matrix at a time), accurate to about ``1e-8 sigma_1``.

Run from the repository root (about 15 minutes on 2 cores with
``--no-class-shift``, 25 with Spambase's trainings; ``--no-spambase`` skips
them)::

    OMP_NUM_THREADS=1 python benchmarks/bench_whole_spectrum.py \
        --data-dir ../shared/data

Torch runs on one thread (``--threads``). The results go to
``benchmarks/results/bench_whole_spectrum.json``; ``--quick`` runs a small
version into ``benchmarks/results/quick/``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _format import markdown, pct, target_table  # noqa: E402
from _meta import load_record, run_metadata  # noqa: E402

import svlearn._route  # noqa: E402
from svlearn import SingularValueRegressor  # noqa: E402
from svlearn._rank import estimate_rank  # noqa: E402
from svlearn._spectral import (  # noqa: E402
    condition_number,
    nuclear_norm,
    numerical_rank,
)
from svlearn._timing import interleaved_times  # noqa: E402
from svlearn.datasets import spambase_protocol  # noqa: E402
from svlearn.metrics import nmse, relative_errors  # noqa: E402

SHAPE = (32, 32)
# The configurations compared: name -> SingularValueRegressor parameters.
CANDIDATES = {
    "ritz": {},
    "ends": {"head": "ends", "loss": "log"},
    "ends_6": {"head": "ends", "loss": "log", "n_components": 6},
    "ends_8": {"head": "ends", "loss": "log", "n_components": 8},
}
LABELS = {
    "ritz": 'default ("ritz", 4 vectors, 1 step)',
    "ends": '"ends", 4 + 4 vectors, loss "log"',
    "ends_6": '"ends", 6 + 6 vectors, loss "log"',
    "ends_8": '"ends", 8 + 8 vectors, loss "log"',
    "gram_eigvalsh": "exact: eigenvalues of the float64 Gram matrix",
}
# Indices (1-based) shown in the per-index table.
SHOWN = (1, 2, 4, 8, 12, 16, 20, 24, 27, 30, 32)
# The targets, all on the random CIFAR hold-out.
TARGETS = {
    "median_every_index": ("<=", 0.15),
    "p90_every_index": ("<=", 0.5),
    "sigma_min_median": ("<=", 0.02),
    "condition_within_5pct": (">=", 0.90),
    "nuclear_norm_median": ("<=", 0.005),
    "numerical_rank_within_1": (">=", 0.95),
    "energy_rank_within_1": (">=", 0.95),
    "rank_deficient_detected": (">=", 0.90),
    "nmse": ("<=", 0.00025),
    "speedup": (">=", 5.0),
}
TARGET_NAMES = {
    "median_every_index": "median relative error, worst index",
    "p90_every_index": "p90 relative error, worst index",
    "sigma_min_median": "σ_min, median relative error",
    "condition_within_5pct": "condition number within 5 %",
    "nuclear_norm_median": "nuclear norm, median relative error",
    "numerical_rank_within_1": "numerical rank (1e-3) within ±1",
    "energy_rank_within_1": "energy rank (99.9 %) within ±1",
    "rank_deficient_detected": "rank-deficient: σ̂_min < 1e-5 σ̂_1",
    "nmse": "NMSE",
    "speedup": "× numpy, one thread, batch 10,000",
}


def exact(X):
    """Exact singular values in float64 (the truth)."""
    return np.linalg.svd(
        np.asarray(X, dtype=np.float64).reshape(-1, *SHAPE), compute_uv=False
    )


def gram_eigvalsh(X):
    """Singular values from the eigenvalues of the float64 Gram matrices."""
    A = torch.from_numpy(np.asarray(X)).reshape(-1, *SHAPE).double()
    out = []
    for start in range(0, len(A), 1024):
        block = A[start : start + 1024]
        eig = torch.linalg.eigvalsh(block.mT @ block)
        out.append(eig.flip(-1).clamp_min(0).sqrt())
    return torch.cat(out).numpy()


def spectrum_metrics(S, P):
    """The whole-spectrum quantities of predictions ``P`` of spectra ``S``."""
    errors = relative_errors(S, P)
    median, p90 = np.median(errors, axis=0), np.quantile(errors, 0.9, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.abs(condition_number(P) / condition_number(S) - 1) <= 0.05
    nuclear = np.abs(nuclear_norm(P) / nuclear_norm(S) - 1)
    ranks = {}
    for name, true, pred in (
        (
            "numerical_rank",
            numerical_rank(S, rtol=1e-3),
            numerical_rank(P, rtol=1e-3),
        ),
        (
            "energy_rank",
            estimate_rank(S, threshold=0.999),
            estimate_rank(P, threshold=0.999),
        ),
    ):
        gap = np.abs(np.asarray(true) - np.asarray(pred))
        ranks[name] = {
            "exact": float(np.mean(gap == 0)),
            "within_1": float(np.mean(gap <= 1)),
        }
    deficient = S[:, -1] < 1e-6 * S[:, 0]
    detected = P[deficient, -1] < 1e-5 * P[deficient, 0]
    return {
        "n": len(S),
        "median_per_index": median.tolist(),
        "p90_per_index": p90.tolist(),
        "worst_median": float(median.max()),
        "worst_median_index": int(median.argmax()) + 1,
        "worst_p90": float(p90.max()),
        "worst_p90_index": int(p90.argmax()) + 1,
        "sigma_min_median": float(median[-1]),
        "condition_within_5pct": float(np.mean(cond)),
        "nuclear_norm_median": float(np.median(nuclear)),
        **ranks,
        "n_rank_deficient": int(deficient.sum()),
        "rank_deficient_detected": float(detected.mean()) if deficient.any() else None,
        "nmse": float(nmse(S, P)),
    }


def protocol(quick):
    """The sizes of a run and the model parameters it overrides.

    The full protocol: 40,000 training and 10,000 test matrices, timed at
    batch 10,000 in 3 rounds; ``quick``: a smoke run with 2-epoch models.
    """
    if quick:
        return dict(n_train=2000, n_test=500, batch=500, repeat=1), {"max_iter": 2}
    return dict(n_train=40_000, n_test=10_000, batch=10_000, repeat=3), {}


def load_data(data_dir, n_train, n_test):
    """The splits, float32 of shape (n, 1024).

    CIFAR's random split and file-order split (class shift), and Spambase's
    32 x 32 windows split by row blocks (leakage-free), each side drawn down
    at random (seed 0) to ``n_train`` / ``n_test`` windows.
    """
    with np.load(Path(data_dir) / "cifar10_gray_train.npz") as data:
        cifar = data["X"].reshape(len(data["X"]), -1).astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(cifar))
    n_file = len(cifar) - n_test
    spam = spambase_protocol(
        split="row_blocks", random_state=0, data_home=data_dir, download=False
    )

    def draw(X, n):
        return X[np.sort(rng.permutation(len(X))[:n])] if len(X) > n else X

    return {
        "random": (cifar[order[:n_train]], cifar[order[n_file:]]),
        "class_shift": (cifar[:n_train], cifar[n_file:]),
        "spambase": (draw(spam.X_train, n_train), draw(spam.X_test, n_test)),
    }


def _torch_form_predict(reg, X):
    """``reg.predict(X)`` by the torch module, as on an accelerator."""
    with mock.patch.object(svlearn._route, "ritz_plan", lambda module: None):
        return reg.predict(X)


def run(args, sizes):
    splits = load_data(args.data_dir, sizes["n_train"], sizes["n_test"])
    if args.no_class_shift:
        del splits["class_shift"]
    if args.no_spambase:
        del splits["spambase"]
    configs, models = {}, {}
    truth = {name: exact(test) for name, (_, test) in splits.items()}
    for split, (train, test) in splits.items():
        for name, params in CANDIDATES.items():
            reg = SingularValueRegressor(random_state=0, **params, **args.extra)
            start = time.perf_counter()
            reg.fit(train)
            fit_s = time.perf_counter() - start
            row = spectrum_metrics(truth[split], reg.predict(test))
            row["fit_s"] = fit_s
            configs.setdefault(name, {"params": params, "sets": {}})
            configs[name]["sets"][split] = row
            print(
                f"{split:<12} {name:<8} worst median {row['worst_median']:.3f} "
                f"(s{row['worst_median_index']}) smin {row['sigma_min_median']:.3g} "
                f"cond {row['condition_within_5pct']:.3f} NMSE {row['nmse']:.3g} "
                f"fit {fit_s:.0f} s",
                flush=True,
            )
            if split == "random":
                models[name] = reg
        configs.setdefault("gram_eigvalsh", {"params": None, "sets": {}})
        configs["gram_eigvalsh"]["sets"][split] = spectrum_metrics(
            truth[split], gram_eigvalsh(test)
        )
    batch = splits["random"][1][: sizes["batch"]]
    routes = {
        "numpy": lambda: np.linalg.svd(batch.reshape(-1, *SHAPE), compute_uv=False),
        **{name: (lambda reg=reg: reg.predict(batch)) for name, reg in models.items()},
        **{
            f"{name}_torch_form": (lambda reg=reg: _torch_form_predict(reg, batch))
            for name, reg in models.items()
            if reg.head == "ends"
        },
        "gram_eigvalsh": lambda: gram_eigvalsh(batch),
    }
    times = interleaved_times(routes, repeat=sizes["repeat"])
    for name in configs:
        configs[name]["seconds"] = times[name]
        configs[name]["speedup"] = times["numpy"] / times[name]
    return configs, times, len(batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(HERE.parents[1] / "shared" / "data"))
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=None, help="JSON path")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--no-class-shift",
        action="store_true",
        help="skip the file-order split (a third of the trainings)",
    )
    parser.add_argument(
        "--no-spambase",
        action="store_true",
        help="skip the Spambase row-block windows (a third of the trainings)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = HERE / "results" / ("quick" if args.quick else "")
    out = Path(args.out or results / "bench_whole_spectrum.json")
    sizes, args.extra = protocol(args.quick)
    meta = run_metadata(sys.argv)
    load_before = os.getloadavg()
    start = time.perf_counter()
    configs, times, batch = run(args, sizes)
    load_after = os.getloadavg()
    report = {
        "meta": meta,
        "load": load_record(load_before, load_after, torch.get_num_threads()),
        "seconds": time.perf_counter() - start,
        "config": {**sizes, "model": {"random_state": 0, **args.extra}},
        "labels": LABELS,
        "batch": batch,
        "seconds_per_batch": times,
        "configs": configs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, table in tables(report).items():
        print(f"\n{name}:\n{table}")
    print(f"\nwrote {out} in {report['seconds']:.0f} s")


def _measured(config):
    """The targets' quantities of one configuration, on the random hold-out."""
    row = config["sets"]["random"]
    return {
        "median_every_index": row["worst_median"],
        "p90_every_index": row["worst_p90"],
        "sigma_min_median": row["sigma_min_median"],
        "condition_within_5pct": row["condition_within_5pct"],
        "nuclear_norm_median": row["nuclear_norm_median"],
        "numerical_rank_within_1": row["numerical_rank"]["within_1"],
        "energy_rank_within_1": row["energy_rank"]["within_1"],
        "rank_deficient_detected": row["rank_deficient_detected"],
        "nmse": row["nmse"],
        "speedup": config["speedup"],
    }


def _cell(key, value):
    if value is None:
        return "n/a"
    if key == "speedup":
        return f"{value:.3g}×"
    if key in ("median_every_index", "p90_every_index", "sigma_min_median"):
        return f"{value:.3g}"
    return pct(value, 3)


def targets(result, name="ends"):
    """The targets, judged on configuration ``name`` (random CIFAR hold-out).

    Returns a list of dicts with ``name``, ``value``, ``target``, ``met``,
    and the table's ``asked`` and ``measured`` cells.
    """
    measured = _measured(result["configs"][name])
    out = []
    for key, (op, target) in TARGETS.items():
        value = measured[key]
        met = value is not None and (value <= target if op == "<=" else value >= target)
        out.append(
            {
                "name": TARGET_NAMES[key],
                "value": value,
                "target": target,
                "met": bool(met),
                "asked": f"{'≤' if op == '<=' else '≥'} {_cell(key, target)}",
                "measured": _cell(key, value),
            }
        )
    return out


def tables(result):
    """The Markdown tables of a result.

    ``comparison``: every target quantity for every configuration (random
    hold-out); ``class_shift`` and ``spambase``: the same on the unseen
    classes and on Spambase's row-block test windows (the speed is CIFAR's);
    ``per_index``: median relative error at some indices; ``targets_<name>``:
    the target table of each learned configuration.
    """
    configs = result["configs"]
    out = {}
    splits = next(iter(configs.values()))["sets"]
    for split in [s for s in ("random", "class_shift", "spambase") if s in splits]:
        rows = []
        for key in TARGETS:
            row = [TARGET_NAMES[key]]
            for name, config in configs.items():
                if key == "speedup":
                    row.append(_cell(key, config["speedup"]))
                    continue
                shifted = {**config, "sets": {"random": config["sets"][split]}}
                row.append(_cell(key, _measured(shifted)[key]))
            rows.append(row)
        header = ["quantity", *(result["labels"][name] for name in configs)]
        out["comparison" if split == "random" else split] = markdown(header, rows)
    per_index = [
        [result["labels"][name]]
        + [
            f"{config['sets']['random']['median_per_index'][i - 1]:.3g}"
            for i in SHOWN
            if i <= len(config["sets"]["random"]["median_per_index"])
        ]
        for name, config in configs.items()
    ]
    out["per_index"] = markdown(["configuration", *(f"σ{i}" for i in SHOWN)], per_index)
    for name, config in configs.items():
        if config["params"] is not None:
            out[f"targets_{name}"] = target_table(targets(result, name))
    return out


if __name__ == "__main__":
    main()
