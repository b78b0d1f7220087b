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


def test_structured_and_cifar_derived_families_have_their_structure():
    rng = np.random.default_rng(0)
    rank_3 = bench_shift.structured("rank_3", 10, rng).reshape(-1, 32, 32)
    s = np.linalg.svd(rank_3.astype(np.float64), compute_uv=False)
    assert set((s > 1e-5 * s[:, :1]).sum(axis=1)) == {3}
    equal = bench_shift.structured("rank_4_equal", 10, rng).reshape(-1, 32, 32)
    s = np.linalg.svd(equal.astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(s[:, :4], 1.0, rtol=1e-5)
    assert s[:, 4:].max() < 1e-5
    noisy = bench_shift.structured("rank_4_noise", 10, rng).reshape(-1, 32, 32)
    s = np.linalg.svd(noisy.astype(np.float64), compute_uv=False)
    tail = (s[:, 4:] ** 2).sum(axis=1) / (s**2).sum(axis=1)
    assert np.all((tail > 0.002) & (tail < 0.005))
    with pytest.raises(ValueError, match="unknown structured family 'cauchy'"):
        bench_shift.structured("cauchy", 2, rng)

    images = rng.integers(0, 256, (6, 1024)).astype(np.float32)
    exact = bench_shift.exact(images)
    rotated = bench_shift.exact(bench_shift.cifar_derived("cifar_rotated", images, rng))
    np.testing.assert_allclose(rotated, exact, rtol=1e-4, atol=1e-3)
    rank_8 = bench_shift.exact(bench_shift.cifar_derived("cifar_rank8", images, rng))
    assert rank_8[:, 8:].max() < 1e-3 * rank_8[:, 0].min()
    equal_4 = bench_shift.exact(bench_shift.cifar_derived("cifar_equal4", images, rng))
    np.testing.assert_allclose(equal_4[:, :4], equal_4[:, :1].repeat(4, 1), rtol=1e-4)
    np.testing.assert_allclose((equal_4**2).sum(1), (exact**2).sum(1), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown CIFAR-derived family 'flip'"):
        bench_shift.cifar_derived("flip", images, rng)


def _row(slips=0.0, recomputed=0.0, speedup=10.0, cover=0.99, width=0.001):
    return dict(
        slips=slips,
        recomputed=recomputed,
        speedup_max_error=speedup,
        interval_coverage_min=cover,
        top_width_median=width,
        bound_violations=0.0,
    )


def test_targets_name_the_worst_shift_and_what_fails():
    sets = {
        "cifar_holdout": _row(slips=0.004, recomputed=0.2, cover=0.96),
        "gaussian": _row(slips=0.03),
        "uniform": _row(slips=0.005),
    }
    sets["uniform"]["bound_violations"] = 0.001
    targets = bench_shift.check_targets(sets, _row(slips=0.025))
    assert targets["slips_in_distribution"]["met"]
    assert not targets["recomputed_in_distribution"]["met"]
    assert not targets["interval_coverage_in_distribution"]["met"]
    assert targets["speedup_in_distribution"]["met"]
    assert targets["top_width_in_distribution"]["met"]
    shift = targets["slips_shift"]
    assert not shift["met"] and shift["worst_set"] == "gaussian"
    assert shift["sets_over_target"] == ["cifar_class_shift", "gaussian"]
    violated = targets["bound_violations"]
    assert not violated["met"] and violated["worst_set"] == "uniform"
    # With no violation anywhere, no family is named.
    sets["uniform"]["bound_violations"] = 0.0
    violated = bench_shift.check_targets(sets, _row())["bound_violations"]
    assert violated["met"] and "worst_set" not in violated


def test_percentages_are_never_written_in_exponent_notation():
    assert _format.pct(0.99971, 2) == "100%"
    assert _format.pct(0.997, 3) == "99.7%"
    assert _format.pct(0.000361) == "0.036%"
    assert _format.pct(0.0) == "0"
