# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""``report.json`` and ``report.md`` of ``svlearn reproduce`` (rendering only)."""

import json
from pathlib import Path

from ._models import LABELS


def _mean_pm_std(mean, std, percent=False):
    if mean is None:
        return "—"
    if percent:
        return f"{100 * mean:.3g}% ± {100 * std:.3g}%"
    return f"{mean:.4g} ± {std:.4g}"


def table_i(result, paper=None, paper_label="paper, Table I (as reported)"):
    """Table I of one experiment, in Markdown, the paper's row first.

    ``paper`` (the paper's reported errors) defaults to the experiment's own.
    The docs render the experiments of ``docs/results/`` with this function.
    """
    paper = paper or result["paper"]
    lines = [
        "| model | NMSE (mean ± std) | MAE (mean ± std) | "
        "worst-index relative error (median) | log-spectral distance "
        "(mean ± std) | training time (s) | "
        "prediction time per matrix (µs) | throughput × numpy SVD | "
        "throughput × torch svdvals |",
        "|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    if paper is not None:
        # The paper reports NMSE and MAE only.
        lines.append(
            f"| *{paper_label}* | "
            f"{_mean_pm_std(paper['nmse_mean'], paper['nmse_std'], True)} | "
            f"{paper['mae_mean']:.2f} ± {paper['mae_std']:.2f} | — | — | — | — | "
            "— | — |"
        )
    for row in result["models"]:
        exact = row["key"] == "exact_svd"
        if exact:
            nmse = mae = worst = lsd = "0 (ground truth)"
        else:
            nmse = _mean_pm_std(row["nmse_mean"], row["nmse_std"], True)
            mae = _mean_pm_std(row["mae_mean"], row["mae_std"])
            # Reports written before these metrics existed have neither.
            worst = lsd = "—"
            if "worst_index_relative_error" in row:
                worst = f"{100 * row['worst_index_relative_error']:.3g}%"
                lsd = _mean_pm_std(row["lsd_mean"], row["lsd_std"])
        fit = "—" if exact else f"{row['fit_time_s']:.3g}"
        lines.append(
            f"| {LABELS.get(row['key'], row['name'])} | {nmse} | {mae} | {worst} | "
            f"{lsd} | {fit} | "
            f"{1e6 * row['predict_time_per_matrix_s']:.3g} | "
            f"{row['speedup_vs_numpy']:.3g} | {row['speedup_vs_torch']:.3g} |"
        )
    return "\n".join(lines)


def _markdown(report):
    env = report["environment"]
    pools = ", ".join(f"{p['api']} {p['num_threads']}" for p in env["threadpools"])
    # The data set by name (a file by its name alone), so that reports of
    # several runs have titles of their own.
    dataset = Path(report.get("dataset") or "sample_images").name
    out = [
        f"# svlearn reproduce: report on {dataset}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"svlearn {env['svlearn']}, Python {env['python']}, numpy {env['numpy']}, "
        f"scikit-learn {env['scikit-learn']}, torch {env['torch']} on "
        f"{env['platform']}; {env['cpu_cores_available']} CPU cores available, "
        f"torch threads {env['torch_threads']}, thread pools: {pools}. "
        f"Total time {report['total_time_s']:.1f} s.",
        "",
        "NMSE and MAE are the paper's Eq. 1, computed per test matrix; the "
        "table gives their mean ± standard deviation over the test matrices. "
        "NMSE weighs each singular value by its energy, so it mostly measures "
        "the largest; two metrics that the paper does not report weigh every "
        "value alike. The worst-index relative error is the largest over "
        "indices i of the median over matrices of |ŝ_i - s_i| / max(s_i, "
        "1e-6 s_1); the log-spectral distance is the root mean square over "
        "indices of log10(ŝ_i / s_i), both values floored at 1e-6 s_1, in "
        "decades (mean ± std over matrices). "
        "Times are the best of "
        f"{report['config']['repeats']} runs in this process, on the same "
        "float32 test matrices; a throughput ratio above 1 means faster than "
        "exact batched singular values.",
    ]
    names = {"cifar10": "CIFAR-10", "spambase": "Spambase"}
    out += [
        "",
        "## The paper's Table I (as reported)",
        "",
        "| data set | NMSE (mean ± std) | MAE (mean ± std) |",
        "|---|---|---|",
        *[
            f"| {names[key]} | {_mean_pm_std(p['nmse_mean'], p['nmse_std'], True)} | "
            f"{p['mae_mean']:.2f} ± {p['mae_std']:.2f} |"
            for key, p in report["paper_table_i"].items()
        ],
    ]
    for res in report["experiments"]:
        t = res["timing"]
        m, n = res["matrix_shape"]
        out += [
            "",
            f"## {res['title']}",
            "",
            f"{res['protocol']} {res['n_train']} training and {res['n_test']} "
            f"test matrices of shape {m} x {n}.",
            *[f"\n{note}" for note in res["notes"]],
            "",
            "### Table I",
            "",
            table_i(res),
            "",
            f"Exact singular values of the {res['n_test']} test matrices, "
            f"batched: numpy/LAPACK {t['numpy_svd_time_s']:.3g} s, "
            f"torch.linalg.svdvals ({t['device']}) "
            f"{t['torch_svdvals_time_s']:.3g} s. The networks train on exact "
            f"targets computed once in float64 ({t['target_svd_time_s']:.3g} s, "
            "not included in their training time).",
            "",
            f"### Reconstruction error at rank k = {res['reconstruction']['k']}",
            "",
            "Mean relative Frobenius error ||M - M_k|| / ||M|| over the test matrices.",
            "",
            "| reconstruction | relative error |",
            "|---|---:|",
            *[
                f"| {key} | {value:.4f} |"
                for key, value in res["reconstruction"].items()
                if key != "k"
            ],
            "",
            "### Figures",
            "",
            *[f"![{key}]({path})\n" for key, path in sorted(res["figures"].items())],
        ]
    return "\n".join(out) + "\n"


def write_report(report, out_dir):
    """Write ``report.json`` and ``report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    with open(out_dir / "report.json", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    (out_dir / "report.md").write_text(_markdown(report), encoding="utf-8")
