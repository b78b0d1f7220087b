# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cells and Markdown tables shared by the benchmarks' ``tables`` functions.

Each ``benchmarks/bench_*.py`` builds its own tables from its own JSON; this
module only holds what several of them format alike: mean ± std cells,
percentages, yes/no cells, the pipe table itself (``tabulate``) and the
source line under each table.
"""

from tabulate import tabulate

NBSP = "\u00a0"  # keeps "mean ± std" on one line in narrow table cells


def markdown(header, rows, align=None):
    """A Markdown pipe table; ``align`` is ``"l"`` or ``"r"`` per column.

    By default the first column is left-aligned and the others right-aligned.

    Examples
    --------
    >>> print(markdown(["case", "n"], [["a", "1,000"]]))
    | case   |     n |
    |:-------|------:|
    | a      | 1,000 |
    """
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header):
        raise ValueError(f"align has {len(align)} letters for {len(header)} columns")
    sides = ["left" if a == "l" else "right" for a in align]
    cells = [[str(c) for c in row] for row in rows]
    return tabulate(
        cells, header, tablefmt="pipe", colalign=sides, disable_numparse=True
    )


def pm(mean, std, fmt, unit=""):
    """``mean ± std`` with one format for both, or ``0`` when both are zero.

    Examples
    --------
    >>> pm(1.23456, 0.5, ".3g", "%").replace(NBSP, " ")
    '1.23% ± 0.5%'
    >>> pm(0, 0, ".2f")
    '0'
    """
    if mean == 0 and std == 0:
        return "0"
    return f"{mean:{fmt}}{unit}{NBSP}±{NBSP}{std:{fmt}}{unit}"


def pct(value, digits=2):
    """A fraction as a percentage with ``digits`` significant digits.

    Never in exponent notation: a fraction that rounds to 100% or more is
    written without decimals.

    Examples
    --------
    >>> pct(0.000361), pct(0.997, 3), pct(0.99971), pct(0.0)
    ('0.036%', '99.7%', '100%', '0')
    """
    if value == 0:
        return "0"
    text = f"{100 * value:.{digits}g}"
    return (f"{100 * value:.0f}" if "e" in text else text) + "%"


def yes(ok):
    """The ``met`` cell of a target table: ``yes``, or a bold ``no``."""
    return "yes" if ok else "**no**"


def source_line(data):
    """Where the numbers of one JSON file come from, as one sentence.

    Examples
    --------
    >>> source_line({"command": "python benchmarks/bench_y.py"})[:46]
    'Source: `python benchmarks/bench_y.py`, a run '
    """
    meta = data.get("meta")
    if meta is None:
        command = data.get("command")
        ran = (
            f"`{command}`, a run made before the benchmarks recorded their commit "
            "and environment"
            if command
            else "a run made before the benchmarks recorded their command, commit "
            "and environment"
        )
        return f"Source: {ran}; `python benchmarks/run_all.py` refreshes it."
    commit = (meta["commit"] or "unknown")[:10] + (
        " (modified)" if meta["dirty"] else ""
    )
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    return (
        f"Source: `{meta['command']}` at commit `{commit}`, {meta['utc']}; "
        f"{meta['cpu_count']} CPU cores, {meta['machine']}, Python "
        f"{meta['python']}, {versions}."
    )


def _met(target):
    return yes(target["met"]) + target.get("met_note", "")


def target_table(targets, extra=()):
    """A target / measured / met table of a benchmark's ``targets(result)``.

    Each target is a dict with ``name``, ``value`` and ``target`` (numbers),
    ``met`` and ``measured`` (the measurement as shown), and may carry
    ``met_note`` (appended to the met cell); when the targets carry ``asked``
    (the target as shown) it gets its own column. ``extra``
    are ``(index, row)`` pairs of rows that are not targets (a claim, a
    measurement reported beside the targets), inserted at ``index``.
    """
    asked = all("asked" in t for t in targets)
    rows = [
        [t["name"], *([t["asked"]] if asked else []), t["measured"], _met(t)]
        for t in targets
    ]
    for index, row in extra:
        rows.insert(index, row)
    if asked:
        return markdown(["target", "asked", "measured", "met"], rows, "lrrl")
    return markdown(["target", "measured", "met"], rows, "lll")
