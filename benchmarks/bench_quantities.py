# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Quantities from predicted spectra against the cheap routes users know.

Every function of :mod:`svlearn` that reads a quantity off a spectrum
(``spectral_norm``, ``condition_number``, ``nuclear_norm``,
``schatten_norm``, ``numerical_rank``, ``effective_rank``, ``log_abs_det``)
is applied to the spectra of three routes on the same 10,000 matrices, the
random hold-out of the 32 x 32 gray CIFAR-10 training images of
``benchmarks/bench_whole_spectrum.py`` (its 40,000 train the models):

* the default :class:`~svlearn.SingularValueRegressor` (``random_state=0``);
* ``head="ends", loss="log", n_components=8``, the configuration of
  ``benchmarks/bench_whole_spectrum.py`` that meets its accuracy targets;
* numpy's exact SVD (``np.linalg.svd(A, compute_uv=False)``), the truth
  (in float64) and the reference of the timings (in float32).

Beside them, for each quantity that has one, the cheap numerical estimator a
user would otherwise reach for: power iteration on ``A^T A`` for ``σ₁``
(10 steps from a fixed random start, batched); LU (``np.linalg.slogdet``,
LAPACK ``getrf`` per matrix) for ``log|det A|``; LAPACK's condition estimate
(``dgecon`` on the LU factors, per matrix from Python through
``scipy.linalg.lapack``), which estimates the 1-norm condition number, not
the 2-norm one the others give, and is measured against the 2-norm truth
here as a user substituting it would; the Gram matrix for the Schatten
4-norm (``||A^T A||_F**(1/2)``, exact). The nuclear norm, the numerical
rank and the effective ranks have no route cheaper than a factorisation:
``np.linalg.matrix_rank`` and friends run the SVD.

For each quantity and route: the median relative error against the exact
value (ranks: the share exactly right and within one), and the route's time
per matrix on one thread against numpy's SVD, all routes timed in interleaved
rounds in one process (best of 3). A learned route's time is its
``predict``; the function of the spectrum on top costs microseconds per
batch and is left out.

Run from the repository root (about 5 minutes on 2 cores)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_quantities.py --data-dir ../shared/data

The results go to ``benchmarks/results/bench_quantities.json``; ``--quick``
runs a small version into ``benchmarks/results/quick/``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg.lapack as lapack
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_whole_spectrum  # noqa: E402
from _format import markdown, pct  # noqa: E402
from _meta import load_record, run_metadata  # noqa: E402

from svlearn import (  # noqa: E402
    SingularValueRegressor,
    condition_number,
    effective_rank,
    log_abs_det,
    nuclear_norm,
    numerical_rank,
    schatten_norm,
    spectral_norm,
)
from svlearn._timing import interleaved_times  # noqa: E402

SHAPE = (32, 32)
MODELS = {
    "default": {},
    "ends_8": {"head": "ends", "loss": "log", "n_components": 8},
}
LABELS = {
    "default": 'default ("ritz")',
    "ends_8": '"ends", 8 + 8 vectors',
    "svd": "numpy's SVD (exact)",
    "power": "power iteration, 10 steps",
    "lu": "LU (np.linalg.slogdet)",
    "gecon": "LAPACK dgecon (1-norm estimate)",
    "gram": "Gram matrix (exact)",
}
POWER_STEPS = 10
# Quantity -> (function of spectra, kind, the cheap route that gives it).
QUANTITIES = {
    "spectral_norm": (spectral_norm, "value", "power"),
    "condition_number": (condition_number, "value", "gecon"),
    "log_abs_det": (log_abs_det, "log", "lu"),
    "nuclear_norm": (nuclear_norm, "value", None),
    "schatten_4": (lambda s: schatten_norm(s, 4), "value", "gram"),
    "numerical_rank": (lambda s: numerical_rank(s, rtol=1e-3), "rank", None),
    "effective_rank_entropy": (effective_rank, "value", None),
    "effective_rank_energy": (
        lambda s: effective_rank(s, method="energy", fraction=0.999),
        "rank",
        None,
    ),
}
QUANTITY_NAMES = {
    "spectral_norm": "spectral norm σ₁",
    "condition_number": "condition number σ₁/σ_min",
    "log_abs_det": "log-determinant (error in nats, per value)",
    "nuclear_norm": "nuclear norm Σσᵢ",
    "schatten_4": "Schatten 4-norm",
    "numerical_rank": "numerical rank (1e-3)",
    "effective_rank_entropy": "effective rank (entropy)",
    "effective_rank_energy": "effective rank (99.9 % of the energy)",
}


def power_norm(A, steps=POWER_STEPS):
    """``σ₁`` of each matrix by power iteration on ``A^T A``, batched."""
    x = np.random.default_rng(0).standard_normal((A.shape[-1],)).astype(A.dtype)
    x = np.broadcast_to(x, (len(A), A.shape[-1])).copy()
    for _ in range(steps):
        y = np.einsum("bij,bj->bi", A, x)
        x = np.einsum("bji,bj->bi", A, y)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    return np.linalg.norm(np.einsum("bij,bj->bi", A, x), axis=1)


def lu_log_det(A):
    """``log|det A|`` by LU (LAPACK getrf per matrix)."""
    return np.linalg.slogdet(A)[1]


def gecon_condition(A):
    """LAPACK's 1-norm condition estimate, per matrix from Python."""
    out = np.empty(len(A))
    for i, a in enumerate(A):
        a = np.asarray(a, dtype=np.float64)
        anorm = np.abs(a).sum(axis=0).max()
        lu, _, info = lapack.dgetrf(a)
        rcond, _ = lapack.dgecon(lu, anorm, norm="1")
        out[i] = 1 / rcond if info == 0 and rcond > 0 else np.inf
    return out


def gram_schatten4(A):
    """The Schatten 4-norm, exact from the Gram matrix."""
    G = np.swapaxes(A, 1, 2) @ A
    return np.einsum("bij,bij->b", G, G, dtype=np.float64) ** 0.25


CHEAP = {
    "power": lambda A: power_norm(A),
    "lu": lu_log_det,
    "gecon": gecon_condition,
    "gram": gram_schatten4,
}


def errors(kind, truth, estimate, n_values):
    """Median relative error, or rank hits, of ``estimate`` against ``truth``."""
    truth, estimate = np.asarray(truth, float), np.asarray(estimate, float)
    if kind == "rank":
        gap = np.abs(truth - estimate)
        return {"exact": float(np.mean(gap == 0)), "within_1": float(np.mean(gap <= 1))}
    if kind == "log":
        # log|det| is a sum of n logs: its error per value, in nats.
        finite = np.isfinite(truth) & np.isfinite(estimate)
        gap = np.abs(estimate - truth)[finite] / n_values
        return {
            "median_abs_per_value": float(np.median(gap)) if gap.size else None,
            "finite_share": float(finite.mean()),
        }
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(estimate / truth - 1)
    rel = np.where(np.isnan(rel), 0.0, rel)  # inf / inf: both singular
    return {
        "median_rel": float(np.median(rel)),
        "within_5pct": float(np.mean(rel <= 0.05)),
    }


def run(args, sizes):
    # The same split as the whole-spectrum suite's random one.
    splits = bench_whole_spectrum.load_data(
        args.data_dir, sizes["n_train"], sizes["n_test"]
    )
    train, test = splits["random"]
    cube32 = test.reshape(-1, *SHAPE)
    cube64 = cube32.astype(np.float64)
    truth_spectra = np.linalg.svd(cube64, compute_uv=False)
    models, spectra = {}, {"svd": truth_spectra}
    for name, params in MODELS.items():
        reg = SingularValueRegressor(random_state=0, **params, **args.extra)
        reg.fit(train)
        models[name] = reg
        spectra[name] = reg.predict(test)
        print(f"trained {name}", flush=True)
    cheap = {
        route: fn(cube64 if route != "power" else cube32) for route, fn in CHEAP.items()
    }
    n_values = truth_spectra.shape[1]
    quantities = {}
    for q, (fn, kind, route) in QUANTITIES.items():
        truth = fn(truth_spectra)
        rows = {
            name: errors(kind, truth, fn(spectra[name]), n_values) for name in MODELS
        }
        if route is not None:
            rows[route] = errors(kind, truth, cheap[route], n_values)
        quantities[q] = {"kind": kind, "cheap": route, "routes": rows}
    batch = cube32[: sizes["batch"]]
    flat = test[: sizes["batch"]]
    routes = {
        "svd": lambda: np.linalg.svd(batch, compute_uv=False),
        **{name: (lambda reg=reg: reg.predict(flat)) for name, reg in models.items()},
        **{route: (lambda fn=fn: fn(batch)) for route, fn in CHEAP.items()},
    }
    times = interleaved_times(routes, repeat=sizes["repeat"])
    costs = {
        name: {
            "us_per_matrix": 1e6 * t / len(batch),
            "relative_cost": t / times["svd"],
        }
        for name, t in times.items()
    }
    return quantities, costs, len(batch)


def _cell(kind, row):
    if row is None:
        return ""
    if kind == "rank":
        return f"{pct(row['exact'], 3)} / {pct(row['within_1'], 3)}"
    if kind == "log":
        value = row["median_abs_per_value"]
        return "n/a" if value is None else f"{value:.3g}"
    return f"{row['median_rel']:.3g} ({pct(row['within_5pct'], 3)})"


def tables(result):
    """``quantities``: error per quantity and route; ``costs``: time per route."""
    routes = list(MODELS)
    header = [
        "quantity",
        *(result["labels"][r] for r in routes),
        "cheap numerical route",
        "its error",
    ]
    rows = []
    for q, entry in result["quantities"].items():
        cheap = entry["cheap"]
        rows.append(
            [QUANTITY_NAMES[q]]
            + [_cell(entry["kind"], entry["routes"][r]) for r in routes]
            + [
                result["labels"][cheap] if cheap else "none cheaper than the SVD",
                _cell(entry["kind"], entry["routes"].get(cheap)) if cheap else "",
            ]
        )
    cost_rows = [
        [
            result["labels"][name],
            f"{c['us_per_matrix']:.3g}",
            f"{c['relative_cost']:.3g}",
        ]
        for name, c in result["costs"].items()
    ]
    return {
        "quantities": markdown(header, rows),
        "costs": markdown(["route", "µs per matrix", "cost / numpy's SVD"], cost_rows),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(HERE.parents[1] / "shared" / "data"))
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=None, help="JSON path")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = HERE / "results" / ("quick" if args.quick else "")
    out = Path(args.out or results / "bench_quantities.json")
    sizes, args.extra = bench_whole_spectrum.protocol(args.quick)
    meta = run_metadata(sys.argv)
    load_before = os.getloadavg()
    start = time.perf_counter()
    quantities, costs, batch = run(args, sizes)
    report = {
        "meta": meta,
        "load": load_record(load_before, os.getloadavg(), torch.get_num_threads()),
        "seconds": time.perf_counter() - start,
        "config": {**sizes, "models": MODELS, "power_steps": POWER_STEPS},
        "labels": LABELS,
        "batch": batch,
        "quantities": quantities,
        "costs": costs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, table in tables(report).items():
        print(f"\n{name}:\n{table}")
    print(f"\nwrote {out} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
