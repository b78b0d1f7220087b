# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The tables of docs/results.md, from the ``svlearn reproduce`` reports.

``tables(reports)`` takes every report of ``docs/results/<run>/report.json``
by run name (the ``reports`` source of ``benchmarks/_render.py``). Table I of
one experiment is the report's own (``svlearn._reproduce._report.table_i``,
which also writes each ``report.md``); the summary and the reconstruction
table put the runs side by side.
"""

from _format import markdown, pm

from svlearn._reproduce._report import table_i

# (data label, short label, run, experiment key, or None for the paper's row)
RUNS = [
    ("CIFAR-10", "", "cifar10", None),
    ("CIFAR-10 (first 40,000 / last 10,000)", "CIFAR-10", "cifar10",
     "cifar10_gray_train"),
    ("Spambase", "", "spambase", None),
    ("Spambase, paper's random split", "Spambase random", "spambase",
     "spambase_random"),
    ("Spambase, leakage-free row blocks", "Spambase row blocks", "spambase",
     "spambase_row_blocks"),
    ("sample images (by image)", "sample images", "sample_images", "sample_images"),
]  # fmt: skip
# The label of the paper's row where the experiment is not the paper's split.
PAPER_LABELS = {"spambase_row_blocks": "paper, Table I (as reported, random split)"}


def _experiment(report, key):
    for experiment in report["experiments"]:
        if experiment["key"] == key:
            return experiment
    raise KeyError(f"no experiment {key!r} in the report")


def _errors(row, nmse_fmt=".3g", mae_fmt=".4g"):
    nmse = pm(100 * row["nmse_mean"], 100 * row["nmse_std"], nmse_fmt, "%")
    return [nmse, pm(row["mae_mean"], row["mae_std"], mae_fmt)]


def tables(reports):
    """The Markdown tables of the reports, by name.

    One Table I per experiment key (``cifar10_gray_train``...), ``summary``
    (the networks of every run beside the paper's Table I) and
    ``reconstruction`` (the rank-k errors of every experiment).
    """
    out, summary, experiments = {}, [], []
    for label, short, run, key in RUNS:
        report = reports[run]
        if key is None:
            paper = report["paper_table_i"][run]
            paper_row = _errors(paper, ".2f", ".2f")
            summary.append([label, "*paper, Table I (reported)*", *paper_row])
            continue
        experiment = _experiment(report, key)
        paper = experiment["paper"] or report["paper_table_i"].get(run)
        label_of_paper = PAPER_LABELS.get(key, "paper, Table I (as reported)")
        out[key] = table_i(experiment, paper, label_of_paper)
        experiments.append((short, experiment["reconstruction"]))
        models = {m["key"]: m for m in experiment["models"]}
        summary.append([label, "paper-faithful network", *_errors(models["paper_net"])])
        summary.append(["", "svlearn default", *_errors(models["svlearn_default"])])
    out["summary"] = markdown(["data", "model", "NMSE", "MAE"], summary, "llll")
    methods = [m for m in experiments[0][1] if m != "k"]
    header = ["reconstruction"] + [f"{s}, k={r['k']}" for s, r in experiments]
    rows = [[m] + [f"{r[m]:.3g}" for _, r in experiments] for m in methods]
    out["reconstruction"] = markdown(header, rows)
    return out
