# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The shipped pretrained models: accuracy per family, the fallback, load time, size.

Each model of ``svlearn.pretrained(n)`` (n = 8, 16, 32, 64), as shipped in
``svlearn/_pretrained_files/``, is measured on held-out matrices of every family and
source of its training mixture (fresh draws of the synthetic families, the
other side of each real-data split: CIFAR images outside the mixture,
windows of ``flower.jpg``, the held-out digits and Spambase row blocks; see
``benchmarks/build_pretrained.py``) and on families that are not in the
mixture:

* ``rank_4``: exact rank 4 (Gaussian factors), where the Ritz values of the
  model's 4-vector iteration are the exact spectrum;
* ``equal_top``: random singular vectors, four equal leading values and a
  geometric tail (ratio 0.7);
* ``checkerboard``: ``flower.jpg`` windows times a ``(-1)**(i + j)`` pattern;
* ``cifar_centred`` and ``cifar_transposed``: the CIFAR hold-out (windows
  below 32 x 32) minus each matrix's mean, and transposed.

Per family: the mean NMSE of plain ``predict``, the worst-index relative
error (:func:`svlearn.metrics.worst_index_relative_error`, median over
matrices), the coverage of the error estimates, and with ``max_error=1e-3``
the fraction of matrices recomputed exactly and the slips (matrices returned
with a true NMSE above 1e-3). For 32 x 32, the default regressor trained on
CIFAR alone (a random 40,000 of the training file, the images the mixture
draws from) is compared with the pretrained model on the 10,000-image hold-out
that neither saw. Load time is the best of 7 calls of ``svlearn.pretrained``
in one process; throughput is ``predict`` against numpy's exact SVD on 2,000
``flower.jpg`` windows, timed in interleaved rounds on one thread, on a
machine that other jobs may share (the load average is recorded).

Run from the repository root (about 5 minutes on 2 cores)::

    OMP_NUM_THREADS=1 python benchmarks/bench_pretrained.py --data-dir ../shared/data

The results go to ``benchmarks/results/bench_pretrained.json``; ``--quick``
runs small test sets and a small CIFAR-only model into
``benchmarks/results/quick/``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The benchmarks and this checkout's svlearn, whose shipped files are measured.
sys.path[:0] = [str(HERE), str(ROOT)]
import build_pretrained as build  # noqa: E402
from _format import markdown, pct, target_table  # noqa: E402
from _meta import load_record, run_metadata  # noqa: E402

import svlearn  # noqa: E402
from svlearn._pretrained import (  # noqa: E402
    FAMILIES,
    SHAPES,
    model_folder,
    random_with_spectra,
    read_manifest,
)
from svlearn._timing import best_time, interleaved_times  # noqa: E402

MAX_ERROR = build.MAX_ERROR
# The families the NMSE target is asked on.
NMSE_FAMILIES = ("gaussian", "uniform", "low_rank", "toeplitz", "heavy_tailed")
TARGETS = {
    "cifar_nmse_ratio": 1.5,
    "cifar_worst_index_ratio": 1.5,
    "nmse": 0.01,
    "slips": 0.01,
    "load_s": 0.2,
    "size_bytes": 5e6,
}
SHIFT = ("rank_4", "equal_top", "checkerboard", "cifar_centred", "cifar_transposed")
LABELS = {
    "gaussian": "Gaussian",
    "uniform": "uniform [0, 1)",
    "low_rank": "rank 5",
    "low_rank_noise": "low rank + noise",
    "power_law": "power-law spectrum",
    "exponential": "exponential spectrum",
    "toeplitz": "Toeplitz",
    "sparse": "sparse",
    "heavy_tailed": "Student t, df=2",
    "cifar": "CIFAR hold-out",
    "sample_images": "flower.jpg windows",
    "digits": "digits hold-out",
    "spambase": "Spambase row-block test part",
    "rank_4": "rank 4 (not in mixture)",
    "equal_top": "4 equal top values (not in mixture)",
    "checkerboard": "checkerboard × flower.jpg (not in mixture)",
    "cifar_centred": "CIFAR hold-out, centred (not in mixture)",
    "cifar_transposed": "CIFAR hold-out, transposed (not in mixture)",
}
# The real-data parts of the mixture, as the mixture tables name them (the
# test sets are the other side of each split).
MIXTURE_LABELS = {
    "cifar": "CIFAR training images",
    "sample_images": "china.jpg windows",
    "digits": "digits (80%)",
    "spambase": "Spambase row-block training part",
}


def shift_sets(n, sets, n_test):
    """Families outside the mixture, from fresh draws and the test sets."""
    rng = np.random.default_rng(build.SEEDS["test"] * 1000 + 500)
    out = {
        "rank_4": (
            rng.standard_normal((n_test, n, 4)) @ rng.standard_normal((n_test, 4, n))
        ),
    }
    spectrum = np.concatenate([np.ones(4), 0.7 ** np.arange(1, n - 3)])
    out["equal_top"] = random_with_spectra(rng, np.tile(spectrum, (n_test, 1)))
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    out["checkerboard"] = sets["sample_images"].reshape(-1, n, n) * signs
    if "cifar" in sets:
        cifar = sets["cifar"]
        out["cifar_centred"] = cifar - cifar.mean(axis=1, keepdims=True)
        out["cifar_transposed"] = cifar.reshape(-1, n, n).transpose(0, 2, 1)
    return {
        k: np.ascontiguousarray(v.reshape(len(v), -1), dtype=np.float32)
        for k, v in out.items()
    }


def measure_shape(n, args):
    """Accuracy per family, load time, size and throughput of one shipped model."""
    manifest = read_manifest(n)
    reg = svlearn.pretrained(n)
    load_s = best_time(lambda: svlearn.pretrained(n), repeat=7)
    sets = build.test_sets(n, args.data_dir, args.n_test[n])
    sets.update(shift_sets(n, sets, args.n_test[n]))
    families = {}
    for name, X in sets.items():
        row = build.evaluate(reg, X)
        row["in_mixture"] = name in manifest["mixture"]
        families[name] = row
        print(
            f"{n}x{n} {name:<18} NMSE {row['nmse_mean']:.3g} worst-index "
            f"{row['worst_index']:.3g} slips {row['slips']:.4f} recomputed "
            f"{row['recomputed']:.3f}",
            flush=True,
        )
    guarded = svlearn.pretrained(n).set_params(max_error=MAX_ERROR)
    batch = sets["sample_images"][:2000]
    times = interleaved_times(
        {
            "numpy": lambda: np.linalg.svd(batch.reshape(-1, n, n), compute_uv=False),
            "predict": lambda: reg.predict(batch),
            "predict_max_error": lambda: guarded.predict(batch),
        },
        repeat=args.repeat,
    )
    files = [
        model_folder() / f"svlearn-{n}x{n}.{ext}" for ext in ("safetensors", "json")
    ]
    return {
        "file": manifest["file"],
        "size_bytes": manifest["size_bytes"],
        "files_bytes": sum(len(f.read_bytes()) for f in files),
        "sha256": manifest["sha256"],
        "n_train": manifest["n_train"],
        "n_calibration": manifest["n_calibration"],
        "fit_s": manifest["fit_s"],
        "mixture": manifest["mixture"],
        "load_s": load_s,
        "families": families,
        "throughput": {
            "batch": len(batch),
            "seconds": times,
            "speedup": times["numpy"] / times["predict"],
            "speedup_max_error": times["numpy"] / times["predict_max_error"],
        },
    }


def cifar_comparison(args):
    """Pretrained 32 x 32 against the default trained on CIFAR alone."""
    split = build.cifar_split(args.data_dir)
    if split is None:
        raise SystemExit(f"no cifar10_gray_train.npz in {args.data_dir}")
    train, holdout = (s.reshape(len(s), -1) for s in split)
    train, holdout = train[: args.n_cifar_train], holdout[: args.n_cifar_test]
    start = time.perf_counter()
    cifar_only = svlearn.SingularValueRegressor(
        random_state=build.SEEDS["model"], **args.model_params
    ).fit(train)
    fit_s = time.perf_counter() - start
    rows = {
        "pretrained": build.evaluate(svlearn.pretrained(32), holdout),
        "cifar_only": build.evaluate(cifar_only, holdout),
    }
    for name, row in rows.items():
        print(f"CIFAR hold-out, {name}: NMSE {row['nmse_mean']:.3g}", flush=True)
    return {
        "n_train": len(train),
        "n_test": len(holdout),
        "fit_s": fit_s,
        "models": rows,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=None, help="JSON path")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.n_test = dict.fromkeys(SHAPES, 200)
        args.n_cifar_train, args.n_cifar_test = 3000, 500
        args.model_params, args.repeat = {"max_iter": 2}, 1
    else:
        args.n_test = build.N_TEST
        args.n_cifar_train, args.n_cifar_test = 40_000, build.N_CIFAR_HOLDOUT
        args.model_params, args.repeat = {}, 5
    out = Path(
        args.out
        or HERE / "results" / ("quick" if args.quick else "") / "bench_pretrained.json"
    )

    meta = run_metadata(sys.argv)
    load_before = os.getloadavg()
    start = time.perf_counter()
    shapes = {str(n): measure_shape(n, args) for n in SHAPES}
    comparison = cifar_comparison(args)
    load_after = os.getloadavg()
    report = {
        "meta": meta,
        "load": load_record(load_before, load_after, torch.get_num_threads()),
        "seconds": time.perf_counter() - start,
        "config": {
            "max_error": MAX_ERROR,
            "n_test": {str(k): v for k, v in args.n_test.items()},
            "cifar_only_model": {"random_state": 0, **args.model_params},
        },
        "labels": LABELS,
        "families": FAMILIES,
        "shapes": shapes,
        "total_bytes": sum(s["files_bytes"] for s in shapes.values()),
        "cifar32": comparison,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, table in tables(report).items():
        print(f"\n{name}:\n{table}")
    print(f"\nwrote {out} in {report['seconds']:.0f} s")


def targets(result):
    """The targets, judged on a result.

    Returns a list of dicts with ``name``, ``value``, ``target``, ``met``,
    ``asked`` and ``measured``.
    """
    out = []

    def add(name, value, target, measured, asked):
        met = bool(value <= target)
        out.append(dict(name=name, value=value, target=target, met=met))
        out[-1].update(asked=asked, measured=measured)

    models = result["cifar32"]["models"]
    for key, metric in (("nmse_mean", "NMSE"), ("worst_index", "worst-index error")):
        ours, base = models["pretrained"][key], models["cifar_only"][key]
        target = TARGETS[f"cifar_{'nmse' if key == 'nmse_mean' else key}_ratio"]
        add(
            f"32×32 CIFAR hold-out, {metric} vs CIFAR-only default",
            ours / base,
            target,
            f"{ours / base:.3g}× ({pct(ours, 3)} vs {pct(base, 3)})",
            f"≤ {target:g}×",
        )
    for n, shape in result["shapes"].items():
        fams = shape["families"]
        worst = max(NMSE_FAMILIES, key=lambda f: fams[f]["nmse_mean"])
        value = fams[worst]["nmse_mean"]
        add(
            f"{n}×{n}: NMSE, worst of Gaussian, uniform, rank 5, Toeplitz, t(2)",
            value,
            TARGETS["nmse"],
            f"{pct(value, 3)} ({LABELS[worst]})",
            f"≤ {pct(TARGETS['nmse'])}",
        )
    for n, shape in result["shapes"].items():
        fams = shape["families"]
        worst = max(fams, key=lambda f: fams[f]["slips"])
        value = fams[worst]["slips"]
        add(
            f"{n}×{n}: slips at max_error=1e-3, worst family",
            value,
            TARGETS["slips"],
            f"{pct(value, 3)} ({LABELS[worst]})",
            f"≤ {pct(TARGETS['slips'])}",
        )
    shapes = result["shapes"]
    slowest = max(shapes, key=lambda n: shapes[n]["load_s"])
    value = shapes[slowest]["load_s"]
    add(
        "load time of svlearn.pretrained, slowest shape",
        value,
        TARGETS["load_s"],
        f"{value * 1e3:.3g} ms ({slowest}×{slowest})",
        f"< {TARGETS['load_s'] * 1e3:.0f} ms",
    )
    add(
        "shipped files, all shapes",
        result["total_bytes"],
        TARGETS["size_bytes"],
        f"{result['total_bytes'] / 1e3:,.0f} kB",
        f"≤ {TARGETS['size_bytes'] / 1e6:g} MB",
    )
    return out


def _accuracy_table(shape, labels):
    rows = [
        [
            labels[name],
            pct(r["nmse_mean"]),
            pct(r["nmse_p99"]),
            pct(r["worst_index"]),
            pct(r["coverage"], 3),
            pct(r["recomputed"], 3),
            pct(r["slips"]),
        ]
        for name, r in shape["families"].items()
    ]
    header = ["test matrices", "NMSE", "p99", "worst index", "coverage"]
    return markdown([*header, "recomputed", "slips"], rows)


def _mixture_table(shape, labels):
    rows = [
        [
            MIXTURE_LABELS.get(name, labels[name]),
            f"{part['n']:,}",
            pct(part["weight"], 2),
        ]
        for name, part in shape["mixture"].items()
    ]
    return markdown(["part of the mixture", "matrices", "share"], rows)


def tables(result):
    """The Markdown tables of a result.

    ``targets``; ``models`` (per shape: size, load time, training, throughput);
    ``cifar32`` (pretrained against CIFAR-only on the CIFAR hold-out); and per
    shape ``n`` ``accuracy_n`` (per family) and ``mixture_n`` (what it was
    trained on).
    """
    labels = result["labels"]
    shapes = result["shapes"]
    models = [
        [
            f"{n}×{n}",
            s["file"],
            f"{s['size_bytes'] / 1e3:.0f} kB",
            f"{s['load_s'] * 1e3:.3g} ms",
            f"{s['n_train']:,} + {s['n_calibration']:,}",
            f"{s['fit_s']:.0f} s",
            f"{s['throughput']['speedup']:.3g}× "
            f"({s['throughput']['speedup_max_error']:.3g}×)",
        ]
        for n, s in shapes.items()
    ]
    header = ["shape", "file", "size", "load", "trained + calibrated", "fit"]
    header.append("× numpy (with max_error=1e-3)")
    comparison = result["cifar32"]
    cifar = [
        [
            name,
            pct(r["nmse_mean"], 3),
            pct(r["worst_index"], 3),
            pct(r["recomputed"], 3),
            pct(r["slips"]),
        ]
        for name, r in (
            ("svlearn.pretrained(32)", comparison["models"]["pretrained"]),
            (
                f"default fitted on {comparison['n_train']:,} CIFAR images",
                comparison["models"]["cifar_only"],
            ),
        )
    ]
    out = {
        "targets": target_table(targets(result)),
        "models": markdown(header, models),
        "cifar32": markdown(
            ["model", "NMSE", "worst index", "recomputed", "slips"], cifar
        ),
    }
    for n, shape in shapes.items():
        out[f"accuracy_{n}"] = _accuracy_table(shape, labels)
        out[f"mixture_{n}"] = _mixture_table(shape, labels)
    return out


if __name__ == "__main__":
    main()
