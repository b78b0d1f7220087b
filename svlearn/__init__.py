# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Learn matrix singular values with neural networks (SV-Learn), scikit-learn style.

Torch-backed objects (:class:`SingularValueRegressor`, :class:`SVDLight`) are
imported lazily so that metrics, windowing and dataset loaders work without
importing torch.
"""

import importlib

from ._version import __version__ as __version__

# name -> private module that defines it; resolved on first attribute access.
_LAZY = {
    "SingularValueRegressor": "svlearn._regressor",
    "paper_regressor": "svlearn._regressor",
    "pretrained": "svlearn._pretrained",
    "pretrained_models": "svlearn._pretrained",
    "MeanSpectrumRegressor": "svlearn._baselines",
    "TrainingDataWarning": "svlearn._base",
    "singular_values": "svlearn._linalg",
    "MatrixWindowTransformer": "svlearn._windows",
    "extract_windows": "svlearn._windows",
    "n_windows": "svlearn._windows",
    "SVDLight": "svlearn._svd",
    "reconstruct": "svlearn._svd",
    "estimate_rank": "svlearn._rank",
    "spectral_norm": "svlearn._spectral",
    "condition_number": "svlearn._spectral",
    "nuclear_norm": "svlearn._spectral",
    "schatten_norm": "svlearn._spectral",
    "numerical_rank": "svlearn._spectral",
    "effective_rank": "svlearn._spectral",
    "log_abs_det": "svlearn._spectral",
    "save": "svlearn._persistence",
    "load": "svlearn._persistence",
    "InconsistentVersionWarning": "svlearn._persistence",
}
# Public submodules, imported on first attribute access.
_SUBMODULES = ("metrics", "datasets", "plotting", "utils")

__all__ = sorted([*_LAZY, *_SUBMODULES, "__version__"])
# ``svlearn.dask`` needs the optional dask dependency (``pip install
# sv-learn-mlp[dask]``), so it stays out of ``__all__``: ``import *`` and the
# estimator discovery must work without it.
_SUBMODULES += ("dask",)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"svlearn.{name}")
    raise AttributeError(f"module 'svlearn' has no attribute {name!r}")


def __dir__():
    return __all__
