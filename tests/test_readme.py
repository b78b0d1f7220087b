# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The README's quickstart runs as written, and CI runs the README's command."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quickstart_blocks():
    section = README.split("## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_quickstart_opens_with_the_pretrained_model():
    blocks = _quickstart_blocks()
    assert len(blocks) == 2
    assert "svlearn.pretrained(" in blocks[0] and ".fit(" not in blocks[0]


@pytest.mark.parametrize("index", [0, 1])
def test_quickstart_blocks_run_as_written(index):
    code = _quickstart_blocks()[index]
    exec(compile(code, "README.md", "exec"), {})


def _command(marker):
    match = re.search(rf"<!-- {marker} -->\n```\n(.+)\n```", README)
    assert match, f"README.md has no command after <!-- {marker} -->"
    return match.group(1)


def test_ci_runs_the_readme_test_command():
    out = subprocess.run(
        ["awk", "/<!-- test-command -->/ {getline; getline; print; exit}", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == _command("test-command")
    assert ".ci/run" not in out and "pytest" in out
    assert "svlearn reproduce" in _command("main-command")
