# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The SV-Learn paper's experiment: Table I and Figures 2-6, with baselines.

``svlearn reproduce`` (:mod:`svlearn._cli`) is a thin layer over these parts,
one concern per module:

- :mod:`._experiments`: the train/test sets, from :mod:`svlearn.datasets`;
- :mod:`._models`: the estimators compared;
- :mod:`._runner`: training, prediction and timing, one experiment at a time;
- :mod:`._evaluation`: errors of predicted spectra and reconstructions;
- :mod:`._figures`: Figures 2-6; :mod:`._report`: ``report.md`` / ``.json``;
- :mod:`._environment`: the versions and machine the timings come from.

The paper's own numbers live in :mod:`svlearn._paper`.
"""

from ._environment import environment
from ._experiments import Experiment, load_experiments
from ._models import NETWORKS, models
from ._runner import reproduce, run_experiment

__all__ = [
    "NETWORKS",
    "Experiment",
    "environment",
    "load_experiments",
    "models",
    "reproduce",
    "run_experiment",
]
