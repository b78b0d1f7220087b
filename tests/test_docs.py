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
    shutil.copy(ROOT / "CHANGES.md", src / "CHANGES.md")  # the changelog page
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
        "install.html",
        "changes.html",
        "citing.html",
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


def _page_paths():
    """Every Markdown page of the site, and the README."""
    paths = [ROOT / "README.md", ROOT / "CHANGES.md", *sorted(ROOT.glob("docs/*.md"))]
    return paths + sorted(ROOT.glob("docs/results/*/report.md"))


PAGES = [str(p.relative_to(ROOT)) for p in _page_paths()]


# How the project's own tracker is cited ("issue 11", "Issue 6's", "issues 3"),
# and folders of the machine that built the docs: the data folder beside the
# checkout, or an absolute path under a machine's top-level folders.
_ISSUE = re.compile(r"\b[Ii]ssues? #?\d+")
_MACHINE_PATH = re.compile(
    r"\.\./shared\b|(?<![\w.:/~-])/(?:work|tmp|home|root|Users|mnt|srv|opt)/"
)


@pytest.mark.parametrize(
    "text, found",
    [
        ("the targets of issue 11", True),
        ("Issue 6's targets", True),
        ("see skorch#642 upstream", False),
        ("--data-dir ../shared/data", True),
        ("--dataset /work/shared/data/x.npz --out /tmp/run", True),
        ("https://download.pytorch.org/whl/cpu and ~/data", False),
        ("--data-dir DATA_DIR", False),
    ],
)
def test_process_note_patterns(text, found):
    assert bool(_ISSUE.search(text) or _MACHINE_PATH.search(text)) is found


@pytest.mark.parametrize("page", PAGES)
def test_page_names_no_issue_number_or_machine_path(page):
    text = (ROOT / page).read_text()
    problems = [
        f"line {text[: m.start()].count(chr(10)) + 1}: {m[0]!r}"
        for pattern in (_ISSUE, _MACHINE_PATH)
        for m in pattern.finditer(text)
    ]
    assert not problems, f"{page} speaks of the lab, not the project: {problems}"


def _unescaped_pipes(line):
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_table_rows_keep_their_columns():
    # A "|" inside a cell, even inside backticks, starts a new cell (GFM), so
    # the row would spill over its columns; write "‖" or "\|" instead.
    problems = []
    for name in PAGES:
        lines = (ROOT / name).read_text().splitlines()
        for i, line in enumerate(lines):
            is_align = re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", line)
            if not (is_align and i and lines[i - 1].lstrip().startswith("|")):
                continue
            width = _unescaped_pipes(lines[i - 1])
            for j in range(i + 1, len(lines)):
                if not lines[j].lstrip().startswith("|"):
                    break
                if _unescaped_pipes(lines[j]) != width:
                    problems.append(f"{name}:{j + 1}")
    assert not problems, f"table rows with extra or missing cells: {problems}"


def test_maintainer_pages_are_not_in_the_top_navigation():
    index = (ROOT / "docs" / "index.md").read_text()
    toctree = index[index.index("```{toctree}") :]
    top = set(re.findall(r"^([\w/-]+)$", toctree, re.M))
    assert {"install", "user_guide", "api", "benchmarks", "development"} <= top
    assert not top & {"numbers", "architecture", "performance"}


def test_first_page_quickstart_runs_without_warnings(capsys):
    index = (ROOT / "docs" / "index.md").read_text()
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", index, re.S).group(1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, "docs/index.md", "exec"), {})
    assert re.fullmatch(r"NMSE \d+\.\d{3} %\n", capsys.readouterr().out)
