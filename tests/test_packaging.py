# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""pyproject's lower bounds are the versions that CI tests in constraints-min.txt."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Floors that are not tested, with the reason (only torch 2.13.0 is installed on
# the project's machines).
UNTESTED = {"torch": "only torch 2.13.0 is available to CI"}


def _floors():
    text = (ROOT / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    dask = re.search(r"^dask = \[(.*)\]$", text, re.M).group(1)
    specs = re.findall(r'"([A-Za-z0-9_.-]+)(?:\[[a-z]+\])?>=([0-9.]+)', deps + dask)
    return dict(specs)


def _pins():
    lines = (ROOT / "constraints-min.txt").read_text().splitlines()
    pins = [re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9.]+)", line) for line in lines]
    return {m.group(1): m.group(2) for m in pins if m}


def test_every_floor_is_pinned_in_constraints_min():
    floors, pins = _floors(), _pins()
    assert {"numpy", "scipy", "scikit-learn", "skorch", "joblib"} <= set(floors)
    assert {"safetensors", "dask", "distributed"} <= set(floors)
    mismatched = {
        name: (floor, pins.get(name))
        for name, floor in floors.items()
        if name not in UNTESTED and pins.get(name) != floor
    }
    assert not mismatched, f"pyproject floor != constraints-min pin: {mismatched}"
    assert pins["torch"] == "2.13.0"


def test_readme_test_command_runs_the_floors():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- test-command -->\n```\n(.+)\n```", readme).group(1)
    assert "-c constraints-min.txt" in command
    assert command.count("pytest") == 2
