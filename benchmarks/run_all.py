# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Run every benchmark, then render the numbers in README.md and docs/*.md.

One command regenerates every number in the documentation::

    python benchmarks/run_all.py                 # full runs (tens of minutes)
    python benchmarks/run_all.py --quick         # smoke runs, a few minutes
    python benchmarks/run_all.py --render-only   # rewrite the docs from the JSON
    python benchmarks/run_all.py --check         # fail if a doc is out of date
    python benchmarks/run_all.py --reproduce     # also the runs of docs/results.md

Full runs write ``benchmarks/results/<name>.json`` (each with its commit,
environment and command under ``"meta"``) and then rewrite the marked tables
and values of the docs (``benchmarks/_render.py``; each table is built by the
``tables`` function of the benchmark that wrote the JSON). ``--quick`` runs small
versions into ``benchmarks/results/quick/`` (not committed) and renders the
docs in memory against them, to prove that every marker still resolves,
without touching the docs. ``--only`` restricts the runs to some benchmarks.
``--reproduce`` also re-runs the three ``svlearn reproduce`` experiments whose
reports (``docs/results/<run>/report.json``) feed ``docs/results.md``, about
half an hour more on 2 cores.
Data sets are read from ``--data-dir`` (default ``../shared/data``: CIFAR-10
gray ``cifar10_gray_train.npz`` and ``spambase.data``).
"""

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import _render  # noqa: E402

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ONE_THREAD["OPENBLAS_NUM_THREADS"] = "1"


@dataclass
class Benchmark:
    """How to run one benchmark script in full and in quick mode.

    ``full`` and ``quick`` are argument lists in which ``{data}`` stands for
    the data folder and ``{quick}`` for the folder of the results;
    ``quick=None`` means the script cannot run quickly without overwriting
    committed results. ``out`` is the option that sets its
    JSON path (None if the script writes fixed paths). ``program`` replaces
    ``benchmarks/<name>.py`` (e.g. ``-m svlearn reproduce``), and ``target``
    the default output path.
    """

    name: str
    full: list
    quick: list | None
    out: str | None = "--out"
    env: dict = field(default_factory=dict)
    program: list | None = None
    target: Path | None = None

    def command(self, args, results):
        argv = [sys.executable, *(self.program or [str(HERE / f"{self.name}.py")])]
        chosen = self.quick if args.quick else self.full
        argv += [a.format(data=args.data_dir, quick=results) for a in chosen]
        if self.out:
            argv += [self.out, str(self.target or results / f"{self.name}.json")]
        return argv


def _reproduce(run, *argv):
    # The svlearn reproduce runs behind docs/results.md (docs/results/<run>/).
    return Benchmark(
        f"reproduce:{run}",
        list(argv),
        None,
        program=["-m", "svlearn", "reproduce"],
        target=ROOT / "docs" / "results" / run,
    )


BENCHMARKS = [
    Benchmark("bench_windows", [], ["--size", "2000"], "--output", ONE_THREAD),
    Benchmark(
        "bench_svdlight",
        ["--data", "{data}/cifar10_gray_train.npz"],
        ["--quick", "--data", "{data}/cifar10_gray_train.npz"],
        env=ONE_THREAD,
    ),
    # One thread: on a 2-core machine shared with other jobs, two OpenMP
    # threads per process can slow torch down many times over.
    Benchmark(
        "bench_performance",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # The full run also redraws docs/figures/accuracy_vs_throughput.png; the
    # quick run draws its figure next to its JSON, never into the docs.
    Benchmark(
        "bench_ablation",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}", "--figure", "{quick}/ablation.png"],
        env=ONE_THREAD,
    ),
    # The accuracy-speed frontier (about half an hour: 36 trainings); the full
    # run also redraws docs/figures/frontier.png, the quick run beside its JSON.
    Benchmark(
        "bench_frontier",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # predict's fixed cost at batches 1 to 256.
    Benchmark(
        "bench_small_batch",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # The default across matrix sizes (about 17 minutes, 7 GB at 256 x 256).
    Benchmark(
        "bench_sizes",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    Benchmark(
        "bench_invariance",
        ["--data-dir", "{data}"],
        ["--data-dir", "{data}", "--quick"],
        env=ONE_THREAD,
    ),
    # About a minute on two worker processes; the quick run is a 4,096² array.
    Benchmark(
        "bench_scale_out",
        [],
        ["--size", "4096", "--chunk", "1024", "--part", "1024"],
        env=ONE_THREAD,
    ),
    Benchmark(
        "bench_streaming",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    Benchmark(
        "bench_shift",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # What the first tier's diagnostics can tell max_error (about 3 minutes;
    # one model, the default of bench_shift): no quick variant.
    Benchmark("bench_trust", ["--data-dir", "{data}"], None, env=ONE_THREAD),
    # The shipped pretrained models (svlearn/_pretrained_files/, rebuilt only by
    # benchmarks/build_pretrained.py): accuracy per family, load time, size.
    Benchmark(
        "bench_pretrained",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # Every index and the quantities read off a spectrum, for the default and
    # the "ends" head (about 30 minutes on 2 cores: eight trainings with
    # Spambase's, twelve with the class shift).
    Benchmark(
        "bench_whole_spectrum",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # Quantities read off predicted spectra against the cheap numerical routes
    # (power iteration, LU, LAPACK's condition estimate; about 5 minutes).
    Benchmark(
        "bench_quantities",
        ["--data-dir", "{data}"],
        ["--quick", "--data-dir", "{data}"],
        env=ONE_THREAD,
    ),
    # Throughput on one CUDA device against cuSOLVER (under 5 minutes there).
    # Without CUDA the full run is a dry run on the CPU, which never writes
    # the committed JSON.
    Benchmark(
        "bench_gpu", ["--data-dir", "{data}"], ["--dry-run", "--data-dir", "{data}"]
    ),
]
# The paper's experiment on real data (docs/results.md), about half an hour
# on 2 cores: run only with --reproduce.
REPRODUCE = [
    _reproduce(
        "cifar10", "--dataset", "{data}/cifar10_gray_train.npz", "--test-size", "10000"
    ),
    _reproduce(
        "spambase", "--dataset", "spambase", "--data-home", "{data}", "--no-download"
    ),
    _reproduce("sample_images"),
]


def run(benchmarks, args, results):
    failed = []
    for bench in benchmarks:
        if args.quick and bench.quick is None:
            print(f"[{bench.name}] skipped in --quick mode (no quick variant)")
            continue
        argv = bench.command(args, results)
        print(f"[{bench.name}] {' '.join(argv[1:])}", flush=True)
        start = time.perf_counter()
        env = {**os.environ, **bench.env}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        done = subprocess.run(argv, cwd=ROOT, env=env)
        seconds = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
        print(f"[{bench.name}] {status} in {seconds:.0f} s", flush=True)
        if done.returncode:
            failed.append(bench.name)
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small smoke runs")
    mode.add_argument("--render-only", action="store_true", help="run nothing")
    mode.add_argument(
        "--check",
        action="store_true",
        help="run nothing; exit 1 if a doc differs from its JSON",
    )
    parser.add_argument(
        "--reproduce",
        action="store_true",
        help="also re-run the svlearn reproduce runs behind docs/results.md",
    )
    parser.add_argument(
        "--only", nargs="+", choices=[b.name for b in BENCHMARKS + REPRODUCE]
    )
    parser.add_argument(
        "--quick-dir",
        default=str(_render.RESULTS / "quick"),
        help="where --quick writes its JSON (default benchmarks/results/quick)",
    )
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args(argv)

    if args.check:
        stale = _render.render_files(check=True)
        for path in stale:
            print(f"out of date with its JSON: {path.relative_to(ROOT)}")
        return 1 if stale else 0

    results = Path(args.quick_dir) if args.quick else _render.RESULTS
    results.mkdir(parents=True, exist_ok=True)
    failed = []
    if not args.render_only:
        candidates = BENCHMARKS + (REPRODUCE if args.reproduce or args.only else [])
        chosen = [b for b in candidates if not args.only or b.name in args.only]
        failed = run(chosen, args, results)

    if args.quick:
        # Render in memory only: quick numbers never reach the docs.
        for path in _render.documents():
            _render.render_text(
                path.read_text(), [results, _render.RESULTS], where=str(path)
            )
        print(f"quick results in {results}; every marker in the docs resolves")
    else:
        for path in _render.render_files():
            print(f"rendered {path.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
