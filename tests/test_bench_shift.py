# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The shift suite's test families, target checks and tables (bench_shift)."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _format  # noqa: E402
import bench_shift  # noqa: E402


def test_synthetic_families_have_their_structure():
    rng = np.random.default_rng(0)
    low_rank = bench_shift.synthetic("low_rank", 20, rng).reshape(-1, 32, 32)
    assert low_rank.dtype == np.float32
    # Rank 5 up to the float32 rounding of the product.
    # (From the singular values: numpy < 2 has no matrix_rank(rtol=).)
    s = np.linalg.svd(low_rank.astype(np.float64), compute_uv=False)
    ranks = (s > 1e-5 * s[:, :1]).sum(axis=1)
    assert set(ranks) == {5}
    sparse = bench_shift.synthetic("sparse", 200, rng)
    assert 0.04 < np.mean(sparse != 0) < 0.06
    uniform = bench_shift.synthetic("uniform", 50, rng)
    assert uniform.min() >= 0 and uniform.max() < 1
    with pytest.raises(ValueError, match="unknown synthetic family 'cauchy'"):
        bench_shift.synthetic("cauchy", 2, rng)


def _row(misses=0.0, recomputed=0.0, coverage=1.0, speedup=10.0):
    return dict(
        misses=misses,
        recomputed=recomputed,
        coverage=coverage,
        speedup_max_error=speedup,
    )


def test_targets_name_the_worst_shift_and_what_fails():
    sets = {
        "cifar_holdout": _row(misses=0.005, recomputed=0.2, coverage=0.97),
        "gaussian": _row(misses=0.03),
        "uniform": _row(misses=0.01),
    }
    targets = bench_shift.check_targets(sets, _row(misses=0.025))
    assert targets["misses_in_distribution"]["met"]
    assert not targets["recomputed_in_distribution"]["met"]
    assert not targets["coverage_in_distribution"]["met"]
    assert targets["speedup_in_distribution"]["met"]
    shift = targets["misses_shift"]
    assert not shift["met"] and shift["worst_set"] == "gaussian"
    assert shift["sets_over_target"] == ["cifar_class_shift", "gaussian"]


def test_percentages_are_never_written_in_exponent_notation():
    assert _format.pct(0.99971, 2) == "100%"
    assert _format.pct(0.997, 3) == "99.7%"
    assert _format.pct(0.000361) == "0.036%"
    assert _format.pct(0.0) == "0"
