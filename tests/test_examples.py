# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Every example script runs to the end."""

import runpy
from pathlib import Path

import matplotlib
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path):
    matplotlib.use("Agg")
    runpy.run_path(str(path), run_name="__main__")
