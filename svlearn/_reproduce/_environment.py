# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The software and machine that ``svlearn reproduce`` timings come from."""

import os
import platform

import numpy as np


def environment():
    """Versions, machine and thread settings the timings were measured under.

    Returns
    -------
    environment : dict
        JSON-friendly description, written into ``report.json``.
    """
    import sklearn
    import threadpoolctl
    import torch

    from .._version import __version__

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    pools = [
        {"api": p["internal_api"], "num_threads": p["num_threads"]}
        for p in threadpoolctl.threadpool_info()
    ]
    return {
        "svlearn": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_cores_available": cores,
        "torch_threads": torch.get_num_threads(),
        "threadpools": pools,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }
