# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The documentation site builds with no warning, and lists every public name."""

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import svlearn

ROOT = Path(__file__).resolve().parents[1]
# Built from the sources, never from what an earlier local build left behind.
_IGNORE = shutil.ignore_patterns(
    "_build", "generated", "auto_examples", "sg_execution_times.rst", "*.pyc"
)


SUBPACKAGES = ("metrics", "datasets", "plotting", "utils")


def test_api_reference_lists_every_public_name():
    api = (ROOT / "docs" / "api.rst").read_text()
    # autosummary entries are names indented by three spaces on their own line.
    listed = set(re.findall(r"^ {3}(\w+)$", api, re.M))
    public = [
        f"svlearn.{name}"
        for name in svlearn.__all__
        if not name.startswith("_") and name not in SUBPACKAGES
    ]
    for sub in SUBPACKAGES:
        module = getattr(svlearn, sub)
        public += [f"svlearn.{sub}.{name}" for name in module.__all__]
    # svlearn.dask is imported on demand (optional dependency of the [docs] extra).
    dask_module = importlib.import_module("svlearn.dask")
    public += [f"svlearn.dask.{name}" for name in dask_module.__all__]
    missing = [name for name in public if name.rsplit(".", 1)[1] not in listed]
    assert not missing, f"docs/api.rst does not list {missing}"


def test_site_builds_without_warnings(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "docs", src / "docs", ignore=_IGNORE)
    shutil.copytree(ROOT / "examples", src / "examples", ignore=_IGNORE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop("SVLEARN_DOCS_INTERSPHINX", None)
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + ["-D", "plot_gallery=0", str(src / "docs"), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    html = tmp_path / "html"
    for page in (
        "index.html",
        "api.html",
        "generated/svlearn.SingularValueRegressor.html",
        "auto_examples/index.html",
    ):
        assert (html / page).is_file(), page


def test_screenshot_script_names_the_missing_browser():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import screenshots
    finally:
        sys.path.remove(str(ROOT / "docs"))
    with pytest.raises(FileNotFoundError, match="no-such-browser.*chromium"):
        screenshots.find_chromium("no-such-browser")
