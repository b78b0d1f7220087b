# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The cheap numerical routes and error summaries of bench_quantities."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_quantities as bench  # noqa: E402


def _planted(s, seed=0):
    rng = np.random.default_rng(seed)
    n = len(s)
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (U * s) @ V.T


def test_power_iteration_finds_sigma_1_of_a_well_separated_spectrum():
    A = np.stack([_planted(np.array([5.0, 1.0, 0.5, 0.1]), seed) for seed in range(3)])
    np.testing.assert_allclose(bench.power_norm(A), 5.0, rtol=1e-10)
    # Few steps on two close values stay below sigma_1: a lower bound.
    close = _planted(np.array([5.0, 4.9, 0.5, 0.1]))[None]
    assert bench.power_norm(close, steps=2)[0] <= 5.0 + 1e-12


def test_lu_and_gram_routes_are_exact_on_planted_spectra():
    s = np.array([4.0, 2.0, 1.0, 0.25])
    A = _planted(s)[None]
    assert bench.lu_log_det(A)[0] == pytest.approx(np.log(s).sum())
    assert bench.gram_schatten4(A)[0] == pytest.approx((s**4).sum() ** 0.25)


def test_gecon_estimates_the_one_norm_condition_number():
    A = np.diag([4.0, 2.0, 0.5])[None]
    # A diagonal matrix's 1-norm condition number is max |d| / min |d|.
    assert bench.gecon_condition(A)[0] == pytest.approx(8.0)
    assert bench.gecon_condition(np.zeros((1, 3, 3)))[0] == np.inf


def test_error_summaries_of_hand_made_estimates():
    truth, estimate = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.2, 4.0])
    row = bench.errors("value", truth, estimate, 3)
    assert row["median_rel"] == 0.0 and row["within_5pct"] == pytest.approx(2 / 3)
    ranks = bench.errors("rank", np.array([3, 3, 3]), np.array([3, 4, 1]), 3)
    assert ranks == {"exact": pytest.approx(1 / 3), "within_1": pytest.approx(2 / 3)}
    logs = bench.errors("log", np.array([0.0, -np.inf]), np.array([0.3, 1.0]), 3)
    assert logs["median_abs_per_value"] == pytest.approx(0.1)
    assert logs["finite_share"] == 0.5
    # Two singular matrices: both condition numbers infinite is no error.
    inf = bench.errors("value", np.array([np.inf]), np.array([np.inf]), 3)
    assert inf["median_rel"] == 0.0
