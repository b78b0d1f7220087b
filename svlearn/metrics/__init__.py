# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Metrics of predicted singular values (paper Eq. 1) and their scorers."""

from ._regression import (
    mae,
    mae_per_matrix,
    nmse,
    nmse_per_matrix,
    normalized_mean_squared_error,
)
from ._scorer import mae_scorer, nmse_scorer

__all__ = [
    "mae",
    "mae_per_matrix",
    "mae_scorer",
    "nmse",
    "nmse_per_matrix",
    "nmse_scorer",
    "normalized_mean_squared_error",
]
