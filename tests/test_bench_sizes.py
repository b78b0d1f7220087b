# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The pure helpers of the matrix-size benchmark (bench_sizes)."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_sizes  # noqa: E402


def _candidate(k, q, us, nmse_pct):
    return {"k": k, "q": q, "us_per_matrix": us, "nmse_pct": nmse_pct}


def test_best_at_equal_cost_picks_lowest_nmse_within_budget():
    grid = [
        _candidate(1, 1, 1.0, 5.0),
        _candidate(2, 1, 2.0, 1.0),
        _candidate(8, 4, 9.0, 0.001),  # most accurate, too slow
    ]
    assert bench_sizes.best_at_equal_cost(grid, 2.0) == grid[1]  # cost equal: in
    assert bench_sizes.best_at_equal_cost(grid, 1.5) == grid[0]
    assert bench_sizes.best_at_equal_cost(grid, 0.5) is None
    assert bench_sizes.best_at_equal_cost([], 10.0) is None


def test_best_at_equal_cost_breaks_ties_by_cost():
    grid = [_candidate(3, 2, 4.0, 0.5), _candidate(2, 1, 3.0, 0.5)]
    assert bench_sizes.best_at_equal_cost(grid, 5.0) == grid[1]


def test_subspace_grid_caps_components_by_the_smaller_side():
    grid = bench_sizes.subspace_grid((100, 20))
    assert len(grid) == 8 * 4
    assert grid[0] == (1, 1) and grid[-1] == (8, 4)
    small = bench_sizes.subspace_grid((3, 5), max_components=8, max_iter=2)
    assert small == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]


def test_speed_targets():
    t = bench_sizes.speed_targets("8x8", 10_000, 2.5)
    assert t["not_slower_than_numpy"]["met"] is True
    assert t["at_least_3x_numpy"]["met"] is False
    assert t["at_least_3x_numpy"]["at_target_batch"] is True
    t = bench_sizes.speed_targets("256x256", 500, 0.9)
    assert set(t) == {"not_slower_than_numpy"}
    assert t["not_slower_than_numpy"]["met"] is False
    assert t["not_slower_than_numpy"]["at_target_batch"] is False
    assert t["not_slower_than_numpy"]["measured_at_batch"] == 500


def test_mean_std_uses_sample_std():
    assert bench_sizes.mean_std([1.0, 3.0]) == (2.0, pytest.approx(np.sqrt(2)))
    assert bench_sizes.mean_std([4.0]) == (4.0, 0.0)


def test_timing_batch_tops_up_with_training_matrices():
    X_test = np.zeros((3, 4), dtype=np.float64)
    X_train = np.ones((5, 4), dtype=np.float64)
    A, origin = bench_sizes.timing_batch(X_test, X_train, 2)
    assert origin == "test" and A.shape == (2, 4) and A.dtype == np.float32
    A, origin = bench_sizes.timing_batch(X_test, X_train, 6)
    assert origin == "test+train" and A.shape == (6, 4)
    assert A[:3].sum() == 0 and A[3:].sum() == 12
    assert A.flags.c_contiguous


def test_random_split_rounds_the_test_set_up():
    train, test = bench_sizes._random_split(101, 0.15, 0)
    assert len(test) == 16 and len(train) == 85
    assert sorted(np.concatenate([train, test])) == list(range(101))


def test_best_at_equal_cost_ranks_by_a_whole_spectrum_key():
    grid = [
        {**_candidate(1, 1, 1.0, 0.1), "whole": {"worst_median": 0.9}},
        {**_candidate(4, 1, 2.0, 0.5), "whole": {"worst_median": 0.2}},
    ]
    assert bench_sizes.best_at_equal_cost(grid, 2.0) == grid[0]
    best = bench_sizes.best_at_equal_cost(grid, 2.0, key="whole/worst_median")
    assert best == grid[1]


def test_whole_spectrum_is_exact_for_exact_spectra_and_sees_a_wrong_tail():
    scales = np.random.default_rng(0).random((50, 1)) + 0.5
    S = scales * np.array([32.0, 16.0, 8.0, 4.0, 2.0, 0.5])
    exact = bench_sizes.whole_spectrum(S, S)
    assert exact["worst_median"] == 0 and exact["sigma_min_median"] == 0
    assert exact["condition_within_5pct"] == 1
    assert set(exact) == set(bench_sizes.WHOLE_KEYS)
    P = S.copy()
    P[:, -1] *= 2  # the smallest value twice too large
    wrong = bench_sizes.whole_spectrum(S, P)
    assert wrong["worst_median_index"] == 6
    assert wrong["sigma_min_median"] == np.float64(1.0)
    assert wrong["condition_within_5pct"] == 0
