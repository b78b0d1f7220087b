# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark windowing speed and peak memory on a 20000 x 20000 float32 matrix.

Each case runs in a fresh subprocess, so that its peak resident memory
(``ru_maxrss``) is its own. Two measures of the memory used by the windowing
itself are reported:

* ``traced_peak_mb``: the peak of the bytes allocated during the call
  (``tracemalloc``, which numpy reports to), to compare with the output size;
* ``rss_increase_mb``: how much the process's peak resident memory grew during
  the call (the input already in memory before it).

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_windows.py

The results are written to ``benchmarks/results/bench_windows.json``. A case
needs about twice the matrix size in memory (3.3 GB for the defaults).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown  # noqa: E402
from _meta import run_metadata  # noqa: E402

CASES = {
    "stride32": dict(strides=(32, 32)),
    "random100k": dict(strides=(1, 1), max_windows=100_000, random_state=0),
}
MB = 2**20


def _maxrss_mb():
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def run_case(name, size, window):
    from svlearn import extract_windows, n_windows

    kwargs = CASES[name]
    X = np.random.default_rng(0).random((size, size), dtype=np.float32)
    window_shape = (window, window)
    n_possible = int(n_windows(X, window_shape, strides=kwargs["strides"])[0])

    rss_before = _maxrss_mb()
    start = time.perf_counter()
    out = extract_windows(X, window_shape, **kwargs)
    seconds = time.perf_counter() - start
    rss_increase = _maxrss_mb() - rss_before
    output_mb = out.nbytes / MB
    n_out = len(out)
    del out

    tracemalloc.start()
    out = extract_windows(X, window_shape, **kwargs)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out

    return {
        "case": name,
        "matrix_shape": [size, size],
        "dtype": "float32",
        "window_shape": list(window_shape),
        **{k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "n_possible_windows": n_possible,
        "n_windows": n_out,
        "seconds": round(seconds, 3),
        "windows_per_s": round(n_out / seconds),
        "input_mb": round(X.nbytes / MB, 1),
        "output_mb": round(output_mb, 1),
        "traced_peak_mb": round(traced_peak / MB, 1),
        "traced_overhead_mb": round(traced_peak / MB - output_mb, 1),
        "rss_increase_mb": round(rss_increase, 1),
        "peak_rss_mb": round(_maxrss_mb(), 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument(
        "--output", default=str(Path(__file__).parent / "results/bench_windows.json")
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.size, args.window)))
        return

    results = []
    for name in CASES:
        command = [sys.executable, __file__, "--case", name]
        command += ["--size", str(args.size), "--window", str(args.window)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    report = {"meta": run_metadata(sys.argv), "results": results}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")

    print("\n" + tables(report)["results"])


# How the docs name each case.
CASE_LABELS = {
    "stride32": "stride 32 (every window)",
    "random100k": "stride 1, `max_windows=100_000`",
}


def tables(result):
    """The Markdown table of a result: speed and memory per case."""
    rows = [
        [
            CASE_LABELS.get(r["case"], r["case"]),
            f"{r['n_windows']:,}",
            f"{r['windows_per_s']:,}",
            f"{r['output_mb']:,}",
            f"{r['traced_peak_mb']:,}",
            f"{r['rss_increase_mb']:,}",
        ]
        for r in result["results"]
    ]
    header = ["case", "windows", "windows/s", "output MB", "traced peak MB"]
    return {"results": markdown([*header, "RSS increase MB"], rows)}


if __name__ == "__main__":
    main()
