# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The GPU benchmark's dry run, its case budget, targets and tables (bench_gpu)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_gpu  # noqa: E402

TABLES = ("device", "summary", "timings", "transfer", "accuracy", "fit", "targets")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """The dry run in a fresh process, on a tiny CIFAR-format file: (rc, JSON)."""
    folder = tmp_path_factory.mktemp("bench_gpu")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (700, 32, 32), dtype=np.uint8)
    np.savez(folder / "cifar10_gray_train.npz", X=images, y=np.zeros(700, np.int8))
    out = folder / "result.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.update(MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"), "--dry-run"]
        + ["--out", str(out), "--data-dir", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr[-3000:]
    return done, json.loads(out.read_text())


def test_dry_run_records_every_planned_case(dry_run):
    _, result = dry_run
    assert result["dry_run"] is True and result["device"]["type"] == "cpu"
    planned = bench_gpu.planned_cases(result["settings"])
    recorded = [
        (c["size"], c["batch"], c["route"], c["config"]) for c in result["cases"]
    ]
    assert sorted(recorded, key=str) == sorted(planned, key=str)
    for case in result["cases"]:
        if case["status"] == "ok":
            assert case["repeats"] >= bench_gpu.MIN_REPEATS
            assert case["median_s"] > 0 and case["x_floor"] > 0
        else:
            assert case["status"] == "skipped" and case["reason"]
    # The largest 16x16 batch is over the dry run's input limit.
    skipped = {(c["size"], c["batch"]) for c in result["cases"] if c["status"] != "ok"}
    assert skipped == {(16, 1_500)}
    assert "bench_gpu.py --dry-run" in result["meta"]["command"]


def test_dry_run_checks_accuracy_and_fits_on_both_devices(dry_run):
    _, result = dry_run
    settings = result["settings"]
    assert {(row["size"], row["config"]) for row in result["accuracy"]} == {
        (size, name) for size in settings["sizes"] for name in settings["configs"]
    }
    for row in result["accuracy"]:
        # The dry run's "device" is the CPU: the same route gives the same bits.
        assert row["max_dev_rel_sigma1"] == 0 and row["equal_within_rounding"]
        assert row["max_dev_rel_sigma1_small_batch"] <= bench_gpu.ROUNDING
        assert 0 < row["nmse_device"] < 0.01
    fit = result["fit"]
    assert fit["status"] == "ok" and fit["n_matrices"] == settings["fit_matrices"]
    assert fit["device"]["epochs"] == fit["cpu"]["epochs"] == 1
    assert fit["device"]["best_loss"] == fit["cpu"]["best_loss"]


def test_dry_run_tables_render_and_targets_have_their_keys(dry_run):
    done, result = dry_run
    rendered = bench_gpu.tables(result)
    assert set(rendered) == set(TABLES)
    for name, table in rendered.items():
        lines = table.splitlines()
        assert len(lines) >= 3 and set(lines[1]) <= set("|-: "), name
        # Every row has the header's number of columns (no stray pipes).
        assert len({line.count("|") for line in lines}) == 1, name
        assert f"## {name}" in done.stdout
    assert "exceeds --max-input-gb" in rendered["timings"]
    rows = bench_gpu.targets(result)
    assert rows == result["targets"]
    assert all(set(row) == {"name", "value", "target", "met"} for row in rows)
    accuracy = rows[-1]
    assert accuracy["value"] == 0 and accuracy["met"] is True


def _case(size, batch, route, config, median_s):
    return {
        "size": size,
        "batch": batch,
        "route": route,
        "config": config,
        "status": "ok",
        "median_s": median_s,
        "matrices_per_s": batch / median_s,
    }


def test_targets_compare_like_with_like_and_extrapolate_only_svdvals():
    class Args:
        repeats, case_budget_s, budget_s, max_input_gb = 5, 4.0, 240.0, 20.0
        bandwidth, sizes, batches = 4.8e12, [32, 64], [1_000, 100_000]
        fit_reserve_s = 100.0

    run = bench_gpu.settings(Args, dry_run=False)
    cases = [
        _case(32, 100_000, "predict", "k4_q1", 0.02),
        _case(32, 100_000, "svdvals_host", None, 0.3),  # 15x: met
        _case(32, 100_000, "module", "k4_q1", 0.005),  # 2e7 matrices/s
        _case(32, 100_000, "svdvals", None, 0.04),  # 8x: not met
        _case(64, 100_000, "module", "k4_q1", 0.01),
        _case(64, 1_000, "svdvals", None, 0.2),  # 20 s at 1e5: 2000x
    ]
    result = {"settings": run, "cases": cases, "accuracy": []}
    rows = {row["name"]: row for row in bench_gpu.targets(result)}

    def find(*words):
        (name,) = [n for n in rows if all(w in n for w in words)]
        return rows[name]

    assert find("predict", "32x32", "svdvals")["value"] == pytest.approx(15)
    assert find("predict", "32x32", "svdvals")["met"] is True
    assert find("module", "32x32", "svdvals")["met"] is False
    extrapolated = find("module", "64x64", "svdvals")
    assert extrapolated["value"] == pytest.approx(2000)
    assert "extrapolated from 1,000" in extrapolated["name"]
    # Nothing measured: neither met nor failed.
    assert find("predict", "64x64")["met"] is None
    assert find("module on device:", "matrices/s")["met"] is True
    assert find("predict from host numpy:", "matrices/s")["met"] is False
    assert find("CUDA equals the CPU")["met"] is None


def test_case_budget_repeats_runs_once_or_skips():
    class Args:
        repeats, case_budget_s, budget_s, max_input_gb = 5, 4.0, 100.0, 20.0
        bandwidth, sizes, batches = 4.8e12, None, None
        fit_reserve_s = 100.0

    clock = bench_gpu.Clock(bench_gpu.settings(Args, dry_run=False))
    assert clock.plan(0.5, "probe") == ("repeat", None)
    mode, note = clock.plan(2.0, "from batch 1,000")
    assert mode == "single" and "one run" in note
    mode, reason = clock.plan(5.0, "from batch 1,000")
    assert mode == "skip" and "exceeds --case-budget-s 4" in reason
    clock.deadline = clock.start  # the run's budget is spent
    mode, reason = clock.plan(0.5, "probe")
    assert mode == "skip" and "--budget-s exhausted" in reason


def test_dry_run_never_writes_the_committed_results(tmp_path):
    committed = bench_gpu.COMMITTED
    assert bench_gpu.output_path(None, dry_run=True) != committed
    assert bench_gpu.output_path(str(committed), dry_run=True) != committed
    assert bench_gpu.output_path(None, dry_run=False) == committed
    mine = tmp_path / "x.json"
    assert bench_gpu.output_path(str(mine), dry_run=True) == mine


def test_without_cuda_the_script_runs_the_dry_run(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(
        bench_gpu,
        "run_benchmark",
        lambda args, dry_run, out: calls.append((dry_run, out)) or {},
    )
    monkeypatch.setattr(bench_gpu, "tables", lambda result: {})
    assert bench_gpu.main([]) == 0
    assert "CUDA is unavailable" in capsys.readouterr().out
    ((dry, out),) = calls
    assert dry is True and out != bench_gpu.COMMITTED


def test_tables_show_failed_cases_and_a_skipped_fit(dry_run):
    import copy

    _, result = dry_run
    result = copy.deepcopy(result)
    case = next(c for c in result["cases"] if c["route"] == "svdvals")
    for key in ("median_s", "times_s", "us_per_matrix", "matrices_per_s"):
        case.pop(key)
    case.update(status="oom", reason="CUDA out of memory.")
    result["fit"] = {"status": "skipped", "reason": "no cifar10_gray_train.npz"}
    bench_gpu.derive(result)
    rendered = bench_gpu.tables(result)
    assert "oom: CUDA out of memory." in rendered["timings"]
    assert "no cifar10_gray_train.npz" in rendered["fit"]
    # The speed-ups over svdvals at that case's size and batch are gone.
    size, batch = case["size"], case["batch"]
    stale = [
        c
        for c in result["cases"]
        if (c["size"], c["batch"]) == (size, batch) and "speedup_svdvals" in c
    ]
    assert stale == []
