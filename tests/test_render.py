# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The docs' numbers are the ones in the benchmarks' JSON (benchmarks/_render.py)."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _format  # noqa: E402
import _meta  # noqa: E402
import _render  # noqa: E402
import _reports  # noqa: E402
import run_all  # noqa: E402

from svlearn._reproduce._models import LABELS  # noqa: E402
from svlearn._reproduce._report import table_i  # noqa: E402

# Every benchmark with a committed JSON, and those of them that have targets.
BENCHMARKS = sorted(p.stem for p in _render.RESULTS.glob("bench_*.json"))
WITH_TARGETS = [
    "bench_frontier",
    "bench_performance",
    "bench_pretrained",
    "bench_shift",
    "bench_sizes",
]


def _committed(name):
    return json.loads((_render.RESULTS / f"{name}.json").read_text())


def test_docs_are_rendered_from_the_committed_json():
    stale = _render.render_files(check=True)
    assert not stale, (
        f"{[str(p.relative_to(ROOT)) for p in stale]} differ from their JSON: "
        "run `python benchmarks/run_all.py --render-only`"
    )


def test_check_flags_a_number_edited_by_hand(tmp_path):
    page = tmp_path / "windows.md"
    text = (ROOT / "docs" / "windows.md").read_text()
    marker = "<!-- value: bench_windows/results/1/traced_overhead_mb|.1f -->"
    start = text.index(marker) + len(marker)
    page.write_text(text[:start] + "999" + text[text.index("<!--", start) :])
    assert _render.render_files([page], check=True) == [page]
    assert "999" in page.read_text()  # check mode writes nothing
    assert _render.render_files([page]) == [page]
    assert _render.render_files([page], check=True) == []


def test_every_marker_is_closed():
    # An unclosed marker would silently leave its numbers unrendered.
    for path in _render.documents():
        text, _ = _render.mask_code(path.read_text())
        for kind in ("table", "value"):
            opened = text.count(f"<!-- {kind}: ")
            assert opened == text.count(f"<!-- /{kind} -->"), (path.name, kind)


@pytest.fixture
def results(tmp_path, monkeypatch):
    # Thread variables set by earlier tests would enter the recorded command.
    for name in _meta._THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    data = {
        "meta": _meta.run_metadata(["benchmarks/bench_x.py", "--quick"]),
        "a": {"b": [0.123456, 2]},
        "rows": [{"label": "n_iter=1", "v": 1.5}, {"label": "(64, 64)", "v": 2.5}],
    }
    (tmp_path / "bench_x.json").write_text(json.dumps(data))
    # A benchmark module of its own, with the convention's tables(result).
    (tmp_path / "bench_x.py").write_text(
        "from _format import markdown\n\n\n"
        "def tables(result):\n"
        "    rows = [[r['label'], f\"{r['v']:.2f}\"] for r in result['rows']]\n"
        "    return {'rows': markdown(['label', 'v'], rows)}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "bench_x", raising=False)
    return tmp_path


def test_value_and_table_markers_are_filled(results):
    text = (
        "NMSE <!-- value: bench_x/a/b/0|.2% -->old<!-- /value --> and "
        "<!-- value: bench_x/a/b/1|d --><!-- /value -->, "
        "<!-- value: bench_x/a/b/0|%.3g --><!-- /value -->.\n\n"
        "<!-- table: bench_x/rows -->\nold table\n<!-- /table -->\n"
        "<!-- table: bench_x/meta -->\n<!-- /table -->\n"
    )
    out = _render.render_text(text, results)
    assert "NMSE <!-- value: bench_x/a/b/0|.2% -->12.35%<!-- /value -->" in out
    assert "<!-- value: bench_x/a/b/1|d -->2<!-- /value -->, " in out
    assert "<!-- value: bench_x/a/b/0|%.3g -->12.3%<!-- /value -->." in out
    assert "| n_iter=1 | 1.50 |" in out and "| (64, 64) | 2.50 |" in out
    assert "old table" not in out
    assert "`python benchmarks/bench_x.py --quick` at commit" in out
    # Quoted markers stay as written.
    quoted = "`<!-- value: bench_x/a|d -->1<!-- /value -->`\n```\n" + text + "```\n"
    assert _render.render_text(quoted, results) == quoted
    # Rendering is idempotent: a second pass changes nothing.
    assert _render.render_text(out, results) == out


@pytest.mark.parametrize(
    "marker, message",
    [
        ("a <!-- value: bench_x/a/c|.2f -->1<!-- /value -->", "no key 'c'"),
        ("a <!-- value: bench_x/rows/nope/v|d --><!-- /value -->", "label 'nope'"),
        (
            "a <!-- value: bench_nope/a|.2f -->1<!-- /value -->",
            "no JSON for 'bench_nope'",
        ),
        ("<!-- table: bench_x/nope -->\n<!-- /table -->", r"bench_x has \['rows'\]"),
        ("a <!-- value: bench_x/a/b/0|d -->1<!-- /value -->", "Unknown format code"),
        ("<!-- value: bench_x/a/b/1|d -->2<!-- /value -->", "must not start a line"),
    ],
)
def test_bad_markers_name_the_file_and_line(results, marker, message):
    with pytest.raises(_render.RenderError, match=message) as info:
        _render.render_text(f"intro\n\n```\ncode\n```\n{marker}\n", results, "p.md")
    assert "p.md:6" in str(info.value)


def test_list_elements_are_addressed_by_index_or_label(results):
    text = (
        "a <!-- value: bench_x/rows/n_iter=1/v|.1f --><!-- /value -->, "
        "b <!-- value: bench_x/rows/(64, 64)/v|.1f --><!-- /value -->, "
        "c <!-- value: bench_x/rows/1/v|.2f --><!-- /value -->\n"
    )
    out = _render.render_text(text, results)
    assert "-->1.5<!--" in out and "-->2.5<!--" in out and "-->2.50<!--" in out


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_renders_its_own_tables(name):
    tables = importlib.import_module(name).tables(_committed(name))
    assert tables and all(isinstance(t, str) for t in tables.values())
    for table in tables.values():
        header, align, *rows = table.splitlines()
        assert set(align) <= set("|:-") and rows
        assert {line.count("|") for line in rows} == {header.count("|")}


@pytest.mark.parametrize("name", WITH_TARGETS)
def test_targets_are_judged_once_and_shown_as_judged(name):
    module = importlib.import_module(name)
    result = _committed(name)
    targets = module.targets(result)
    assert targets
    for target in targets:
        assert {"name", "value", "target", "met"} <= set(target)
        assert isinstance(target["met"], bool)
    if "targets" in module.tables(result):
        table = module.tables(result)["targets"]
        for target in targets:
            line = next(row for row in table.splitlines() if target["name"] in row)
            met = line.rstrip(" |").rsplit("|", 1)[1].strip()
            assert met.startswith("yes" if target["met"] else "**no**"), line


def test_benchmark_targets_agree_with_the_judgement_stored_at_run_time():
    # bench_shift and bench_sizes store their judgement in their JSON too;
    # targets() re-judges the stored measurements with the same function.
    bench_shift = importlib.import_module("bench_shift")
    shift = _committed("bench_shift")
    judged = {t["name"]: t["met"] for t in bench_shift.targets(shift)}
    names = bench_shift.TARGET_NAMES
    assert judged == {names[k]: t["met"] for k, t in shift["targets"].items()}
    sizes = _committed("bench_sizes")
    judged = importlib.import_module("bench_sizes").targets(sizes)
    stored = [t["met"] for e in sizes["sizes"].values() for t in e["targets"].values()]
    assert [t["met"] for t in judged] == stored


def test_importing_a_benchmark_runs_nothing():
    names = [*BENCHMARKS, "_reports"]
    code = f"import sys; sys.path[:0] = {[str(ROOT / 'benchmarks'), str(ROOT)]!r}\n"
    code += "".join(f"import {name}\n" for name in names)
    code += "print(sorted(m for m in sys.modules if m in ('matplotlib', 'dask')))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    # No output of a run, and no plotting or cluster stack pulled in.
    assert done.stdout.strip() == "[]", done.stdout


def test_table_i_is_the_one_of_the_reports():
    # The docs' Table I of each experiment is the one report.md holds.
    paths = sorted(_render.REPORTS.glob("*/report.json"))
    reports = {p.parent.name: json.loads(p.read_text()) for p in paths}
    tables = _reports.tables(reports)
    for run, report in reports.items():
        markdown = (_render.REPORTS / run / "report.md").read_text()
        for experiment in report["experiments"]:
            assert table_i(experiment) in markdown
            docs = tables[experiment["key"]]
            for model in experiment["models"]:
                assert f"| {LABELS[model['key']]} |" in docs
    assert (
        "| *paper, Table I (as reported, random split)* |"
        in tables["spambase_row_blocks"]
    )


def test_run_metadata_records_commit_environment_and_command():
    meta = _meta.run_metadata(["benchmarks/bench_x.py", "--size", "2000"])
    assert meta["command"].endswith("python benchmarks/bench_x.py --size 2000")
    assert meta["commit"] is None or len(meta["commit"]) == 40
    assert meta["versions"]["numpy"] and meta["cpu_count"] >= 1
    assert meta["utc"].endswith("+00:00")


def test_run_all_quick_writes_json_with_provenance_and_leaves_docs(tmp_path):
    before = {p: p.read_text() for p in _render.documents()}
    argv = ["--quick", "--only", "bench_windows", "--quick-dir", str(tmp_path)]
    assert run_all.main(argv) == 0
    report = json.loads((tmp_path / "bench_windows.json").read_text())
    assert "--size 2000" in report["meta"]["command"]
    assert report["meta"]["command"].startswith("OMP_NUM_THREADS=1")
    assert report["results"][0]["n_windows"] > 0
    assert {p: p.read_text() for p in _render.documents()} == before


def test_committed_results_are_full_runs():
    # A --quick run writes elsewhere; a quick JSON here would reach the docs.
    for path in sorted(_render.RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        assert not data.get("quick"), f"{path.name} is from a --quick run"


def test_json_without_provenance_says_so():
    note = _format.source_line({"rows": []})
    assert note.startswith("Source: a run made before the benchmarks recorded")
    note = _format.source_line({"command": "python benchmarks/bench_y.py"})
    assert note.startswith("Source: `python benchmarks/bench_y.py`, a run made before")


def test_markdown_table_checks_its_alignment():
    with pytest.raises(ValueError, match="align has 1 letters for 2 columns"):
        _format.markdown(["a", "b"], [["1", "2"]], "l")


def test_a_value_in_a_table_cell_escapes_its_separator(results):
    # A bare "|" would split the cell of a Markdown table.
    text = "| a | <!-- value: bench_x/a/b/0\\|.2f --><!-- /value --> |\n"
    out = _render.render_text(text, results)
    assert out == "| a | <!-- value: bench_x/a/b/0\\|.2f -->0.12<!-- /value --> |\n"
