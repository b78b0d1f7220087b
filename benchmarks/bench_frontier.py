# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The accuracy-speed frontier: learned against non-learned spectrum estimators.

Prints the tables of docs/performance.md and writes them, with the run's
provenance under ``"meta"``, to benchmarks/results/bench_frontier.json
(``--out``) and the figure docs/figures/frontier.png (``--figure``).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_frontier.py --data-dir ../shared/data
    python benchmarks/bench_frontier.py --quick --out /tmp/frontier.json

CIFAR-10 gray (``cifar10_gray_train.npz``, ordered by class): trained on a
random 40,000 of the 50,000 matrices and tested on the other 10,000 (all
classes, seed 0); the class-shifted split (train on the first 40,000, test on
the last 10,000: ships and trucks) is reported beside it. Families:

- exact routes: numpy's LAPACK SVD, ``torch.linalg.svdvals`` and
  ``torch.linalg.eigvalsh(A^T A)``;
- non-learned: ``MeanSpectrumRegressor(scaling="subspace", n_components=k,
  n_iter=q)`` for k = 1..8, q = 0..6 (Ritz values of block subspace
  iteration, the mean training tail at the exact leftover energy), and
  ``frobenius`` (k = 0);
- moment-constrained (non-learned): the same Ritz values, and a tail from the
  one-parameter family ``template**p`` whose energy and fourth moment match
  the exact ones (``sum(s**4) = ||A^T A||_F**2`` from the Gram matrix);
- learned: ``SingularValueRegressor(head="ritz", n_components=k, n_iter=q)``
  for several (k, q), and the earlier default (``head="subspace"``, 3
  components, 2 steps), each over 3 seeds (mean ± std).

Every estimator predicts the same batch of 10,000 test matrices; all routes
are timed together in interleaved rounds (``svlearn._timing``), once with one
torch thread and once with two. ``--quick`` trains one epoch on 4,000
matrices, one seed and a few configurations, and its JSON says ``"quick":
true`` so that it is never rendered into the docs.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from svlearn import MeanSpectrumRegressor, SingularValueRegressor, singular_values
from svlearn._linalg import leading_values_and_rest
from svlearn._mlp import tail_template
from svlearn._numerics import PREDICT_CHUNK
from svlearn._timing import interleaved_times
from svlearn.metrics import mae_per_matrix, nmse_per_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown, pm, target_table, yes  # noqa: E402
from _meta import run_metadata  # noqa: E402
from _whole import WHOLE_HEADER, WHOLE_KEYS, whole_cells, whole_spectrum  # noqa: E402

BATCH = 10_000
SEEDS = (0, 1, 2)
NONLEARNED = [(k, q) for k in range(1, 9) for q in range(0, 7)]
MOMENT = [(k, q) for k in (1, 2, 3, 4, 6) for q in (1, 2)]
# The learned configurations that can lie on the frontier; (3, 0), (4, 0),
# (6, 0), (2, 2), (3, 2) and (8, 2) are dominated by these and not run.
LEARNED = [(2, 0), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (8, 1)]
LEARNED += [(4, 2), (6, 2)]
DEFAULT = (4, 1)  # SingularValueRegressor()'s n_components, n_iter
COST_CEILING_US = 10.0  # the range for "learned below non-learned"


class MomentTailEstimator:
    """Ritz values plus a tail that matches the exact energy and fourth moment.

    Non-learned: the tail is ``template[k:]**p`` scaled to the leftover
    energy, with ``p`` chosen per matrix so that the tail's fourth moment
    equals ``||A^T A||_F**2 - sum(ritz**4)`` (exact ``sum(s**4)`` from the
    Gram matrix); larger ``p`` concentrates the tail's energy on its first
    values. ``p`` comes from a precomputed table of the family's moment
    ratio, which rises monotonically in ``p``.
    """

    def __init__(self, k, q):
        self.k, self.q = k, q

    def fit(self, S):
        mean = np.maximum(tail_template(S, self.k), 1e-12)
        self.log_template_ = torch.from_numpy(np.log(mean))
        p = np.linspace(0.0, 40.0, 4001)
        powered = mean[None, :] ** (2 * p[:, None])
        ratio = (powered**2).sum(1) / powered.sum(1) ** 2
        self.p_ = torch.from_numpy(p)
        self.ratio_ = torch.from_numpy(np.maximum.accumulate(ratio))
        return self

    def predict(self, X):
        out = np.empty((len(X), 32))
        with torch.inference_mode():
            for start in range(0, len(X), PREDICT_CHUNK):
                x = torch.from_numpy(X[start : start + PREDICT_CHUNK])
                out[start : start + len(x)] = self._block(x)
        return out

    def _block(self, x):
        norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
        A = x.reshape(-1, 32, 32)
        top, rest, energy, inv, _, _ = leading_values_and_rest(A, self.k, self.q, norms)
        G = torch.bmm(A.mT, A).double() * (inv.double() ** 2)[:, :, None]
        tail4 = (G * G).sum((-2, -1))[:, None] - (top**4).sum(-1, keepdim=True)
        ratio = tail4.clamp_min(0) / torch.where(rest > 0, rest, 1.0) ** 2
        index = torch.searchsorted(self.ratio_, ratio.clamp(0, 1)[:, 0].contiguous())
        p = self.p_[index.clamp_max(len(self.p_) - 1)][:, None]
        tail = torch.exp(2 * p * self.log_template_)  # template**(2p): squares
        tail = (tail / tail.sum(-1, keepdim=True) * rest).sqrt()
        spectrum = torch.cat([top, tail], -1) * norms.double()
        return spectrum.sort(-1, descending=True).values.numpy()


def _errors(S, P):
    nm = nmse_per_matrix(S, P) * 100
    return {
        "nmse_pct": float(nm.mean()),
        "nmse_p99_pct": float(np.quantile(nm, 0.99)),
        "mae": float(mae_per_matrix(S, P).mean()),
        "whole": whole_spectrum(S, P),
    }


def _splits(path, quick):
    X = np.load(path)["X"].reshape(50_000, -1).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    random = X[order[10_000:]], X[order[:10_000]]
    shifted = X[:40_000], X[40_000:]
    if quick:
        random = random[0][:4_000], random[1][:2_000]
        shifted = shifted[0][:4_000], shifted[1][-2_000:]
    return X, {"random": random, "shifted": shifted}


def _estimators(args):
    """(key, family, label, params) of every estimator."""
    specs = [("frobenius", "nonlearned", "Frobenius x template", {})]
    grid = NONLEARNED if not args.quick else [(1, 1), (3, 2), (4, 1), (8, 2)]
    for k, q in grid:
        specs.append(
            (f"nl_k{k}_q{q}", "nonlearned", f"subspace k={k} q={q}", {"k": k, "q": q})
        )
    for k, q in MOMENT if not args.quick else [(3, 1)]:
        specs.append(
            (f"mom_k{k}_q{q}", "moment", f"moments k={k} q={q}", {"k": k, "q": q})
        )
    for k, q in LEARNED if not args.quick else [(2, 1), (4, 1)]:
        specs.append(
            (f"ritz_k{k}_q{q}", "learned", f"ritz k={k} q={q}", {"k": k, "q": q})
        )
    specs.append(
        (
            "subspace_k3_q2",
            "previous",
            "previous default (subspace k=3 q=2)",
            {"k": 3, "q": 2},
        )
    )
    return specs


def _build(key, params, seed, max_iter):
    over = {} if max_iter is None else {"max_iter": max_iter}
    if key == "frobenius":
        return MeanSpectrumRegressor(scaling="frobenius")
    k, q = params["k"], params["q"]
    if key.startswith("nl_"):
        return MeanSpectrumRegressor(scaling="subspace", n_components=k, n_iter=q)
    if key.startswith("mom_"):
        return MomentTailEstimator(k, q)
    head = "ritz" if key.startswith("ritz_") else "subspace"
    return SingularValueRegressor(
        head=head, n_components=k, n_iter=q, random_state=seed, **over
    )


def _fit(model, X, S):
    start = time.perf_counter()
    model.fit(S) if isinstance(model, MomentTailEstimator) else model.fit(X, S)
    return time.perf_counter() - start


def pareto(points):
    """Indices of the points that no cheaper-or-equal point beats on error.

    ``points`` is a list of (cost, error); returns them sorted by cost.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    best, front = np.inf, []
    for i in order:
        if points[i][1] < best:
            best = points[i][1]
            front.append(i)
    return front


def best_within(rows, cost, families, key="nmse_pct"):
    """The lowest-``key`` row of ``families`` whose cost is at most ``cost``."""
    fits = [r for r in rows if r["family"] in families and r["us"] <= cost]
    return min(fits, key=lambda r: r[key]) if fits else None


def dominance(rows, default_key, ceiling=COST_CEILING_US, key="nmse_pct"):
    """The comparisons of the learned and non-learned frontiers on ``key``.

    ``key`` is the error a row is judged by: ``"nmse_pct"`` or the worst
    index's median relative error, ``"worst_median"``.
    """
    by_key = {r["key"]: r for r in rows}
    default = by_key[default_key]
    rival = best_within(rows, default["us"], ("nonlearned", "moment"), key)
    learned = [r for r in rows if r["family"] == "learned"]
    cheapest = min(r["us"] for r in learned)
    costs = sorted({r["us"] for r in rows if cheapest <= r["us"] <= ceiling})
    worst = None
    for cost in costs:
        ours = best_within(rows, cost, ("learned",), key)
        theirs = best_within(rows, cost, ("nonlearned", "moment"), key)
        if theirs is None:
            continue
        ratio = ours[key] / theirs[key]
        if worst is None or ratio > worst["ratio"]:
            worst = {
                "cost_us": cost,
                "learned": ours["key"],
                "nonlearned": theirs["key"],
                "ratio": ratio,
            }
    return {
        "default": default_key,
        "best_nonlearned_at_default_cost": rival and rival["key"],
        "best_nonlearned_label": rival and rival["label"],
        "key": key,
        "best_nonlearned_nmse_pct": rival and rival["nmse_pct"],
        "best_nonlearned_error": rival and rival[key],
        "best_nonlearned_us": rival and rival["us"],
        "ratio_at_default_cost": rival and default[key] / rival[key],
        "worst_ratio_up_to_ceiling": worst,
        "ceiling_us": ceiling,
        "learned_below_everywhere": worst is not None and worst["ratio"] < 1,
    }


def _exact_routes(A):
    T = torch.from_numpy(A)
    return {
        "numpy": lambda: np.linalg.svd(A, compute_uv=False),
        "torch_svdvals": lambda: torch.linalg.svdvals(T),
        "torch_eigvalsh": lambda: torch.linalg.eigvalsh(T.mT @ T).clamp_min(0).sqrt(),
    }


def _time_all(models, X, repeat, threads):
    torch.set_num_threads(threads)
    A = np.ascontiguousarray(X.reshape(-1, 32, 32))
    funcs = dict(_exact_routes(A))
    funcs.update({key: (lambda m=m: m.predict(X)) for key, m in models.items()})
    seconds = interleaved_times(funcs, repeat=repeat)
    return {key: 1e6 * t / len(X) for key, t in seconds.items()}


def _figure(rows, exact, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {
        "nonlearned": ("tab:gray", "o", "non-learned: subspace iteration + template"),
        "moment": ("tab:green", "s", "non-learned: + exact 4th moment"),
        "learned": ("tab:blue", "D", "learned: ritz head"),
        "previous": ("tab:red", "^", "learned: subspace head (sees the matrix)"),
    }
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for family, (color, marker, label) in styles.items():
        sub = [r for r in rows if r["family"] == family]
        if not sub:
            continue
        x = np.array([r["us"] for r in sub])
        y = np.array([r["nmse_pct"] for r in sub])
        err = np.array([r.get("nmse_pct_std", 0.0) for r in sub])
        ax.errorbar(
            x,
            y,
            yerr=err,
            fmt=marker,
            color=color,
            ms=4,
            alpha=0.6,
            label=label,
            lw=0.8,
        )
        front = pareto(list(zip(x, y)))
        if len(front) > 1:
            ax.step(x[front], y[front], where="post", color=color, lw=1.5)
    for name, us in exact.items():
        ax.axvline(us, color="k", ls=":", lw=0.8)
        ax.text(
            us,
            0.02,
            f" {name} (exact)",
            rotation=90,
            va="bottom",
            fontsize=7,
            transform=ax.get_xaxis_transform(),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("µs per matrix, batch 10,000, one thread (exact routes dotted)")
    ax.set_ylabel("NMSE % (CIFAR-10 random hold-out)")
    ax.set_title("Accuracy-speed frontier on 32 x 32 CIFAR-10 matrices")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    parser.add_argument("--quick", action="store_true")
    here = Path(__file__).resolve().parent
    parser.add_argument("--out", default=str(here / "results" / "bench_frontier.json"))
    parser.add_argument(
        "--figure",
        default=None,
        help="default: docs/figures/frontier.png, or beside --out for --quick",
    )
    args = parser.parse_args(argv)
    if args.figure is None:
        args.figure = (
            str(Path(args.out).with_suffix(".png"))
            if args.quick
            else str(here.parent / "docs" / "figures" / "frontier.png")
        )
    meta = run_metadata(sys.argv if argv is None else [__file__, *argv])
    load_before = os.getloadavg()
    torch.set_num_threads(1)
    max_iter, seeds = (1, SEEDS[:1]) if args.quick else (None, SEEDS)
    repeat = 1 if args.quick else args.repeats
    X_all, splits = _splits(Path(args.data_dir) / "cifar10_gray_train.npz", args.quick)
    truth = {
        name: (singular_values(tr), singular_values(te))
        for name, (tr, te) in splits.items()
    }
    (X_train, X_test), (S_train, S_test) = splits["random"], truth["random"]

    rows, timed = [], {}
    for key, family, label, params in _estimators(args):
        runs = []
        for seed in seeds if family in ("learned", "previous") else seeds[:1]:
            model = _build(key, params, seed, max_iter)
            fit_s = _fit(model, X_train, S_train)
            runs.append(
                {"seed": seed, "fit_s": fit_s, **_errors(S_test, model.predict(X_test))}
            )
            if seed == seeds[0]:
                timed[key] = model
        row = {
            "key": key,
            "family": family,
            "label": label,
            **params,
            "seeds": [r["seed"] for r in runs],
            "runs": runs,
        }
        for metric in ("nmse_pct", "nmse_p99_pct", "mae", "fit_s"):
            values = np.array([r[metric] for r in runs])
            row[metric] = float(values.mean())
            row[f"{metric}_std"] = float(values.std())
        # The whole spectrum, as means over the seeds.
        row["whole"] = {
            key: float(np.mean([r["whole"][key] for r in runs])) for key in WHOLE_KEYS
        }
        row["worst_median"] = row["whole"]["worst_median"]
        # Class shift: the same configuration (first seed) trained on the
        # first 40,000, tested on the last 10,000.
        (X_tr, X_te), (S_tr, S_te) = splits["shifted"], truth["shifted"]
        model = _build(key, params, seeds[0], max_iter)
        _fit(model, X_tr, S_tr)
        row["shifted"] = _errors(S_te, model.predict(X_te))
        rows.append(row)
        print(
            f"{label:<40} NMSE {row['nmse_pct']:.4f}% ± {row['nmse_pct_std']:.4f} "
            f"p99 {row['nmse_p99_pct']:.4f}% MAE {row['mae']:.2f} "
            f"shifted {row['shifted']['nmse_pct']:.4f}% fit {row['fit_s']:.1f}s",
            flush=True,
        )

    X_time = np.ascontiguousarray(X_test[:BATCH])
    timing = {str(t): _time_all(timed, X_time, repeat, t) for t in (1, 2)}
    torch.set_num_threads(1)
    exact_keys = list(_exact_routes(X_time[:1].reshape(-1, 32, 32)))
    for row in rows:
        for t, us in timing.items():
            row[f"us_{t}thread"] = us[row["key"]]
            row[f"speedup_numpy_{t}thread"] = us["numpy"] / us[row["key"]]
            row[f"speedup_eigvalsh_{t}thread"] = us["torch_eigvalsh"] / us[row["key"]]
        row["us"] = row["us_1thread"]
        print(
            f"{row['label']:<40} {row['us_1thread']:6.2f} us (1 thread) "
            f"{row['us_2thread']:6.2f} us (2)  x{row['speedup_numpy_1thread']:.1f} "
            f"numpy",
            flush=True,
        )
    exact = {k: {f"us_{t}thread": timing[t][k] for t in timing} for k in exact_keys}

    # The default on all 50,000 matrices: the training-time target.
    start = time.perf_counter()
    over = {} if max_iter is None else {"max_iter": max_iter}
    SingularValueRegressor(random_state=0, **over).fit(
        X_all[:4_000] if args.quick else X_all
    )
    fit_all_s = time.perf_counter() - start

    default_key = f"ritz_k{DEFAULT[0]}_q{DEFAULT[1]}"
    fronts = {}
    for family in ("nonlearned", "moment", "learned"):
        sub = [r for r in rows if r["family"] in (family,)]
        fronts[family] = [
            sub[i]["key"] for i in pareto([(r["us"], r["nmse_pct"]) for r in sub])
        ]
    learned = [r for r in rows if r["family"] == "learned"]
    fast = [r for r in learned if r["nmse_pct"] <= 0.1]
    accurate = [r for r in learned if r["nmse_pct"] <= 0.01]
    result = {
        "meta": meta,
        "quick": args.quick,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "batch": len(X_time),
        "repeats": repeat,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "seeds": list(seeds),
        "estimators": rows,
        "exact": exact,
        "fronts": fronts,
        "dominance": dominance(rows, default_key) if default_key in timed else None,
        "dominance_worst_index": (
            dominance(rows, default_key, key="worst_median")
            if default_key in timed
            else None
        ),
        "default": default_key,
        "fast": max(fast, key=lambda r: r["speedup_numpy_1thread"])["key"]
        if fast
        else None,
        "accurate": max(accurate, key=lambda r: r["speedup_numpy_1thread"])["key"]
        if accurate
        else None,
        "fit_all_50000_s": fit_all_s,
    }
    print(
        json.dumps({k: result[k] for k in ("dominance", "fast", "accurate")}, indent=1)
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    _figure(rows, {k: v["us_1thread"] for k, v in exact.items()}, args.figure)
    print(f"wrote {args.out} and {args.figure}")


# Short headers, so that a table fits the docs' column; the page says what
# each means. Two-thread timings stay in the JSON (and in the targets).
_HEADER = ["estimator", "µs", "× numpy", "× eigvalsh"]
_HEADER += ["NMSE %", "p99 %", "MAE", "shift NMSE %"]
# The estimator whose network sees the flattened matrix, by what it is.
_LABELS = {"previous": "subspace head k=3 q=2"}


def _row(r):
    nmse = (
        pm(r["nmse_pct"], r["nmse_pct_std"], ".4f")
        if len(r["seeds"]) > 1
        else f"{r['nmse_pct']:.4f}"
    )
    return [
        _LABELS.get(r["family"], r["label"]),
        f"{r['us_1thread']:.2f}",
        f"{r['speedup_numpy_1thread']:.1f}",
        f"{r['speedup_eigvalsh_1thread']:.1f}",
        nmse,
        f"{r['nmse_p99_pct']:.3f}",
        f"{r['mae']:.2f}",
        f"{r['shifted']['nmse_pct']:.4f}",
    ]


_WHOLE_HEADER = ["estimator", "µs", *WHOLE_HEADER]


def _whole_row(r):
    w = r["whole"]
    return [
        _LABELS.get(r["family"], r["label"]),
        f"{r['us_1thread']:.2f}",
        *whole_cells(w),
    ]


def _whole_front(result):
    """Keys of the non-learned estimators on the worst index's cost frontier."""
    rows = [r for r in result["estimators"] if r["family"] in ("nonlearned", "moment")]
    return {
        rows[i]["key"] for i in pareto([(r["us"], r["worst_median"]) for r in rows])
    }


def targets(result):
    """The targets, judged on a result.

    Returns a list of dicts with ``name``, ``value``, ``target``, ``met`` and
    the table's ``measured`` cell; a speed target is judged on one thread
    and ``met_note`` says whether two threads meet it too.
    """
    by_key = {r["key"]: r for r in result["estimators"]}
    d = by_key[result["default"]]
    dom = result["dominance"]
    rival = by_key[dom["best_nonlearned_at_default_cost"]]
    worst = dom["worst_ratio_up_to_ceiling"]

    def speed(name, r, factor):
        one, two = (r[f"speedup_{name}_{t}thread"] for t in (1, 2))
        return {
            "value": one,
            "target": factor,
            "met": one >= factor,
            "met_note": f" (two threads: {yes(two >= factor)})",
            "measured": f"{one:.1f}x one thread, {two:.1f}x two threads",
        }

    out = [
        {
            "name": "default NMSE <= 0.025 %",
            "value": d["nmse_pct"],
            "target": 0.025,
            "met": d["nmse_pct"] <= 0.025,
            "measured": pm(d["nmse_pct"], d["nmse_pct_std"], ".4f", " %"),
        },
        {
            "name": "default MAE <= 6.5",
            "value": d["mae"],
            "target": 6.5,
            "met": d["mae"] <= 6.5,
            "measured": pm(d["mae"], d["mae_std"], ".2f"),
        },
    ]
    for name, factor in [("numpy", 15), ("eigvalsh", 8)]:
        target = {"name": f"default >= {factor}x {name} (batch 10,000)"}
        out.append({**target, **speed(name, d, factor)})
    out.append(
        {
            "name": "default NMSE <= 0.5x the best non-learned estimator of equal "
            "or lower cost",
            "value": dom["ratio_at_default_cost"],
            "target": 0.5,
            "met": dom["ratio_at_default_cost"] <= 0.5,
            "measured": f"{dom['ratio_at_default_cost']:.2f}x ({rival['label']}, "
            f"{rival['nmse_pct']:.4f} % at {rival['us']:.2f} µs)",
        }
    )
    out.append(
        {
            "name": "learned frontier below the non-learned one from the cheapest "
            f"learned configuration to {dom['ceiling_us']:g} µs",
            "value": worst["ratio"],
            "target": 1.0,
            "met": bool(dom["learned_below_everywhere"]),
            "measured": f"worst ratio {worst['ratio']:.2f}x at "
            f"{worst['cost_us']:.2f} µs ({by_key[worst['learned']]['label']} "
            f"against {by_key[worst['nonlearned']]['label']})",
        }
    )
    whole = result.get("dominance_worst_index")
    if whole and whole["worst_ratio_up_to_ceiling"]:
        w = whole["worst_ratio_up_to_ceiling"]
        out.append(
            {
                "name": "learned frontier below the non-learned one on the worst "
                f"index's median relative error, up to {whole['ceiling_us']:g} µs",
                "value": w["ratio"],
                "target": 1.0,
                "met": bool(whole["learned_below_everywhere"]),
                "measured": f"worst ratio {w['ratio']:.2f}x at {w['cost_us']:.2f} "
                f"µs ({by_key[w['learned']]['label']} against "
                f"{by_key[w['nonlearned']]['label']})",
            }
        )
    for key, name, factor in [
        ("fast", "fast configuration >= 30x numpy at NMSE <= 0.1 %", 30),
        ("accurate", "accurate configuration NMSE <= 0.01 % at >= 8x numpy", 8),
    ]:
        r = by_key.get(result[key]) if result[key] else None
        if r is None:
            out.append(
                {
                    "name": name,
                    "value": None,
                    "target": factor,
                    "met": False,
                    "measured": "no learned configuration reaches the NMSE",
                }
            )
            continue
        target = {**speed("numpy", r, factor), "name": name}
        target["measured"] = (
            f"{r['label']}: {r['nmse_pct']:.4f} %, " + target["measured"]
        )
        out.append(target)
    fit = result["fit_all_50000_s"]
    out.append(
        {
            "name": "training on 50,000 matrices <= 2 min",
            "value": fit,
            "target": 120,
            "met": fit <= 120,
            "measured": f"{fit:.0f} s",
        }
    )
    return out


def tables(result):
    """The Markdown tables of a result.

    ``fronts`` holds the Pareto points of each family, cheapest first;
    ``learned`` and ``nonlearned`` every estimator of those families;
    ``exact`` the exact routes; ``issue`` the starting point's table re-measured;
    ``targets`` the targets.
    """
    by_key = {r["key"]: r for r in result["estimators"]}

    def family(*families):
        rows = [_row(r) for r in result["estimators"] if r["family"] in families]
        return markdown(_HEADER, rows)

    fronts = [
        _row(by_key[key])
        for name in ("nonlearned", "moment", "learned")
        for key in result["fronts"][name]
    ]
    issue = ["subspace_k3_q2", "nl_k3_q2", "nl_k3_q4", "nl_k4_q4", result["default"]]
    exact = [
        [name, f"{v['us_1thread']:.2f}", f"{v['us_2thread']:.2f}"]
        for name, v in result["exact"].items()
    ]
    out = {}
    if all("whole" in r for r in result["estimators"]):
        front = _whole_front(result)
        whole = [
            _whole_row(r)
            for r in result["estimators"]
            if r["family"] in ("learned", "previous") or r["key"] in front
        ]
        out["whole"] = markdown(_WHOLE_HEADER, whole, "l" + "r" * 7)
    return {
        **out,
        "fronts": markdown(_HEADER, fronts, "l" + "r" * 7),
        "learned": family("learned", "previous"),
        "nonlearned": family("nonlearned", "moment"),
        "exact": markdown(["exact route", "µs, 1 thread", "µs, 2 threads"], exact),
        "issue": markdown(_HEADER, [_row(by_key[k]) for k in issue if k in by_key]),
        "targets": target_table(targets(result)),
    }


if __name__ == "__main__":
    main()
