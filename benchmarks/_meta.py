# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Provenance of a benchmark run: commit, environment and command.

Every benchmark stores ``run_metadata(sys.argv)`` under the key ``"meta"`` of
its JSON, so that each number in the docs can be traced to the code, the
machine and the command that produced it (``benchmarks/_render.py`` prints it
under each table).
"""

import datetime
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PACKAGES = ("svlearn", "numpy", "scipy", "scikit-learn", "torch", "skorch")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _git(*args):
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _version(package):
    if package == "svlearn":
        # The import name: the distribution is named otherwise, and "svlearn"
        # on PyPI is another project.
        import svlearn

        return svlearn.__version__
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _relative(arg):
    # Paths inside the checkout are written relative to its root.
    path = Path(arg)
    if not path.is_absolute():
        return arg
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return arg


def _command(argv):
    # The command as a user would type it from the repository root.
    env = [f"{k}={os.environ[k]}" for k in _THREAD_VARS if k in os.environ]
    script = _relative(str(Path(argv[0]).resolve()))
    return shlex.join([*env, "python", script, *map(_relative, argv[1:])])


def run_metadata(argv):
    """Describe the current run for a benchmark's JSON.

    Parameters
    ----------
    argv : list of str
        The command line of the run, usually ``sys.argv``.

    Returns
    -------
    meta : dict
        ``commit`` (``git rev-parse HEAD``, or None outside a checkout),
        ``dirty`` (uncommitted changes to tracked files), ``command`` (with
        the thread-count variables that were set), ``utc`` (ISO time),
        ``python``, ``versions`` of the packages that set the numbers,
        ``cpu_count`` (cores this process may use), ``torch_threads``,
        ``platform`` and ``machine``.

    Examples
    --------
    >>> from _meta import run_metadata  # run from benchmarks/, as the scripts do
    >>> meta = run_metadata(["benchmarks/bench_windows.py", "--size", "2000"])
    >>> meta["command"].endswith("python benchmarks/bench_windows.py --size 2000")
    True
    """
    try:
        cpu_count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpu_count = os.cpu_count()
    torch = sys.modules.get("torch")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "command": _command(list(argv)),
        "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in _PACKAGES},
        "cpu_count": cpu_count,
        "torch_threads": torch.get_num_threads() if torch else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


SHARED_RULE = (
    "shared if the 1-minute load average was above 0.5 before the run, or "
    "above this process's torch threads + 0.5 at its end"
)


def load_record(before, after, threads):
    """The ``"load"`` entry of a benchmark's JSON: did other jobs share the machine.

    ``before`` and ``after`` are :func:`os.getloadavg` at the run's start and
    end, ``threads`` the process's own torch threads (:data:`SHARED_RULE`).
    """
    return {
        "before": list(before),
        "after": list(after),
        "rule": SHARED_RULE,
        "shared": bool(before[0] > 0.5 or after[0] > threads + 0.5),
    }
