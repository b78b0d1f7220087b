# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Spectra of the 32 x 32 windows of a large lazily generated array, on Dask.

A ``SingularValueRegressor(max_iter=3)`` is trained on the embedded sample
windows (``svlearn.datasets.load_sample_windows``). A ``size x size`` float32
array is generated lazily, chunk by chunk, by ``dask.array.random`` and never
exists in one piece; ``svlearn.dask.spectral_map`` turns it into the spectra of
its windows (stride 32 by default) on a ``distributed.LocalCluster`` with
``--workers`` single-threaded worker processes. Progress is shown by
``distributed.progress``.

Measured:

* the cluster run: seconds and windows per second, from submitting the graph
  to having the whole map back in the client, generation of the data
  included; and, separately, the seconds the cluster takes to generate the
  array alone (``A.sum()``), so that the prediction share can be read off;
* peak resident memory of each worker process (``ru_maxrss``) before and after
  the run (the "before" value is its start-up and model-loading peak);
* the in-memory reference on a part that fits: one ``--part x --part`` block
  of the same array in this process (one torch thread), windowed by
  ``MatrixWindowTransformer`` and predicted by ``predict`` (best of three),
  and the largest difference between the two on that part.

The default is 40,000 x 40,000 (6.4 GB, 1.56 M windows at stride 32); it
takes under a minute on 2 cores, and about 1.2 GB per worker process. Use
``--size`` for a smaller or larger array. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale_out.py

The results are written to ``benchmarks/results/bench_scale_out.json``
(``--out`` to change).
"""

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _format import markdown  # noqa: E402

MB = 2**20


def _maxrss_mb():
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _train(window, seed):
    from svlearn import SingularValueRegressor
    from svlearn.datasets import load_sample_windows

    data = load_sample_windows(window_shape=(window, window))
    start = time.perf_counter()
    reg = SingularValueRegressor(max_iter=3, random_state=seed).fit(data.X_train)
    return reg, time.perf_counter() - start, len(data.X_train)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=40000, help="rows = columns")
    parser.add_argument("--chunk", type=int, default=4096, help="chunk side")
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--part", type=int, default=8192, help="in-memory part side")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "bench_scale_out.json"),
    )
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import distributed
    import torch

    import svlearn
    import svlearn.dask
    from svlearn import MatrixWindowTransformer

    torch.set_num_threads(1)
    load_before = round(os.getloadavg()[0], 2)
    reg, train_s, n_train = _train(args.window, seed=0)
    shape = (args.size, args.size)
    A = da.random.default_rng(0).random(shape, dtype=np.float32, chunks=args.chunk)
    window, stride = (args.window,) * 2, (args.stride,) * 2
    S = svlearn.dask.spectral_map(reg, A, window_shape=window, strides=stride)
    n_windows = S.shape[0] * S.shape[1]
    print(
        f"{shape[0]} x {shape[1]} float32 ({A.nbytes / 2**30:.2f} GiB, "
        f"{A.numblocks[0] * A.numblocks[1]} chunks of {args.chunk}^2): "
        f"{n_windows:,} windows, {S.numblocks[0] * S.numblocks[1]} map blocks"
    )

    with (
        distributed.LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=0,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)
        # Warm-up on a small map: workers import torch and svlearn and unpickle
        # the model once, outside the timed runs.
        small = svlearn.dask.spectral_map(
            reg, A[: 2 * args.window, : 2 * args.window], window_shape=window
        )
        client.compute(small).result()
        rss_before = client.run(_maxrss_mb)

        start = time.perf_counter()
        client.compute(A.sum()).result()
        generate_s = time.perf_counter() - start

        start = time.perf_counter()
        future = client.compute(S)
        distributed.progress(future)
        print()
        spectra = future.result()
        cluster_s = time.perf_counter() - start
        rss_after = client.run(_maxrss_mb)

    # In-memory reference: one part of the same array, in this process.
    part = min(args.part, args.size)
    X = A[:part, :part].compute(scheduler="sync")
    windower = MatrixWindowTransformer(window_shape=window, strides=stride)
    memory_s = np.inf
    for _ in range(3):  # best of three: the machine is shared
        start = time.perf_counter()
        in_memory = reg.predict(windower.transform(X))
        memory_s = min(memory_s, time.perf_counter() - start)
    n_part = (part - args.window) // args.stride + 1  # windows per side
    on_cluster = spectra[:n_part, :n_part].reshape(-1, spectra.shape[-1])
    max_rel_diff = float(
        np.max(np.abs(on_cluster - in_memory) / np.maximum(in_memory, 1e-30))
    )

    result = {
        "command": " ".join(
            [
                "OMP_NUM_THREADS=1 python benchmarks/bench_scale_out.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "svlearn": svlearn.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        # Other work on the machine slows the workers: keep the load on record.
        "load_average_1min_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "model": "SingularValueRegressor(max_iter=3, random_state=0)",
        "train_windows": n_train,
        "train_seconds": round(train_s, 2),
        "array_shape": list(shape),
        "dtype": "float32",
        "array_gib": round(A.nbytes / 2**30, 2),
        "chunk": args.chunk,
        "window_shape": list(window),
        "strides": list(stride),
        "n_windows": n_windows,
        "n_map_blocks": S.numblocks[0] * S.numblocks[1],
        "workers": args.workers,
        "threads_per_worker": 1,
        "generate_only_seconds": round(generate_s, 2),
        "cluster_seconds": round(cluster_s, 2),
        "cluster_windows_per_s": round(n_windows / cluster_s),
        "worker_peak_rss_mb_before": [round(v) for v in rss_before.values()],
        "worker_peak_rss_mb_after": [round(v) for v in rss_after.values()],
        "result_mb": round(spectra.nbytes / MB, 1),
        "in_memory_part": [part, part],
        "in_memory_windows": len(in_memory),
        "in_memory_seconds": round(memory_s, 3),
        "in_memory_windows_per_s": round(len(in_memory) / memory_s),
        "max_relative_difference_on_part": max_rel_diff,
    }
    rows_out = [
        ("windows", f"{n_windows:,}"),
        ("array", f"{shape[0]} x {shape[1]} float32, {result['array_gib']} GiB"),
        ("cluster total (generate + window + predict)", f"{cluster_s:.1f} s"),
        ("  of which generating the array alone", f"{generate_s:.1f} s"),
        ("cluster throughput", f"{result['cluster_windows_per_s']:,} windows/s"),
        (
            f"in-memory predict, {part} x {part} part, 1 process",
            f"{result['in_memory_windows_per_s']:,} windows/s",
        ),
        (
            "worker peak RSS before -> after (MiB)",
            ", ".join(
                f"{round(a)} -> {round(b)}"
                for a, b in zip(rss_before.values(), rss_after.values())
            ),
        ),
        ("max relative difference, cluster vs in-memory", f"{max_rel_diff:.2e}"),
    ]
    width = max(len(k) for k, _ in rows_out)
    for key, value in rows_out:
        print(f"{key:<{width}}  {value}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def tables(result):
    """The Markdown table of a result: the cluster against in-memory predict."""
    r = result
    before, after = r["worker_peak_rss_mb_before"], r["worker_peak_rss_mb_after"]
    peaks = " and ".join(f"{b:,} -> {a:,} MiB" for b, a in zip(before, after))
    diff = r["max_relative_difference_on_part"]
    rows = [
        ["windows", f"{r['n_windows']:,} ({r['n_map_blocks']} tasks)"],
        [
            "cluster, generate + window + predict + gather",
            f"{r['cluster_seconds']:.1f} s, "
            f"{r['cluster_windows_per_s']:,.0f} windows/s",
        ],
        ["of which generating the array alone", f"{r['generate_only_seconds']} s"],
        [
            "in-memory `MatrixWindowTransformer` + `predict`, one "
            f"{r['in_memory_part'][0]:,}² part, 1 process",
            f"{r['in_memory_windows_per_s']:,.0f} windows/s",
        ],
        ["worker peak resident memory, before -> after", peaks],
        ["spectra gathered in the client", f"{r['result_mb']} MiB"],
        [
            "largest difference on the in-memory part",
            "0 (bit-identical)" if diff == 0 else f"{diff:.2g}",
        ],
    ]
    return {"results": markdown(["measure", "value"], rows, "ll")}


if __name__ == "__main__":
    main()
