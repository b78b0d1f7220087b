# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Predict on arrays larger than comfortable: memory and speed, streamed.

``SingularValueRegressor.predict`` works through its input in chunks of 4,096
matrices, so a memmap streams from disk and a float64 array is converted chunk
by chunk. This benchmark predicts on 200,000 CIFAR-10 matrices (the 50,000
training images, four times) as float32 and float64, in memory and as
``np.memmap`` files, each case in a fresh process, and records the growth of
anonymous resident memory during ``predict`` (the output included, the
memmap's file pages not), and
the time per matrix against in-memory float32.

    python benchmarks/bench_streaming.py --data-dir ../shared/data

Writes benchmarks/results/bench_streaming.json (``--quick``: 20,000 matrices).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown  # noqa: E402
from _meta import run_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = [("float32", "memory"), ("float32", "memmap"), ("float64", "memory"),
         ("float64", "memmap")]  # fmt: skip


def _anon_mb():
    """Anonymous resident memory (heap, not file pages such as a memmap's)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


class _AnonPeak(threading.Thread):
    """Samples anonymous resident memory every 5 ms until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = _anon_mb()
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, _anon_mb())
            time.sleep(0.005)

    def stop(self):
        self._done.set()
        self.join()
        self.peak = max(self.peak, _anon_mb())


def _child(model_path, data_path, dtype, where, repeats):
    """One case in this (fresh) process; prints a JSON line."""
    import svlearn

    model = svlearn.load(model_path)
    mode = "r" if where == "memmap" else None
    X = np.load(data_path, mmap_mode=mode)
    if where == "memory":
        X = np.ascontiguousarray(X, dtype=dtype)
    model.predict(X[:8192])  # warm-up: allocator pools, caches
    before = _anon_mb()
    sampler = _AnonPeak()
    sampler.start()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        out = model.predict(X)
        best = min(best, time.perf_counter() - start)
        del out
    sampler.stop()
    out = model.predict(X[:1])
    growth = sampler.peak - before
    print(
        json.dumps(
            {
                "dtype": dtype,
                "where": where,
                "n_matrices": len(X),
                "input_mb": X.size * X.dtype.itemsize / 2**20,
                "output_mb": len(X) * out.shape[1] * 8 / 2**20,
                "us_per_matrix": 1e6 * best / len(X),
                # Peak growth of anonymous resident memory during predict
                # (the output included; a memmap's file pages excluded).
                "peak_growth_mb": growth,
            }
        )
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "bench_streaming.json")
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(*args.child, repeats=args.repeats)

    import svlearn
    from svlearn import SingularValueRegressor

    images = np.load(Path(args.data_dir) / "cifar10_gray_train.npz")["X"]
    images = images.reshape(len(images), -1)
    copies = 1 if args.quick else 4
    n = len(images) * copies if not args.quick else 20_000
    model = SingularValueRegressor(max_iter=3, random_state=0).fit(
        images[:5000].astype(np.float32)
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "model.svl"
        svlearn.save(model, model_path)
        for dtype in ("float32", "float64"):
            path = Path(tmp) / f"X_{dtype}.npy"
            X = np.lib.format.open_memmap(path, "w+", dtype=dtype, shape=(n, 1024))
            for start in range(0, n, len(images)):
                stop = min(n, start + len(images))
                X[start:stop] = images[: stop - start]
            X.flush()
            del X
            for case_dtype, where in CASES:
                if case_dtype != dtype:
                    continue
                done = subprocess.run(
                    [sys.executable, __file__, "--repeats", str(args.repeats),
                     "--child", str(model_path), str(path), dtype, where],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(
                    f"{dtype:>8} {where:>7}: {row['us_per_matrix']:6.2f} us/matrix, "
                    f"peak growth {row['peak_growth_mb']:8.1f} MB "
                    f"(input {row['input_mb']:.0f} MB, output "
                    f"{row['output_mb']:.1f} MB)",
                    flush=True,
                )
            path.unlink()
    reference = next(
        r for r in rows if r["dtype"] == "float32" and r["where"] == "memory"
    )
    for row in rows:
        row["time_vs_float32_in_memory"] = (
            row["us_per_matrix"] / reference["us_per_matrix"]
        )
    result = {
        "meta": run_metadata([__file__, *argv]),
        "load_average": os.getloadavg()[0],
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


def tables(result):
    """The Markdown table of a result: speed and peak extra memory per case."""
    rows = [
        [
            row["dtype"],
            row["where"],
            f"{row['n_matrices']:,}",
            f"{row['input_mb']:,.0f}",
            f"{row['us_per_matrix']:.2f}",
            f"{row['time_vs_float32_in_memory']:.2f}",
            f"{row['peak_growth_mb']:,.1f}",
            f"{row['output_mb']:,.1f}",
        ]
        for row in result["rows"]
    ]
    header = ["dtype", "input", "matrices", "input MB", "µs/matrix"]
    header += ["time vs float32 in memory", "peak extra MB", "of which output MB"]
    return {"rows": markdown(header, rows, "ll" + "r" * 6)}


if __name__ == "__main__":
    main()
