# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The docs' numbers are the ones in the benchmarks' JSON (benchmarks/_render.py)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _meta  # noqa: E402
import _render  # noqa: E402
import run_all  # noqa: E402


def test_docs_are_rendered_from_the_committed_json():
    stale = _render.render_files(check=True)
    assert not stale, (
        f"{[str(p.relative_to(ROOT)) for p in stale]} differ from their JSON: "
        "run `python benchmarks/run_all.py --render-only`"
    )


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
        "results": [
            {
                "case": "stride32",
                "n_windows": 1000,
                "windows_per_s": 12345,
                "output_mb": 1.5,
                "traced_peak_mb": 1.6,
                "rss_increase_mb": 1.7,
            }
        ],
    }
    (tmp_path / "bench_x.json").write_text(json.dumps(data))
    (tmp_path / "bench_windows.json").write_text(json.dumps(data))
    return tmp_path


def test_value_and_table_markers_are_filled(results):
    text = (
        "NMSE <!-- value: bench_x/a/b/0|.2% -->old<!-- /value --> and "
        "<!-- value: bench_x/a/b/1|d --><!-- /value -->, "
        "<!-- value: bench_x/a/b/0|%.3g --><!-- /value -->.\n\n"
        "<!-- table: bench_windows/results -->\nold table\n<!-- /table -->\n"
        "<!-- table: bench_x/meta -->\n<!-- /table -->\n"
    )
    out = _render.render_text(text, results)
    assert "NMSE <!-- value: bench_x/a/b/0|.2% -->12.35%<!-- /value -->" in out
    assert "<!-- value: bench_x/a/b/1|d -->2<!-- /value -->, " in out
    assert "<!-- value: bench_x/a/b/0|%.3g -->12.3%<!-- /value -->." in out
    assert "| stride 32 (every window) | 1,000 | 12,345 | 1.5 | 1.6 | 1.7 |" in out
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
        (
            "a <!-- value: bench_nope/a|.2f -->1<!-- /value -->",
            "no JSON for 'bench_nope'",
        ),
        ("<!-- table: bench_x/nope -->\n<!-- /table -->", "unknown table"),
        ("a <!-- value: bench_x/a/b/0|d -->1<!-- /value -->", "Unknown format code"),
        ("<!-- value: bench_x/a/b/1|d -->2<!-- /value -->", "must not start a line"),
    ],
)
def test_bad_markers_name_the_file_and_line(results, marker, message):
    with pytest.raises(_render.RenderError, match=message) as info:
        _render.render_text(f"intro\n\n{marker}\n", results, where="page.md")
    assert "page.md:3" in str(info.value)


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


def test_list_elements_are_addressed_by_index_or_label(tmp_path):
    rows = [{"label": "n_iter=1", "v": 1.5}, {"label": "hidden () (tail)", "v": 2.5}]
    (tmp_path / "bench_y.json").write_text(json.dumps({"rows": rows}))
    text = (
        "a <!-- value: bench_y/rows/n_iter=1/v|.1f --><!-- /value -->, "
        "b <!-- value: bench_y/rows/hidden () (tail)/v|.1f --><!-- /value -->, "
        "c <!-- value: bench_y/rows/1/v|.2f --><!-- /value -->\n"
    )
    out = _render.render_text(text, tmp_path)
    assert "-->1.5<!--" in out and "-->2.5<!--" in out and "-->2.50<!--" in out
    with pytest.raises(_render.RenderError, match="no element with label 'nope'"):
        marker = "a <!-- value: bench_y/rows/nope/v|d --><!-- /value -->\n"
        _render.render_text(marker, tmp_path)


def test_json_without_provenance_says_so():
    note = _render._meta({"rows": []})
    assert note.startswith("Source: a run made before the benchmarks recorded")
    note = _render._meta({"command": "python benchmarks/bench_y.py"})
    assert note.startswith("Source: `python benchmarks/bench_y.py`, a run made before")
