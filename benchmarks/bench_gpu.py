# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""GPU benchmark: predict, exact routes, transfers, fit and accuracy on CUDA.

One prepared run (under 5 minutes on one GPU) that writes
benchmarks/results/bench_gpu.json (``--out``) with the run's provenance under
``"meta"``, the GPU, torch and CUDA versions::

    python benchmarks/bench_gpu.py --data-dir ../shared/data
    python benchmarks/bench_gpu.py --dry-run --out /tmp/bench_gpu.json

What it measures, float32, on one CUDA device:

- ``predict``: ``SingularValueRegressor.predict`` on a float32 numpy array in
  host memory, as users call it: validation on the host, then chunks of
  ``PREDICT_CHUNK`` (1024) matrices copied to the device, run through the
  module and copied back as float64;
- ``module``: the fitted ``SpectrumMLP.spectra`` called on a tensor that
  already lives on the device, the whole batch in one call (no validation, no
  range check, spectra left on the device); ``module_chunked``: the same in
  chunks of ``PREDICT_CHUNK``, which isolates what the chunking costs;
- the exact routes on the same device and batches: ``torch.linalg.svdvals``
  and ``torch.linalg.eigvalsh(A^T A)`` on device-resident input, and
  ``svdvals_host`` (numpy in host memory to spectra in host memory, the
  counterpart of ``predict``);
- transfers, separately: ``h2d`` (a float32 numpy batch to the device, from
  pageable memory as predict copies it) and ``d2h`` (float64 spectra back);
- ``fit`` of the default model on the 50,000 CIFAR-10 gray matrices
  (``cifar10_gray_train.npz`` in ``--data-dir``) on CUDA and on the CPU;
- accuracy on CUDA against the same weights on the CPU (largest deviation
  relative to the exact sigma_1, and the NMSE of each).

Sizes 32x32, 64x64 and 128x128; batches 1e3 to 1e6. The models are the
default (``n_components=4, n_iter=1``) and two frontier configurations of
benchmarks/bench_frontier.py (its fastest ``k=2, q=1`` and most accurate
``k=6, q=2``), trained on windows of scikit-learn's ``china.jpg`` and timed on
windows of ``flower.jpg`` repeated to the batch size. Device routes are timed
with CUDA events, host routes by the wall clock between two synchronisations;
each case gets a warm-up and then 3 to ``--repeats`` runs (median reported),
and its peak GPU memory (``torch.cuda.max_memory_allocated``, reset per case).
Each case's time per matrix is set beside the bandwidth floor, the time to
read the matrix once at ``--bandwidth`` bytes/s (4.8e12 for an H200).

Sizes that would not fit are skipped and recorded: inputs over
``--max-input-gb`` of host memory, or over the device's free memory. Each
case's time per call is first estimated from the same route at the previous
batch (or from a probe of 64 matrices): a case whose warm-up and 3 runs would
exceed ``--case-budget-s`` is timed once if one call fits (its record has a
``note``), else skipped, and so is every case left when ``--budget-s`` runs
out (batches of 1e6 come last, after the fit, for which ``--fit-reserve-s``
is kept back). Out-of-memory errors and other
failures are recorded per case. Targets whose svdvals time was skipped use its
time extrapolated linearly from the largest batch measured, and say so.

Without CUDA the script says so, runs ``--dry-run`` instead and exits 0: every
code path on the CPU with tiny sizes and a tiny fit, its JSON written to
``--out`` or a temporary folder, never over the committed results.
``tables(result)`` and ``targets(result)`` render the JSON for the docs.
"""

import argparse
import copy
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from svlearn import SingularValueRegressor, singular_values
from svlearn._numerics import PREDICT_CHUNK
from svlearn.datasets import load_sample_windows
from svlearn.metrics import nmse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import run_metadata  # noqa: E402

HERE = Path(__file__).resolve().parent
COMMITTED = HERE / "results" / "bench_gpu.json"
H200_BANDWIDTH = 4.8e12  # bytes/s, the H200's HBM3e by its datasheet
SIZES = (32, 64, 128)
BATCHES = (1_000, 10_000, 100_000, 1_000_000)
TARGET_BATCH = 100_000
# name -> (n_components, n_iter): bench_frontier's fastest learned point, the
# default, and its most accurate one.
CONFIGS = {"k2_q1": (2, 1), "k4_q1": (4, 1), "k6_q2": (6, 2)}
DEFAULT = "k4_q1"  # SingularValueRegressor()'s n_components=4, n_iter=1
# The targets at batch 1e5: speed-up of the default over svdvals by
# size (the smallest size gets the first), and matrices/s at the smallest.
SPEEDUP_TARGETS = (10.0, 30.0, 30.0)
RATE_TARGET = 1e7
# float32 rounding, as the invariance tests bound it: largest deviation of a
# singular value between two routes, relative to sigma_1.
ROUNDING = 1e-5
MIN_REPEATS = 3
PROBE = 64  # matrices of the probe that sizes a route's first batch
DEVICE_ROUTES = ("module", "module_chunked", "svdvals", "eigvalsh")
HOST_ROUTES = ("predict", "svdvals_host", "h2d", "d2h")
WINDOW_STRIDE = 8


def settings(args, dry_run):
    """What the run measures: the full GPU run, or the tiny CPU dry run."""
    if dry_run:
        # Every code path at tiny sizes: the 16x16 batch of 1,500 (1.5 MB)
        # exceeds the 1 MB input limit, so the skip path runs too.
        run = dict(
            device="cpu",
            sizes=[8, 16],
            batches=[64, 300, 1_500],
            target_batch=300,
            repeats=3,
            case_budget_s=5.0,
            budget_s=120.0,
            fit_reserve_s=30.0,
            max_input_bytes=1_000_000,
            train_windows=400,
            test_windows=300,
            model_max_iter=2,
            fit_matrices=600,
            fit_max_iter=1,
            # Too few matrices to calibrate error estimates (which would warn).
            model_params={"calibration_fraction": 0.0},
        )
    else:
        run = dict(
            device="cuda",
            sizes=list(SIZES),
            batches=list(BATCHES),
            target_batch=TARGET_BATCH,
            repeats=args.repeats,
            case_budget_s=args.case_budget_s,
            budget_s=args.budget_s,
            fit_reserve_s=args.fit_reserve_s,
            max_input_bytes=int(args.max_input_gb * 1e9),
            train_windows=None,  # every window of china.jpg
            test_windows=None,
            model_max_iter=None,  # the default, 30 epochs
            fit_matrices=50_000,
            fit_max_iter=None,
            model_params={},
        )
    if args.sizes:
        run["sizes"] = sorted(args.sizes)
    if args.batches:
        run["batches"] = sorted(args.batches)
    if run["target_batch"] not in run["batches"]:
        run["target_batch"] = run["batches"][min(2, len(run["batches"]) - 1)]
    run.update(
        dry_run=dry_run,
        dtype="float32",
        configs={name: list(kq) for name, kq in CONFIGS.items()},
        default=DEFAULT,
        predict_chunk=PREDICT_CHUNK,
        min_repeats=MIN_REPEATS,
        bandwidth_Bps=args.bandwidth,
        speedup_targets={
            str(size): SPEEDUP_TARGETS[min(i, len(SPEEDUP_TARGETS) - 1)]
            for i, size in enumerate(run["sizes"])
        },
        rate_target=RATE_TARGET,
        rounding=ROUNDING,
    )
    return run


def routes(run):
    """(route, config) of every timed route, config None for model-free ones."""
    out = [("module", name) for name in run["configs"]]
    out.append(("module_chunked", run["default"]))
    out += [("svdvals", None), ("eigvalsh", None)]
    out += [("predict", name) for name in run["configs"]]
    out += [("svdvals_host", None), ("h2d", None), ("d2h", None)]
    return out


def planned_cases(run):
    """(size, batch, route, config) of every case the run must record."""
    return [
        (size, batch, route, config)
        for batch in run["batches"]
        for size in run["sizes"]
        for route, config in routes(run)
    ]


def output_path(out, dry_run):
    """Where the JSON goes; a dry run never writes over the committed results."""
    if not dry_run:
        return Path(out) if out else COMMITTED
    if out and Path(out).resolve() != COMMITTED.resolve():
        return Path(out)
    return Path(tempfile.mkdtemp(prefix="bench_gpu_")) / "bench_gpu.json"


# -- environment ---------------------------------------------------------------
def _driver_version():
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 else None


def _copy_bandwidth(device):
    """Device-to-device copy rate, bytes read plus written per second."""
    x = torch.empty(2**29, dtype=torch.float32, device=device)  # 2 GiB
    y = torch.empty_like(x)
    times = []
    for _ in range(4):
        torch.cuda.synchronize()
        start, end = _events()
        start.record()
        y.copy_(x)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    del x, y
    torch.cuda.empty_cache()
    return 2 * 2**31 / statistics.median(times[1:])


def device_info(device):
    """The device, torch and CUDA versions, and the settings that set numerics."""
    info = {
        "type": device.type,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type != "cuda":
        info["name"] = "cpu (dry run)"
        return info
    props = torch.cuda.get_device_properties(device)
    info.update(
        name=torch.cuda.get_device_name(device),
        capability=f"{props.major}.{props.minor}",
        multiprocessors=props.multi_processor_count,
        total_memory_bytes=props.total_memory,
        driver=_driver_version(),
        cudnn=torch.backends.cudnn.version(),
        allow_tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
        preferred_linalg_library=str(torch.backends.cuda.preferred_linalg_library()),
        copy_bandwidth_Bps=_copy_bandwidth(device),
    )
    return info


# -- timing ------------------------------------------------------------------
def _events():
    return (
        torch.cuda.Event(enable_timing=True),
        torch.cuda.Event(enable_timing=True),
    )


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_once(fn, device, on_device):
    """Seconds of one call: CUDA events for device work, else the wall clock."""
    _sync(device)
    if on_device and device.type == "cuda":
        start, end = _events()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _memory_start(device):
    if device.type != "cuda":
        return None
    torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.memory_allocated(device)


def _memory_peak(device, base):
    if base is None:
        return {"peak_bytes": None, "peak_extra_bytes": None}
    peak = torch.cuda.max_memory_allocated(device)
    return {"peak_bytes": peak, "peak_extra_bytes": peak - base}


class Clock:
    """The run's deadline and the budget of each case."""

    def __init__(self, run):
        self.start = time.perf_counter()
        self.deadline = self.start + run["budget_s"]
        self.case_budget = run["case_budget_s"]
        self.repeats = max(run["repeats"], run["min_repeats"])
        self.min_repeats = run["min_repeats"]

    def left(self):
        return self.deadline - time.perf_counter()

    def plan(self, estimate, basis):
        """How to time a case estimated at ``estimate`` s per call.

        Returns ("repeat", None): a warm-up and 3 or more timed calls;
        ("single", note): one timed call, when only one fits the case budget
        (the probe or the previous batch ran the same kernels, so set-up is
        already paid); or ("skip", reason).
        """
        need = estimate * (1 + self.min_repeats)
        if need <= min(self.case_budget, self.left()):
            return "repeat", None
        if estimate <= min(self.case_budget, self.left()):
            return "single", (
                f"one run: {1 + self.min_repeats} calls of an estimated "
                f"{estimate:.3g} s ({basis}) exceed --case-budget-s "
                f"{self.case_budget:g}"
            )
        if estimate > self.case_budget:
            return "skip", (
                f"estimated {estimate:.3g} s per call ({basis}) exceeds "
                f"--case-budget-s {self.case_budget:g}"
            )
        return "skip", (
            f"--budget-s exhausted ({max(self.left(), 0):.0f} s left, "
            f"{estimate:.3g} s needed)"
        )

    def measure(self, fn, device, on_device, single=False):
        """Warm-up, then 3 to ``repeats`` timed calls within the case budget."""
        if single:
            return None, [_time_once(fn, device, on_device)]
        warm = _time_once(fn, device, on_device)
        room = min(self.case_budget, self.left()) - warm
        n = int(room // max(warm, 1e-9))
        n = max(self.min_repeats, min(self.repeats, n))
        times = [_time_once(fn, device, on_device) for _ in range(n)]
        return warm, times


# -- data and models -----------------------------------------------------------
def windows(size, run):
    """Training windows of china.jpg and test windows of flower.jpg, float32."""
    data = load_sample_windows(window_shape=size, strides=WINDOW_STRIDE)
    train, test = data.X_train, data.X_test
    if run["train_windows"]:
        train = train[: run["train_windows"]]
    if run["test_windows"]:
        test = test[: run["test_windows"]]
    return np.ascontiguousarray(train), np.ascontiguousarray(test)


def _max_iter(value):
    return {} if value is None else {"max_iter": value}


def fit_models(size, X_train, run, device):
    """The timed models of one size, fitted on the device; their fit records."""
    models, records = {}, {}
    # The exact targets once for all models (what fit computes for y=None).
    S_train = singular_values(X_train)
    for name, (k, q) in run["configs"].items():
        start = time.perf_counter()
        model = SingularValueRegressor(
            n_components=k,
            n_iter=q,
            device=str(device),
            random_state=0,
            **_max_iter(run["model_max_iter"]),
            **run["model_params"],
        ).fit(X_train, S_train)
        _sync(device)
        models[name] = model
        records[name] = {
            "fit_s": time.perf_counter() - start,
            "n_train": len(X_train),
            "n_iter": model.n_iter_,
            "best_loss": model.best_loss_,
        }
    return models, records


def on_cpu(model):
    """A copy of a fitted model whose weights live on the CPU."""
    cpu = copy.deepcopy(model)
    cpu.net_.module_.to("cpu")
    cpu.net_.device = "cpu"
    return cpu.set_params(device="cpu")


def _max_deviation(a, b, S):
    """Largest |a - b| of one singular value, relative to the exact sigma_1."""
    sigma1 = np.where(S[:, :1] > 0, S[:, :1], 1.0)
    return float((np.abs(a - b) / sigma1).max())


def accuracy(size, models, X_test, run):
    """Each model on its device against the same weights on the CPU."""
    S = singular_values(X_test)
    rows = []
    for name, model in models.items():
        cpu = on_cpu(model)
        device_pred = model.predict(X_test)
        # More than 256 matrices: the CPU's float32 torch route, as on CUDA.
        cpu_pred = cpu.predict(X_test)
        # At most 256: the CPU's float64 numpy route of small batches.
        small = min(len(X_test), 256)
        lean_pred = cpu.predict(X_test[:small])
        deviation = _max_deviation(device_pred, cpu_pred, S)
        rows.append(
            {
                "size": size,
                "config": name,
                "n_test": len(X_test),
                "nmse_device": float(nmse(S, device_pred)),
                "nmse_cpu": float(nmse(S, cpu_pred)),
                "max_dev_rel_sigma1": deviation,
                "max_dev_rel_sigma1_small_batch": _max_deviation(
                    device_pred[:small], lean_pred, S[:small]
                ),
                "small_batch": small,
                "equal_within_rounding": deviation <= run["rounding"],
            }
        )
    return rows


def _tiled(base, batch):
    """``batch`` matrices: the rows of ``base`` repeated, float32, C order."""
    out = np.empty((batch, base.shape[1]), dtype=np.float32)
    for start in range(0, batch, len(base)):
        out[start : start + len(base)] = base[: batch - start]
    return out


class Inputs:
    """One size's timing inputs, on the host and on the device, reused as views.

    The largest batch built so far is kept; smaller batches are its leading
    rows (contiguous views). A larger batch replaces it.
    """

    def __init__(self, base, device):
        self.base, self.device = base, device
        self.host = self.dev = self.spectra = None

    def get(self, batch):
        if self.dev is None or len(self.dev) < batch:
            # Dropped first, so that the old and the new never coexist; set
            # only once all three exist, so that a failed allocation leaves
            # nothing half built.
            self.host = self.dev = self.spectra = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            host = _tiled(self.base, batch)
            dev = torch.from_numpy(host).to(self.device)
            size = math.isqrt(self.base.shape[1])
            spectra = torch.zeros((batch, size), dtype=torch.float64, device=dev.device)
            self.host, self.dev, self.spectra = host, dev, spectra
        return self.host[:batch], self.dev[:batch], self.spectra[:batch]


def _route_function(route, config, models, host, dev, spectra, device):
    """A no-argument callable that runs ``route`` once on one batch."""
    size = math.isqrt(host.shape[1])
    if route in ("module", "module_chunked"):
        module = models[config].net_.module_
        module.train(False)
        step = PREDICT_CHUNK if route == "module_chunked" else len(dev)

        def run():
            with torch.inference_mode():
                for start in range(0, len(dev), step):
                    x = dev[start : start + step]
                    norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
                    module.spectra(x, norms)

        return run
    if route == "svdvals":
        A = dev.view(-1, size, size)
        return lambda: torch.linalg.svdvals(A)
    if route == "eigvalsh":
        A = dev.view(-1, size, size)
        return lambda: torch.linalg.eigvalsh(A.mT @ A).clamp_min(0).sqrt()
    if route == "predict":
        model = models[config]
        return lambda: model.predict(host)
    if route == "svdvals_host":

        def run():
            A = torch.from_numpy(host).to(device).view(-1, size, size)
            return torch.linalg.svdvals(A).cpu().numpy()

        return run
    if route == "h2d":
        return lambda: torch.from_numpy(host).to(device)
    if route == "d2h":
        return lambda: spectra.cpu()
    raise ValueError(f"unknown route {route!r}")


def _case_bytes(size, batch):
    return batch * size * size * 4


def run_case(clock, case, fn_for, device, previous):
    """Time one (size, batch, route, config) case, or say why it was skipped."""
    size, batch, route, config = case
    record = {"size": size, "batch": batch, "route": route, "config": config}
    record["input"] = "device" if route in DEVICE_ROUTES else "host"
    record["timer"] = (
        "cuda_events" if device.type == "cuda" and route in DEVICE_ROUTES else "wall"
    )
    try:
        if previous is not None:
            prev_batch, prev_seconds = previous
            basis = f"from batch {prev_batch:,}"
        else:
            probe = min(batch, PROBE)
            probe_fn = fn_for(probe)
            probe_fn()  # one-time set-up (handles, kernels) out of the probe
            prev_batch, prev_seconds = (
                probe,
                _time_once(probe_fn, device, route in DEVICE_ROUTES),
            )
            basis = f"from a probe of {probe} matrices"
        estimate = prev_seconds * batch / prev_batch
        mode, note = clock.plan(estimate, basis)
        if mode == "skip":
            record.update(status="skipped", reason=note, estimate_s=estimate)
            return record
        if note:
            record["note"] = note
        fn = fn_for(batch)
        base = _memory_start(device)
        warm, times = clock.measure(
            fn, device, route in DEVICE_ROUTES, single=mode == "single"
        )
        record.update(_memory_peak(device, base))
    except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        message = (str(exc).splitlines() or [type(exc).__name__])[0]
        record.update(status="oom", reason=message[:300])
        return record
    except Exception as exc:  # recorded: one failing case must not end the run
        message = (str(exc).splitlines() or [""])[0]
        record.update(status="error", reason=f"{type(exc).__name__}: {message}"[:300])
        return record
    median = statistics.median(times)
    record.update(
        status="ok",
        warmup_s=warm,
        times_s=times,
        repeats=len(times),
        median_s=median,
        us_per_matrix=1e6 * median / batch,
        matrices_per_s=batch / median,
    )
    return record


def run_grid(run, batches, state, clock, device, result, out):
    """Every route at every size for ``batches``; skips are recorded."""
    for batch in batches:
        for size in run["sizes"]:
            inputs = state["inputs"][size]
            nbytes = _case_bytes(size, batch)
            why = None
            if nbytes > run["max_input_bytes"]:
                why = (
                    f"input of {nbytes / 1e9:.3g} GB exceeds --max-input-gb "
                    f"{run['max_input_bytes'] / 1e9:g}"
                )
            elif device.type == "cuda":
                # A new input replaces the one held; the routes need about as
                # much again (a transferred copy, eigvalsh's Gram matrices).
                free = torch.cuda.mem_get_info(device)[0]
                covered = inputs.dev is not None and len(inputs.dev) >= batch
                held = 0 if inputs.dev is None else inputs.dev.numel() * 4
                need = nbytes if covered else 2 * nbytes
                room = free if covered else free + held
                if need > room:
                    why = (
                        f"input of {nbytes / 1e9:.3g} GB: {need / 1e9:.3g} GB "
                        f"exceed the device's {room / 1e9:.3g} GB free"
                    )
            for route, config in routes(run):
                case = (size, batch, route, config)
                if why is not None:
                    result["cases"].append(
                        {
                            "size": size,
                            "batch": batch,
                            "route": route,
                            "config": config,
                            "input": "device" if route in DEVICE_ROUTES else "host",
                            "status": "skipped",
                            "reason": why,
                        }
                    )
                    continue

                def fn_for(n, route=route, config=config):
                    host, dev, spectra = inputs.get(max(n, batch))
                    return _route_function(
                        route,
                        config,
                        state["models"][size],
                        host[:n],
                        dev[:n],
                        spectra[:n],
                        device,
                    )

                key = (size, route, config)
                record = run_case(clock, case, fn_for, device, state["last"].get(key))
                if record["status"] == "ok":
                    state["last"][key] = (batch, record["median_s"])
                result["cases"].append(record)
                print(_case_line(record), flush=True)
            write(result, out)


def _case_line(record):
    head = (
        f"{record['size']:>4} {record['batch']:>9,} {record['route']:<15}"
        f" {record['config'] or '':<6}"
    )
    if record["status"] != "ok":
        return f"{head} {record['status']}: {record['reason']}"
    return (
        f"{head} {record['us_per_matrix']:10.4f} us/matrix "
        f"{record['matrices_per_s']:12.4g} /s ({record['repeats']} runs)"
    )


def fit_cifar(run, data_dir, device):
    """The default model fitted on the CIFAR-10 matrices on the device and CPU."""
    path = Path(data_dir) / "cifar10_gray_train.npz"
    if not path.is_file():
        return {"status": "skipped", "reason": f"no {path.name} in {data_dir}"}
    with np.load(path) as data:
        X = data["X"][: run["fit_matrices"]]
    X = X.reshape(len(X), -1).astype(np.float32)
    out = {"status": "ok", "n_matrices": len(X), "source": path.name}
    for label, where in (("device", device), ("cpu", torch.device("cpu"))):
        base = _memory_start(where)
        start = time.perf_counter()
        model = SingularValueRegressor(
            device=str(where),
            random_state=0,
            **_max_iter(run["fit_max_iter"]),
            **run["model_params"],
        ).fit(X)
        _sync(where)
        out[label] = {
            "device": str(where),
            "total_s": time.perf_counter() - start,
            "train_loop_s": model.fit_time_,
            "epochs": model.n_iter_,
            "best_loss": model.best_loss_,
            "torch_threads": torch.get_num_threads(),
            **_memory_peak(where, base),
        }
        print(f"fit {label}: {out[label]['total_s']:.1f} s", flush=True)
        del model
    out["speedup_total"] = out["cpu"]["total_s"] / out["device"]["total_s"]
    out["speedup_train_loop"] = (
        out["cpu"]["train_loop_s"] / (out["device"]["train_loop_s"])
    )
    return out


def derive(result):
    """Per case: the bandwidth floor, its ratio, and the speed-ups over svdvals."""
    bandwidth = result["settings"]["bandwidth_Bps"]
    ok = {
        (c["size"], c["batch"], c["route"], c["config"]): c
        for c in result["cases"]
        if c["status"] == "ok"
    }
    for case in result["cases"]:
        floor = _case_bytes(case["size"], 1) / bandwidth
        case["floor_s_per_matrix"] = floor
        if case["status"] != "ok":
            for key in ("x_floor", "bytes_per_s"):
                case.pop(key, None)
            continue
        case["x_floor"] = case["median_s"] / case["batch"] / floor
        for rival in ("svdvals", "svdvals_host", "eigvalsh"):
            # Recomputed from the cases as they are now, never left over.
            case.pop(f"speedup_{rival}", None)
            other = ok.get((case["size"], case["batch"], rival, None))
            if other is not None and case["config"] is not None:
                case[f"speedup_{rival}"] = other["median_s"] / case["median_s"]
        if case["route"] in ("h2d", "d2h"):
            width = case["size"] if case["route"] == "d2h" else case["size"] ** 2
            item = 8 if case["route"] == "d2h" else 4
            case["bytes_per_s"] = case["batch"] * width * item / case["median_s"]
    return result


def write(result, out):
    """Write the result so far, derived numbers and targets included.

    Called after every section and every batch, so that a run stopped early
    still leaves a complete JSON of what it measured.
    """
    derive(result)
    result["targets"] = targets(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


def run_benchmark(args, dry_run, out):
    """Run everything; returns the result written to ``out``."""
    run = settings(args, dry_run)
    device = torch.device(run["device"])
    clock = Clock(run)
    meta = run_metadata(sys.argv if args.argv is None else [__file__, *args.argv])
    if meta["commit"] is None and args.commit:
        # A copy of the tree without its git folder: the caller says which.
        meta["commit"], meta["commit_from"] = args.commit, "--commit"
    result = {
        "meta": meta,
        "dry_run": dry_run,
        "settings": run,
        "device": device_info(device),
        "models": {},
        "accuracy": [],
        "cases": [],
        "fit": None,
        "targets": [],
    }
    print(f"device: {result['device']['name']}, torch {torch.__version__}", flush=True)
    state = {"models": {}, "inputs": {}, "last": {}}
    for size in run["sizes"]:
        X_train, X_test = windows(size, run)
        models, records = fit_models(size, X_train, run, device)
        state["models"][size] = models
        state["inputs"][size] = Inputs(X_test, device)
        result["models"][str(size)] = records
        result["accuracy"] += accuracy(size, models, X_test, run)
        print(f"{size}x{size}: models fitted, accuracy checked", flush=True)
    write(result, out)
    # Batches of at most the target batch first, then the fit, then larger
    # batches while the budget lasts.
    early = [b for b in run["batches"] if b <= run["target_batch"]]
    late = [b for b in run["batches"] if b > run["target_batch"]]
    # The fit is not sized by the clock: time is kept back for it.
    clock.deadline -= run["fit_reserve_s"]
    run_grid(run, early, state, clock, device, result, out)
    clock.deadline += run["fit_reserve_s"]
    try:
        result["fit"] = fit_cifar(run, args.data_dir, device)
    except Exception as exc:  # recorded, and the larger batches still run
        message = (str(exc).splitlines() or [""])[0]
        result["fit"] = {
            "status": "error",
            "reason": f"{type(exc).__name__}: {message}",
        }
    write(result, out)
    run_grid(run, late, state, clock, device, result, out)
    result["elapsed_s"] = time.perf_counter() - clock.start
    write(result, out)
    return result


# -- rendering ------------------------------------------------------------------
def _ok_cases(result):
    return {
        (c["size"], c["batch"], c["route"], c["config"]): c
        for c in result["cases"]
        if c["status"] == "ok"
    }


def _median_for(result, size, batch, route, config=None):
    """Seconds for a case; measured, else linear from the largest smaller batch.

    Returns (seconds, basis): basis is None when measured, else the batch it
    was extrapolated from; (None, None) when nothing was measured.
    """
    ok = _ok_cases(result)
    case = ok.get((size, batch, route, config))
    if case is not None:
        return case["median_s"], None
    smaller = [b for (s, b, r, c) in ok if (s, r, c) == (size, route, config)]
    smaller = [b for b in smaller if b < batch]
    if not smaller:
        return None, None
    base = max(smaller)
    return ok[(size, base, route, config)]["median_s"] * batch / base, base


def targets(result):
    """The targets beside the measurements, met or not.

    Returns a list of dicts with ``name``, ``value``, ``target`` and ``met``
    (None where the value could not be measured). Speed-ups compare like with
    like: the default's ``predict`` (host numpy in, spectra out) against
    ``svdvals_host``, and the module on device-resident input against
    ``svdvals`` on the same input. Where svdvals was skipped at the target
    batch (over its time budget), its time is extrapolated linearly from the
    largest batch measured, and the name says so.
    """
    run = result["settings"]
    batch, default = run["target_batch"], run["default"]
    rows = []

    def add(name, value, target, op):
        met = None if value is None else bool(op(value, target))
        rows.append({"name": name, "value": value, "target": target, "met": met})

    for size in run["sizes"]:
        goal = run["speedup_targets"][str(size)]
        pairs = (
            ("predict", "svdvals_host", "predict from host numpy"),
            ("module", "svdvals", "module on device-resident input"),
        )
        for ours, theirs, scope in pairs:
            # Ours only as measured; the rival extrapolated where it was
            # skipped, which the name says.
            case = _ok_cases(result).get((size, batch, ours, default))
            rival, basis = _median_for(result, size, batch, theirs)
            value = None if case is None or rival is None else rival / case["median_s"]
            note = "" if basis is None else f"; svdvals extrapolated from {basis:,}"
            add(
                f"default {scope} >= {goal:g}x torch.linalg.svdvals, "
                f"{size}x{size}, batch {batch:,}{note}",
                value,
                goal,
                lambda v, t: v >= t,
            )
    small = run["sizes"][0]
    for route, scope in (
        ("predict", "predict from host numpy"),
        ("module", "module on device"),
    ):
        case = _ok_cases(result).get((small, batch, route, default))
        add(
            f"default {scope}: matrices/s at {small}x{small}, batch {batch:,}",
            None if case is None else case["matrices_per_s"],
            run["rate_target"],
            lambda v, t: v >= t,
        )
    deviations = [row["max_dev_rel_sigma1"] for row in result["accuracy"]]
    add(
        "CUDA equals the CPU within float32 rounding: largest deviation of a "
        "singular value / sigma_1, every size and configuration",
        max(deviations) if deviations else None,
        run["rounding"],
        lambda v, t: v <= t,
    )
    return rows


def _fmt(value, spec):
    return "" if value is None else format(value, spec)


def _table(rows, headers):
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _cfg_label(config, result):
    k, q = result["settings"]["configs"][config]
    suffix = " (default)" if config == result["settings"]["default"] else ""
    return f"k={k} q={q}{suffix}"


def tables(result):
    """Markdown tables of a result, by name (the docs render them).

    ``summary``: every model at the target batch, on device and from host
    memory, beside svdvals; ``timings``: every case, skipped ones with their
    reason; ``transfer``: host-device copies; ``accuracy``: CUDA against the
    CPU; ``fit``: the CIFAR-10 fit; ``targets``; ``device``: where it ran.
    """
    run = result["settings"]
    ok = _ok_cases(result)
    batch = run["target_batch"]
    out = {}

    info = result["device"]
    out["device"] = _table(
        [
            [
                info.get("name"),
                info.get("torch"),
                info.get("cuda") or "",
                info.get("driver") or "",
                _fmt(run["bandwidth_Bps"] / 1e12, ".2f"),
                _fmt(
                    info.get("copy_bandwidth_Bps")
                    and info["copy_bandwidth_Bps"] / 1e12,
                    ".2f",
                ),
                info.get("float32_matmul_precision"),
            ]
        ],
        [
            "device",
            "torch",
            "CUDA",
            "driver",
            "bandwidth floor (TB/s)",
            "measured copy (TB/s)",
            "float32 matmul",
        ],
    )

    rows = []
    for size in run["sizes"]:
        svd = ok.get((size, batch, "svdvals", None))
        svd_host = ok.get((size, batch, "svdvals_host", None))
        for config in run["configs"]:
            mod = ok.get((size, batch, "module", config))
            pred = ok.get((size, batch, "predict", config))
            rows.append(
                [
                    f"{size}x{size}",
                    _cfg_label(config, result),
                    _fmt(mod and mod["us_per_matrix"], ".4f"),
                    _fmt(mod and mod["matrices_per_s"], ".3g"),
                    _fmt(mod and mod.get("speedup_svdvals"), ".1f"),
                    _fmt(mod and mod.get("x_floor"), ".0f"),
                    _fmt(pred and pred["us_per_matrix"], ".4f"),
                    _fmt(pred and pred.get("speedup_svdvals_host"), ".1f"),
                ]
            )
        rows.append(
            [
                f"{size}x{size}",
                "torch.linalg.svdvals",
                _fmt(svd and svd["us_per_matrix"], ".4f"),
                _fmt(svd and svd["matrices_per_s"], ".3g"),
                "1.0" if svd else "",
                _fmt(svd and svd.get("x_floor"), ".0f"),
                _fmt(svd_host and svd_host["us_per_matrix"], ".4f"),
                "1.0" if svd_host else "",
            ]
        )
    out["summary"] = _table(
        rows,
        [
            "size",
            f"model (batch {batch:,})",
            "µs/matrix on device",
            "matrices/s",
            "x svdvals",
            "x floor",
            "µs/matrix from host",
            "x svdvals from host",
        ],
    )

    rows = []
    for case in result["cases"]:
        if case["route"] in ("h2d", "d2h"):
            continue
        label = case["route"] + (f" {case['config']}" if case["config"] else "")
        if case["status"] == "ok":
            peak = case.get("peak_extra_bytes")
            rows.append(
                [
                    f"{case['size']}x{case['size']}",
                    f"{case['batch']:,}",
                    label,
                    case["input"],
                    _fmt(case["us_per_matrix"], ".4f"),
                    _fmt(case["matrices_per_s"], ".3g"),
                    _fmt(case.get("x_floor"), ".0f"),
                    _fmt(peak and peak / 1e9, ".3g"),
                    str(case["repeats"]),
                ]
            )
        else:
            rows.append(
                [
                    f"{case['size']}x{case['size']}",
                    f"{case['batch']:,}",
                    label,
                    case.get("input", ""),
                    f"{case['status']}: {case['reason']}",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    out["timings"] = _table(
        rows,
        [
            "size",
            "batch",
            "route",
            "input",
            "µs/matrix",
            "matrices/s",
            "x floor",
            "peak extra GB",
            "runs",
        ],
    )

    rows = []
    for size in run["sizes"]:
        for b in run["batches"]:
            h2d, d2h = ok.get((size, b, "h2d", None)), ok.get((size, b, "d2h", None))
            if h2d is None and d2h is None:
                continue
            rows.append(
                [
                    f"{size}x{size}",
                    f"{b:,}",
                    _fmt(h2d and h2d["us_per_matrix"], ".4f"),
                    _fmt(h2d and h2d["bytes_per_s"] / 1e9, ".3g"),
                    _fmt(d2h and d2h["us_per_matrix"], ".4f"),
                    _fmt(d2h and d2h["bytes_per_s"] / 1e9, ".3g"),
                ]
            )
    out["transfer"] = _table(
        rows,
        [
            "size",
            "batch",
            "host to device µs/matrix",
            "GB/s",
            "spectra back µs/matrix",
            "GB/s",
        ],
    )

    out["accuracy"] = _table(
        [
            [
                f"{row['size']}x{row['size']}",
                _cfg_label(row["config"], result),
                f"{row['n_test']:,}",
                _fmt(100 * row["nmse_device"], ".4f"),
                _fmt(100 * row["nmse_cpu"], ".4f"),
                _fmt(row["max_dev_rel_sigma1"], ".2g"),
                _fmt(row["max_dev_rel_sigma1_small_batch"], ".2g"),
            ]
            for row in result["accuracy"]
        ],
        [
            "size",
            "model",
            "test matrices",
            "NMSE % on device",
            "NMSE % on CPU",
            "max deviation / σ₁",
            "max deviation / σ₁, CPU batch ≤ 256",
        ],
    )

    fit = result.get("fit") or {"status": "not run", "reason": "the budget ran out"}
    if fit["status"] == "ok":
        out["fit"] = _table(
            [
                [
                    label,
                    fit[key]["device"],
                    f"{fit['n_matrices']:,}",
                    str(fit[key]["epochs"]),
                    _fmt(fit[key]["total_s"], ".1f"),
                    _fmt(fit[key]["train_loop_s"], ".1f"),
                    _fmt(fit[key]["best_loss"], ".3g"),
                    _fmt(
                        fit[key]["peak_bytes"] and fit[key]["peak_bytes"] / 1e9, ".3g"
                    ),
                ]
                for label, key in (("accelerator", "device"), ("CPU", "cpu"))
            ],
            [
                "fit on",
                "device",
                "matrices",
                "epochs",
                "total s",
                "training loop s",
                "best loss",
                "peak GB",
            ],
        )
    else:
        out["fit"] = _table([[fit["status"], fit["reason"]]], ["fit", "reason"])

    out["targets"] = _table(
        [
            [
                row["name"],
                _fmt(row["value"], ".3g"),
                _fmt(row["target"], "g"),
                {True: "met", False: "not met", None: "not measured"}[row["met"]],
            ]
            for row in result.get("targets") or targets(result)
        ],
        ["target", "measured", "target", "met"],
    )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on CPU")
    parser.add_argument("--out", default=None, help=f"default: {COMMITTED}")
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument(
        "--bandwidth",
        type=float,
        default=H200_BANDWIDTH,
        help="device memory bandwidth in bytes/s for the floor (H200: 4.8e12)",
    )
    parser.add_argument("--budget-s", type=float, default=250.0)
    parser.add_argument("--case-budget-s", type=float, default=4.0)
    parser.add_argument(
        "--fit-reserve-s",
        type=float,
        default=100.0,
        help="seconds of --budget-s kept back from the batches before the fit",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-input-gb", type=float, default=20.0)
    parser.add_argument(
        "--commit",
        default=None,
        help="commit to record when the tree has no git folder (a copy)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    args.argv = argv
    dry_run = args.dry_run
    if not dry_run and not torch.cuda.is_available():
        print(
            "CUDA is unavailable: running --dry-run on the CPU instead (tiny "
            "sizes; the committed results are left untouched).",
            flush=True,
        )
        dry_run = True
    out = output_path(args.out, dry_run)
    result = run_benchmark(args, dry_run, out)
    for name, table in tables(result).items():
        print(f"\n## {name}\n\n{table}")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
