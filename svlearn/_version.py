# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The package's version: one place, read by ``svlearn.__version__``, the CLI,
the reports and the build (``pyproject.toml``)."""

__version__ = "0.1.0"
