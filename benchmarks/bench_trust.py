# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""What the first tier's diagnostics can tell about ``max_error``, and what not.

The default :class:`~svlearn.SingularValueRegressor` of
``benchmarks/bench_shift.py`` (``random_state=0``, trained on the same random
40,000 CIFAR matrices, 4,000 of them held out by ``fit`` to calibrate) is
asked how well any rule built on its per-matrix diagnostics could decide
which matrices to refine at ``max_error=1e-3``:

* **frontier**: in distribution (the 10,000 other CIFAR matrices), the
  matrices left unflagged with a true NMSE above 1e-3 (first-tier slips)
  when the top 10 % to 50 % of matrices by a score are flagged. Scores: the
  shipped log-linear model, the same with a tail-shape feature
  (``log(tau_hat / tau_pred)`` from the exact ``sum(s**4)``, the Ritz values
  and the leftover energy; ``tail_shape`` in the JSON), the same with the
  log-determinant gap (``log_det_gap``: clipped to +-3, and its size) as free
  features instead of a check, and a gradient-boosted
  0.9-quantile regression on 23 features (the model's, the top 12 predicted
  values, the 6 top certified widths and the certified NMSE bound).
* **decisions**: per test set of the shift suite, the shares flagged by the
  first tier, recomputed exactly and slipping for the shipped rule (the 0.99
  conformal estimate against 1e-3, with the log-determinant check), for the
  same without that check, and for conformal risk control of the
  slips at ``alpha`` (the smallest offset whose calibration slips, counted as
  ``(slips + 1) / (n + 1)``, are at most ``alpha``; the refinement tier as
  shipped).
* **separation**: per test set, the median ratio of the true NMSE to the
  leftover energy (the error per unit of energy outside the Ritz values),
  and the share of matrices whose diagnostics lie outside the 99 % typical
  set of the calibration matrices (Mahalanobis distance of the four free
  log features), the median log-determinant gap and the share outside the
  shipped check's range (``log_det_range_``): what would let a rule tell that
  set from CIFAR.
* **routes**: the refinement tier with 8 vectors and one step (shipped)
  and with two, each calibrated on the same matrices as ``calibrate`` does:
  per test set, the shares refined, recomputed exactly and slipping with
  ``max_error=1e-3`` (``predict``'s own tiers).
* **costs**: one thread, batch 10,000, interleaved rounds: numpy's SVD,
  ``predict``, ``predict`` with ``max_error``, the refinement tier on the
  whole batch, the Gram moment of the error features and the
  log-determinant gap on every matrix.

Run from the repository root (about 2 minutes on 2 cores)::

    OMP_NUM_THREADS=1 python benchmarks/bench_trust.py --data-dir ../shared/data

The results go to ``benchmarks/results/bench_trust.json``.
"""

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_shift  # noqa: E402
from _format import markdown, pct  # noqa: E402
from _meta import load_record, run_metadata  # noqa: E402

from svlearn import SingularValueRegressor, _trust  # noqa: E402
from svlearn._calibration import (  # noqa: E402
    certified_nmse,
    estimate_error,
    feature_range,
    fit_error_model,
    gram_moment,
    log_det_gap,
)
from svlearn._mlp import tail_template  # noqa: E402
from svlearn._tiers import EXACT, REFINED, refined_spectra  # noqa: E402
from svlearn._timing import interleaved_times  # noqa: E402
from svlearn.metrics import nmse_per_matrix  # noqa: E402

SHAPE = bench_shift.SHAPE
MAX_ERROR = bench_shift.MAX_ERROR
FLAG_SHARES = (0.1, 0.13, 0.15, 0.2, 0.3, 0.5)
ALPHAS = (0.0025, 0.005, 0.01)
ROUTES = ((8, 1), (8, 2))
# The log features with a free slope in the shipped model (tail share,
# fourth-moment violation, leftover energy, last step's gain).
FREE = [1, 3, 4, 5]
K = 4  # the default model's Ritz values
SETS = (
    "cifar_holdout",
    "cifar_centred",
    "sample_windows",
    "spambase",
    "student_t15",
    "cifar_equal4",
    "cifar_rank8",
    "cifar_noise20",
    "cifar_rotated",
)


def collect(reg, X):
    """Everything the rules below need, for matrices ``X``."""
    S = bench_shift.exact(X)
    out = reg._predict_all(X, with_features=True)
    lower, upper, energy = _trust.certified(X, out, reg.n_outputs_)
    least, most = certified_nmse(out.pred, lower, upper, energy)
    refined = refined_spectra(X, SHAPE, reg.refine_template_, reg.refine_route_)
    r_certified = certified_nmse(refined.pred, refined.lower, refined.upper)
    r_error = estimate_error(
        refined.features,
        reg.refine_error_coef_,
        reg.refine_error_offset_,
        r_certified,
        reg.refine_feature_range_,
    )
    # The refinement tier's rule as predict applies it (_refine).
    unit = np.where(refined.pred[:, :1] > 0, refined.pred[:, :1], 1.0)
    gap = (((refined.pred - out.pred) / unit) ** 2).sum(axis=1)
    gap /= np.maximum(((refined.pred / unit) ** 2).sum(axis=1), 1e-300)
    r_error = np.minimum(np.maximum(r_error, gap), r_certified[1])
    return {
        "nmse": nmse_per_matrix(S, out.pred),
        "r_nmse": nmse_per_matrix(S, refined.pred),
        "r_error": r_error,
        "features": out.features,
        "least": least,
        "most": most,
        "tail_shape": tail_shape(X, out.pred, lower),
        "log_det_gap": log_det_gap(X, SHAPE, out.pred),
        "rich": rich_features(out.features, out.pred, lower, upper, most),
    }


def tail_shape(X, pred, lower):
    """``log(tau_hat / tau_pred)``: the tail's fourth moment against the guess.

    ``tau = sum(tail**4) / sum(tail**2)**2`` of the values after the first
    ``K``: from the exact ``sum(s**4)`` less the Ritz values' (an upper bound
    of the true tail's), and of the predicted tail.
    """
    norms = np.sqrt(np.einsum("ij,ij->i", X.astype(np.float64), X.astype(np.float64)))
    safe = np.where(norms > 0, norms, 1.0)
    moment4 = gram_moment(X, SHAPE, norms)
    ritz = (lower[:, :K] / safe[:, None]) ** 2
    rest = np.clip(1 - ritz.sum(axis=1), 0, None)
    tau_hat = np.clip(moment4 - (ritz**2).sum(axis=1), 0, None) / np.maximum(
        rest**2, 1e-300
    )
    tail = (pred[:, K:] / safe[:, None]) ** 2
    tau_pred = (tail**2).sum(axis=1) / np.maximum(tail.sum(axis=1) ** 2, 1e-300)
    return np.log(tau_hat + 1e-9) - np.log(tau_pred + 1e-9)


def rich_features(features, pred, lower, upper, most):
    energy = np.sqrt((pred**2).sum(axis=1))
    safe = np.where(energy > 0, energy, 1.0)[:, None]
    return np.column_stack(
        [
            features[:, FREE],
            np.log(pred[:, :12] / safe + 1e-9),
            np.log((upper - lower)[:, :6] / safe + 1e-9),
            np.log(most + 1e-12),
        ]
    )


def _halves(n):
    order = np.random.default_rng(0).permutation(n)
    return order[: n // 2], order[n // 2 :]


def scores(reg, calibration):
    """Functions of a collected set that rank its matrices by risk."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    target = np.log(calibration["nmse"] + 1e-12)
    fit_rows, _ = _halves(len(target))
    columns = np.column_stack([calibration["features"], calibration["tail_shape"]])
    # As the shipped model: leftover energy with slope 1, the rest free.
    free = [0, 1, 3, 5, 6]
    coef = np.linalg.lstsq(
        columns[fit_rows][:, free],
        (target - columns[:, 4])[fit_rows],
        rcond=None,
    )[0]
    boosted = HistGradientBoostingRegressor(
        loss="quantile",
        quantile=0.9,
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        random_state=0,
    ).fit(calibration["rich"][fit_rows], target[fit_rows])

    def with_tail(d):
        x = np.column_stack([d["features"], d["tail_shape"]])
        return x[:, free] @ coef + x[:, 4]

    # The log-determinant gap as free features (clipped, and its size).
    def gap_columns(d):
        gap = np.clip(d["log_det_gap"], -3, 3)
        return np.column_stack([d["features"], gap, np.abs(gap)])

    gap_free = [0, 1, 3, 5, 6, 7]
    gap_coef = np.linalg.lstsq(
        gap_columns(calibration)[fit_rows][:, gap_free],
        (target - calibration["features"][:, 4])[fit_rows],
        rcond=None,
    )[0]

    def with_log_det(d):
        return gap_columns(d)[:, gap_free] @ gap_coef + d["features"][:, 4]

    return {
        "shipped": lambda d: d["features"] @ reg.error_coef_,
        "with_tail_shape": with_tail,
        "with_log_det": with_log_det,
        "boosted_quantile": lambda d: boosted.predict(d["rich"]),
    }


def frontier(score, d):
    s = score(d)
    bad = d["nmse"] > MAX_ERROR
    return [
        {"flagged": q, "slips": float(np.mean((s <= np.quantile(s, 1 - q)) & bad))}
        for q in FLAG_SHARES
    ]


def risk_offset(score, calibration, alpha):
    """The smallest offset whose calibration slips at 1e-3 are at most alpha."""
    _, rows = _halves(len(calibration["nmse"]))
    s = score(calibration)[rows]
    bad = calibration["nmse"][rows] > MAX_ERROR
    # A bad matrix slips at offset delta when s + delta <= log(1e-3).
    margins = np.sort(math.log(MAX_ERROR) - s[bad])
    allowed = math.floor(alpha * (len(s) + 1) - 1)
    if allowed < 0:
        return math.inf
    if allowed >= len(margins):
        return -math.inf
    return float(np.nextafter(margins[len(margins) - allowed - 1], math.inf))


def decide(reg, d, offset, log_det=True):
    """Tiers and slips when the first tier's estimate uses ``offset``.

    ``log_det=False``: without the log-determinant check.
    """
    error = np.exp(d["features"] @ reg.error_coef_ + offset) - 1e-12
    error = np.maximum(np.minimum(error, d["most"]), d["least"])
    low, high = reg.error_feature_range_
    outside = ((d["features"] < low) | (d["features"] > high)).any(axis=1)
    if log_det:
        gap_low, gap_high = reg.log_det_range_
        outside |= (d["log_det_gap"] < gap_low) | (d["log_det_gap"] > gap_high)
    error = np.where(outside, d["most"], error)
    flagged = error > MAX_ERROR
    exact = flagged & (d["r_error"] > MAX_ERROR)
    returned = np.where(flagged, np.where(exact, 0.0, d["r_nmse"]), d["nmse"])
    return {
        "flagged": float(flagged.mean()),
        "exact": float(exact.mean()),
        "slips": float(np.mean(returned > MAX_ERROR)),
    }


def typical(calibration, d):
    """Share of ``d`` outside the calibration's 99 % Mahalanobis typical set."""
    fit_rows, rows = _halves(len(calibration["nmse"]))
    x = calibration["features"][:, FREE]
    mean = x[fit_rows].mean(axis=0)
    precision = np.linalg.inv(np.cov(x[fit_rows].T))

    def distance(f):
        z = f[:, FREE] - mean
        return np.einsum("ij,jk,ik->i", z, precision, z)

    limit = np.quantile(distance(calibration["features"][rows]), 0.99)
    return float(np.mean(distance(d["features"]) > limit))


def with_route(reg, X, route):
    """A copy of ``reg`` whose refinement tier is ``route``, calibrated on ``X``.

    As ``calibrate`` does it: the mean tail of the exact spectra, the error
    model of the refined spectra and the range of their features.
    """
    other = copy.copy(reg)
    S = bench_shift.exact(X)
    template = tail_template(S, route[0])
    refined = refined_spectra(X, SHAPE, template, route)
    coef, offset = fit_error_model(
        refined.features, nmse_per_matrix(S, refined.pred), reg.coverage
    )
    other.refine_template_, other.refine_route_ = template, route
    other.refine_error_coef_, other.refine_error_offset_ = coef, offset
    other.refine_feature_range_ = feature_range(refined.features)
    other.max_error = MAX_ERROR
    return other


def tiers(reg, X):
    """Shares refined, exact and slipping under ``reg``'s guarded predict."""
    out = _trust.guarded(reg, reg._validate_new_X(X, check_finite=False))
    nmse = nmse_per_matrix(bench_shift.exact(X), out.pred)
    return {
        "refined": float(np.mean(out.tier == REFINED)),
        "exact": float(np.mean(out.tier == EXACT)),
        "slips": float(np.mean(nmse > MAX_ERROR)),
    }


def costs(reg, X, repeat):
    guarded = copy.copy(reg)
    guarded.max_error = MAX_ERROR
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    reference = reg.predict(X)
    times = interleaved_times(
        {
            "numpy": lambda: np.linalg.svd(X.reshape(-1, *SHAPE), compute_uv=False),
            "predict": lambda: reg.predict(X),
            "predict_max_error": lambda: guarded.predict(X),
            "refine_all": lambda: refined_spectra(
                X, SHAPE, reg.refine_template_, reg.refine_route_
            ),
            "gram_moment": lambda: gram_moment(X, SHAPE, norms),
            "log_det": lambda: log_det_gap(X, SHAPE, reference),
        },
        repeat=repeat,
    )
    return {name: 1e6 * t / len(X) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(HERE.parents[1] / "shared" / "data"))
    parser.add_argument("--out", default=str(HERE / "results" / "bench_trust.json"))
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    meta = run_metadata(sys.argv)
    load_before = os.getloadavg()
    start = time.perf_counter()
    sizes = dict(n_train=40_000, n_cifar_test=10_000, n_samples_test=3000)
    sizes.update(n_spambase_test=3000, n_synthetic_test=2000)
    sizes.update(n_structured_test=2000)
    train, tests, _, _, _ = bench_shift.load_data(args, sizes)
    reg = SingularValueRegressor(random_state=0).fit(train)
    _, held_out = reg._calibration_split(len(train))
    calibration = collect(reg, train[held_out])
    routed = {r: with_route(reg, train[held_out], r) for r in ROUTES}
    data = {name: collect(reg, tests[name]) for name in SETS}
    ranked = scores(reg, calibration)
    offsets = {a: risk_offset(ranked["shipped"], calibration, a) for a in ALPHAS}
    report = {
        "meta": meta,
        "config": {**sizes, "max_error": MAX_ERROR, "coverage": reg.coverage},
        "labels": {name: bench_shift.LABELS[name] for name in SETS},
        "frontier": {
            name: frontier(score, data["cifar_holdout"])
            for name, score in ranked.items()
        },
        "offsets": {
            "conformal": reg.error_offset_,
            **{f"risk_{a:g}": v for a, v in offsets.items()},
        },
        "decisions": {
            name: {
                "true_above": float(np.mean(d["nmse"] > MAX_ERROR)),
                "shipped": decide(reg, d, reg.error_offset_),
                "without_log_det": decide(reg, d, reg.error_offset_, log_det=False),
                **{f"risk_{a:g}": decide(reg, d, v) for a, v in offsets.items()},
            }
            for name, d in data.items()
        },
        "separation": {
            name: {
                "nmse_per_leftover_median": float(
                    np.median(d["nmse"] / np.exp(d["features"][:, 4]))
                ),
                "atypical": typical(calibration, d),
                "tail_shape_median": float(np.median(d["tail_shape"])),
                "log_det_gap_median": float(np.median(d["log_det_gap"])),
                "log_det_atypical": float(
                    np.mean(
                        (d["log_det_gap"] < reg.log_det_range_[0])
                        | (d["log_det_gap"] > reg.log_det_range_[1])
                    )
                ),
            }
            for name, d in data.items()
        },
        "routes": {
            f"{k}x{steps}": {name: tiers(other, tests[name]) for name in SETS}
            for (k, steps), other in routed.items()
        },
        "costs_us": costs(reg, tests["cifar_holdout"], args.repeat),
    }
    report["load"] = load_record(load_before, os.getloadavg(), torch.get_num_threads())
    report["seconds"] = time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, table in tables(report).items():
        print(f"\n{name}:\n{table}")
    print(f"\nwrote {out} in {report['seconds']:.0f} s")


def tables(result):
    """The Markdown tables of a result.

    ``frontier``: first-tier slips in distribution against the share flagged,
    per score; ``decisions``: flagged, exact and slips per test set for the
    shipped rule and risk control; ``separation``: what tells each set from
    the calibration matrices; ``routes``: the tiers with either refinement
    route; ``costs``: microseconds per matrix.
    """
    names = list(result["frontier"])
    rows = [
        [pct(q["flagged"])] + [pct(result["frontier"][n][i]["slips"], 3) for n in names]
        for i, q in enumerate(result["frontier"][names[0]])
    ]
    frontier_table = markdown(["flagged (top by score)", *names], rows)
    rules = [k for k in next(iter(result["decisions"].values())) if k != "true_above"]
    header = ["test matrices (32×32)", "NMSE > 1e-3"]
    header += [f"{rule}: flagged / exact / slips" for rule in rules]
    rows = [
        [result["labels"][name], pct(d["true_above"], 3)]
        + [
            f"{pct(d[r]['flagged'], 3)} / {pct(d[r]['exact'], 3)} / "
            f"{pct(d[r]['slips'], 3)}"
            for r in rules
        ]
        for name, d in result["decisions"].items()
    ]
    decisions = markdown(header, rows)
    rows = [
        [
            result["labels"][name],
            f"{s['nmse_per_leftover_median']:.3g}",
            pct(s["atypical"], 3),
            f"{s['tail_shape_median']:.2f}",
            f"{s['log_det_gap_median']:.2f}",
            pct(s["log_det_atypical"], 3),
        ]
        for name, s in result["separation"].items()
    ]
    separation = markdown(
        [
            "test matrices (32×32)",
            "NMSE / leftover energy (median)",
            "outside the 99 % typical set",
            "tail shape (median)",
            "log-det gap (median)",
            "outside the log-det range",
        ],
        rows,
    )
    routes = result["routes"]
    rows = [
        [result["labels"][name]]
        + [
            f"{pct(r[name]['refined'], 3)} / {pct(r[name]['exact'], 3)} / "
            f"{pct(r[name]['slips'], 3)}"
            for r in routes.values()
        ]
        for name in result["labels"]
    ]
    header = ["test matrices (32×32)"]
    header += [f"{name}: refined / exact / slips" for name in routes]
    route_table = markdown(header, rows)
    cost_rows = [[name, f"{us:.3g}"] for name, us in result["costs_us"].items()]
    return {
        "frontier": frontier_table,
        "decisions": decisions,
        "separation": separation,
        "routes": route_table,
        "costs": markdown(["route", "µs per matrix"], cost_rows),
    }


if __name__ == "__main__":
    main()
