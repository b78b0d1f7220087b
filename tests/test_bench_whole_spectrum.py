# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The whole-spectrum suite's metrics, targets and tables (bench_whole_spectrum)."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_whole_spectrum as bench  # noqa: E402


def test_spectrum_metrics_of_hand_made_predictions():
    S = np.array([[4.0, 2.0, 1.0], [3.0, 1.0, 1e-9]])
    # Row 0: sigma_min 10 % high; row 1: exact.
    P = np.array([[4.0, 2.0, 1.1], [3.0, 1.0, 1e-9]])
    row = bench.spectrum_metrics(S, P)
    assert row["worst_median_index"] == 3
    assert row["sigma_min_median"] == pytest.approx(0.05)
    # Condition numbers: 4 / 1.1 is 9 % off (row 0), row 1 exact.
    assert row["condition_within_5pct"] == 0.5
    assert row["nuclear_norm_median"] == pytest.approx(0.1 / 7 / 2)
    assert row["numerical_rank"] == {"exact": 1.0, "within_1": 1.0}
    # Row 1 is rank-deficient (1e-9 < 1e-6 * 3), and predicted as such.
    assert row["n_rank_deficient"] == 1 and row["rank_deficient_detected"] == 1.0
    assert row["nmse"] > 0


def _config(speedup, worst):
    row = bench.spectrum_metrics(np.array([[2.0, 1.0]]), np.array([[2.0, 1.0]]))
    row["worst_median"] = worst
    return {
        "params": {},
        "speedup": speedup,
        "sets": {"random": row, "class_shift": row},
    }


def test_targets_and_tables_of_a_result():
    result = {
        "labels": {"ritz": "default", "ends": "ends"},
        "configs": {"ritz": _config(9.0, 0.6), "ends": _config(2.0, 0.1)},
    }
    judged = {t["name"]: t for t in bench.targets(result, "ends")}
    assert judged["median relative error, worst index"]["met"]
    assert not judged["× numpy, one thread, batch 10,000"]["met"]
    assert judged["× numpy, one thread, batch 10,000"]["measured"] == "2×"
    tables = bench.tables(result)
    assert set(tables) == {
        "comparison",
        "class_shift",
        "per_index",
        "targets_ritz",
        "targets_ends",
    }
    assert "| σ_min, median relative error" in tables["comparison"]
