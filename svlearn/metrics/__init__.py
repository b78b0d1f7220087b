# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Metrics of predicted singular values and their scorers.

NMSE and MAE are the paper's Eq. 1; the per-index relative errors and the
log-spectral distance weigh every singular value alike, so they also see the
small end of the spectrum that NMSE hides.
"""

from ._regression import (
    mae,
    mae_per_matrix,
    nmse,
    nmse_per_matrix,
    normalized_mean_squared_error,
)
from ._scorer import (
    log_spectral_distance_scorer,
    mae_scorer,
    nmse_scorer,
    worst_index_relative_error_scorer,
)
from ._spectrum import (
    log_spectral_distance,
    log_spectral_distance_per_matrix,
    relative_error_per_index,
    relative_errors,
    worst_index_relative_error,
)

__all__ = [
    "log_spectral_distance",
    "log_spectral_distance_per_matrix",
    "log_spectral_distance_scorer",
    "mae",
    "mae_per_matrix",
    "mae_scorer",
    "nmse",
    "nmse_per_matrix",
    "nmse_scorer",
    "normalized_mean_squared_error",
    "relative_error_per_index",
    "relative_errors",
    "worst_index_relative_error",
    "worst_index_relative_error_scorer",
]
