# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Utilities."""

from .discovery import all_estimators

__all__ = ["all_estimators"]
