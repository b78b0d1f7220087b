# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""SVD-LIGHT against established rank-k methods, at equal k, on real matrices.

For each rank ``k`` it reports the relative Frobenius error
``||M - M_k||_F / ||M||_F`` (mean over test matrices) and the time per matrix of

- the truncated SVD (Eckart-Young optimum),
- the exact singular vectors with the predicted values (paper, Figure 5),
- SVD-LIGHT (Algorithm 1) faithful, ``aligned`` and ``projection``, with
  predicted and with exact singular values,
- scikit-learn's ``randomized_svd``,
- a rank-``k`` interpolative decomposition (``scipy.linalg.interpolative``).

It also measures how often ``estimate_rank`` on the predicted spectrum equals
the rank from the exact spectrum. Data, read at run time and never committed:

- 32x32: CIFAR-10 gray (``--data``); regressor trained on the first 40,000
  matrices, tested on the last 10,000;
- 256x256: gray crops of scikit-learn's sample images, regressor trained on
  crops of ``china.jpg`` and tested on crops of ``flower.jpg``;
- 1024x1024: mosaics of 32 x 32 CIFAR test images; no regressor (training one
  on 1M-feature inputs from 40 training mosaics is not meaningful), so
  SVD-LIGHT runs with exact singular values, its upper bound.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_svdlight.py

writes ``benchmarks/results/bench_svdlight.json`` and prints Markdown tables.
``--quick`` runs a small smoke version.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg.interpolative as sli
from sklearn.datasets import load_sample_images
from sklearn.utils.extmath import randomized_svd

from svlearn import (
    SingularValueRegressor,
    SVDLight,
    estimate_rank,
    reconstruct,
    singular_values,
)
from svlearn._timing import best_time
from svlearn.datasets._base import to_gray
from svlearn.metrics import mae, nmse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown  # noqa: E402
from _meta import run_metadata  # noqa: E402

# The error tables, each a mean relative Frobenius error (ms per matrix).
TITLES = {
    "cifar32": "32x32 CIFAR-10 gray",
    "crops256": "256x256 gray crops",
    "mosaic1024": "1024x1024 CIFAR mosaics",
}

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "cifar10_gray_train.npz"


class _Fixed:
    """A 'regressor' that returns precomputed singular values (no fit)."""

    def __init__(self, values, shape):
        self.values = values
        self.matrix_shape_ = shape

    def predict(self, X):
        return self.values[: len(X)]


def _rel_err(M, R):
    M = M.reshape(len(M), -1)
    R = R.reshape(len(M), -1)
    return np.linalg.norm(M - R, axis=1) / np.linalg.norm(M, axis=1)


def _timed(fn, repeat=1):
    """``fn()``'s result and its best time per call (svlearn's shared timer).

    One warm-up call, then ``repeat`` timed calls; the last result is kept.
    """
    box = []

    def call():
        box[:] = [fn()]

    seconds = best_time(call, repeat=repeat)
    return box[0], seconds


def _timed_once(fn):
    """``fn()``'s result and its time, for a fit: too long to run twice."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _per_matrix(M, fn):
    return np.stack([fn(A) for A in M])


def _id_rank_k(A, k):
    # Deterministic (pivoted-QR) column ID: A ~ A[:, idx[:k]] @ P.
    idx, proj = sli.interp_decomp(A, k, rand=False)
    return sli.reconstruct_matrix_from_id(A[:, idx[:k]], idx, proj)


def _rsvd_rank_k(A, k):
    U, s, Vt = randomized_svd(A, k, random_state=0)
    return (U * s) @ Vt


def compare(M, S_exact, S_pred, ks, predict_seconds, label):
    """Error and time per matrix of every method on the stack ``M``."""
    n, m, p = M.shape
    flat = M.reshape(n, -1)
    rows = {}

    def record(name, k, rec, seconds):
        err = _rel_err(M, rec)
        rows.setdefault(name, {})[k] = {
            "rel_err_mean": float(err.mean()),
            "rel_err_median": float(np.median(err)),
            "ms_per_matrix": 1e3 * seconds / n,
        }

    (U, s, Vt), t_svd = _timed(lambda: np.linalg.svd(M, full_matrices=False))
    for k in ks:
        rec, t = _timed(lambda: (U[:, :, :k] * s[:, None, :k]) @ Vt[:, :k])
        record("truncated SVD (optimum)", k, rec, t_svd + t)
        if S_pred is not None:
            rec, t = _timed(lambda: reconstruct(M, S_pred, k=k))
            record("true vectors + predicted values (Fig. 5)", k, rec, t)
        for method, sampling in [
            ("faithful", "uniform"),
            ("aligned", "uniform"),
            ("projection", "uniform"),
            ("projection", "norm"),
        ]:
            for source, S in (("predicted", S_pred), ("exact", S_exact)):
                if S is None:
                    continue
                est = SVDLight(
                    k=k,
                    regressor=_Fixed(S, (m, p)),
                    method=method,
                    sampling=sampling,
                    random_state=0,
                ).fit(flat[:1])
                rec, t = _timed(lambda: est.transform(flat))
                # Charge the network's prediction time to predicted values.
                t += predict_seconds if source == "predicted" else 0.0
                name = f"SVD-LIGHT {method}, {sampling}, {source} values"
                record(name, k, rec, t)
        rec, t = _timed(lambda: _per_matrix(M, lambda A: _rsvd_rank_k(A, k)))
        record("randomized_svd", k, rec, t)
        rec, t = _timed(lambda: _per_matrix(M, lambda A: _id_rank_k(A, k)))
        record("interpolative decomposition (pivoted QR)", k, rec, t)
        print(f"  [{label}] k={k} done", flush=True)
    return rows


def rank_agreement(S_exact, S_pred):
    out = {}
    for method, threshold in [
        ("energy", 0.9),
        ("energy", 0.99),
        ("relative", 0.01),
        ("elbow", None),
    ]:
        r_true = estimate_rank(S_exact, method=method, threshold=threshold)
        r_pred = estimate_rank(S_pred, method=method, threshold=threshold)
        out[f"{method}" + ("" if threshold is None else f"={threshold}")] = {
            "equal": float(np.mean(r_true == r_pred)),
            "within_1": float(np.mean(np.abs(r_true - r_pred) <= 1)),
            "mean_rank_exact": float(r_true.mean()),
            "mean_rank_predicted": float(r_pred.mean()),
        }
    return out


def _gray_images():
    # svlearn's one BT.601 conversion, as for CIFAR-10 and the sample windows;
    # float64 for scipy's interpolative decomposition.
    return [to_gray(img).astype(np.float64) for img in load_sample_images().images]


def _crops(image, n, size, rng):
    h, w = image.shape
    top = rng.randint(0, h - size + 1, n)
    left = rng.randint(0, w - size + 1, n)
    return np.stack([image[t : t + size, s : s + size] for t, s in zip(top, left)])


def _mosaics(X, side):
    # side x side CIFAR images per mosaic, tiled row-major.
    n = len(X) // side**2
    tiles = X[: n * side**2].reshape(n, side, side, 32, 32)
    return tiles.transpose(0, 1, 3, 2, 4).reshape(n, side * 32, side * 32)


def _learned_values(M_train, M_test, quick, label):
    """Fit the default regressor on float32 ``M_train``; predict ``M_test``.

    Returns the JSON entry so far, the exact and predicted values, and the
    prediction time.
    """
    reg = SingularValueRegressor(random_state=0, **({"max_iter": 3} if quick else {}))
    _, t_fit = _timed_once(lambda: reg.fit(M_train.astype(np.float32)))
    S_pred, t_pred = _timed(lambda: reg.predict(M_test.astype(np.float32)))
    S_pred = np.asarray(S_pred, dtype=np.float64)
    S_exact = singular_values(M_test)
    side = M_test.shape[1]
    print(
        f"{side}x{side}: regressor fit {t_fit:.0f} s, NMSE {nmse(S_exact, S_pred):.4g}"
    )
    entry = {
        "n_train": len(M_train),
        "n_test": len(M_test),
        "regressor": repr(reg),
        "fit_seconds": t_fit,
        "predict_ms_per_matrix": 1e3 * t_pred / len(M_test),
        "nmse": float(nmse(S_exact, S_pred)),
    }
    return entry, S_exact, S_pred, t_pred


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=str(HERE / "results" / "bench_svdlight.json"))
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    start = time.perf_counter()
    results = {"meta": run_metadata(sys.argv), "quick": args.quick}

    # --- 32x32 CIFAR-10 gray --------------------------------------------------
    X = np.load(args.data)["X"].astype(np.float32)
    n_train, n_test = (2000, 500) if args.quick else (40000, 10000)
    X_test = X[-n_test:]
    entry, S_exact, S_pred, t_pred = _learned_values(
        X[:n_train], X_test, args.quick, "32x32"
    )
    entry["mae"] = float(mae(S_exact, S_pred))
    entry["rank_agreement"] = rank_agreement(S_exact, S_pred)
    entry["table"] = compare(
        X_test.astype(np.float64).reshape(-1, 32, 32),
        S_exact,
        S_pred,
        (1, 2, 5, 8, 16),
        t_pred,
        "32x32",
    )
    results["cifar32"] = entry

    # --- 256x256 crops of the sample images -----------------------------------
    china, flower = _gray_images()
    n_crop_train, n_crop_test = (64, 4) if args.quick else (512, 16)
    C_train = _crops(china, n_crop_train, 256, rng)
    C_test = _crops(flower, n_crop_test, 256, rng)
    entry, S_exact, S_pred, t_pred = _learned_values(
        C_train, C_test, args.quick, "256x256"
    )
    entry["table"] = compare(C_test, S_exact, S_pred, (1, 5, 20, 50), t_pred, "256")
    results["crops256"] = entry

    # --- 1024x1024 mosaics of CIFAR test images -------------------------------
    n_mosaic = 1 if args.quick else 4
    mosaics = _mosaics(X[-n_mosaic * 1024 :].astype(np.float64), 32)
    S_exact = singular_values(mosaics)
    results["mosaic1024"] = {
        "n_test": n_mosaic,
        "table": compare(mosaics, S_exact, None, (1, 5, 20, 50), 0.0, "1024"),
    }

    results["total_seconds"] = time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print_tables(results)
    print(f"\nwrote {out}")


def _errors_table(cells):
    ks = list(next(iter(cells.values())))
    rows = [
        [name]
        + [f"{c['rel_err_mean']:.3f} ({c['ms_per_matrix']:.3g})" for c in by_k.values()]
        for name, by_k in cells.items()
    ]
    return markdown(["method", *(f"k={k}" for k in ks)], rows)


def tables(result):
    """The Markdown tables of a result: errors (ms per matrix) and ranks."""
    out = {key: _errors_table(result[key]["table"]) for key in TITLES}
    rows = [
        [
            name,
            f"{r['equal']:.3f}",
            f"{r['within_1']:.3f}",
            f"{r['mean_rank_exact']:.2f}",
            f"{r['mean_rank_predicted']:.2f}",
        ]
        for name, r in result["cifar32"]["rank_agreement"].items()
    ]
    header = ["criterion", "equal", "within 1", "mean rank exact"]
    out["rank_agreement"] = markdown([*header, "mean rank predicted"], rows)
    return out


def print_tables(result):
    for name, table in tables(result).items():
        title = (
            f"{TITLES[name]}: mean relative Frobenius error (ms per matrix)"
            if name in TITLES
            else "Rank from predicted vs exact spectrum, 32x32 test matrices"
        )
        print(f"\n### {title}\n\n{table}")


if __name__ == "__main__":
    main()
