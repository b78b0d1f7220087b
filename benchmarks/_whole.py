# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The whole-spectrum quantities that bench_sizes and bench_frontier report.

The scalar entries of :func:`bench_whole_spectrum.spectrum_metrics`: the
worst index's median and 90th-percentile relative errors, σ_min, the
condition number within 5 %, the nuclear norm, and the ranks within ±1.
"""

from bench_whole_spectrum import spectrum_metrics

# The scalar quantities, by their keys in spectrum_metrics.
WHOLE_KEYS = (
    "worst_median",
    "worst_median_index",
    "worst_p90",
    "sigma_min_median",
    "condition_within_5pct",
    "nuclear_norm_median",
    "numerical_rank_within_1",
    "energy_rank_within_1",
)


def whole_spectrum(S, P):
    """The scalar whole-spectrum quantities of predictions ``P`` of ``S``."""
    full = spectrum_metrics(S, P)
    for name in ("numerical_rank", "energy_rank"):
        full[f"{name}_within_1"] = full[name]["within_1"]
    return {key: full[key] for key in WHOLE_KEYS}


# The column headers of whole_cells, in its order.
WHOLE_HEADER = (
    "worst index",
    "worst p90",
    "σ_min",
    "cond ±5 %",
    "rank ±1",
    "energy rank ±1",
)


def whole_cells(w):
    """Table cells of :func:`whole_spectrum`'s quantities (one dict ``w``).

    The worst index with its index, the worst p90, σ_min, and the shares of
    condition numbers within 5 % and of ranks within ±1, in that order.
    """
    return [
        f"{w['worst_median']:.3g} (σ{w['worst_median_index']:.0f})",
        f"{w['worst_p90']:.3g}",
        f"{w['sigma_min_median']:.3g}",
        f"{100 * w['condition_within_5pct']:.0f} %",
        f"{100 * w['numerical_rank_within_1']:.0f} %",
        f"{100 * w['energy_rank_within_1']:.0f} %",
    ]
