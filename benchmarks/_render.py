# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fill the marked tables and values of README.md and docs/*.md from JSON.

Two markers, whose contents are rewritten and never typed by hand:

* ``<!-- table: bench_x/name -->...<!-- /table -->`` holds
  ``bench_x.tables(json)[name]``, the table ``name`` that the benchmark
  ``benchmarks/bench_x.py`` builds from its JSON ``benchmarks/results/bench_x.json``;
  ``bench_x/meta`` is the source line of that JSON (command, commit, versions);
  ``reports/name`` is a table of ``benchmarks/_reports.py``, built from every
  ``svlearn reproduce`` report in ``docs/results/<run>/report.json``.
* ``<!-- value: SOURCE/a/b/0|.3g -->...<!-- /value -->`` holds one measured
  value of a JSON inside prose: a path through dicts and lists (an element of
  a list by index or by its ``"label"``), then a format spec, or ``%`` and a
  spec for a percentage (``%.3g`` writes 0.000335 as ``0.0335%``). SOURCE is
  ``bench_x`` or ``report:RUN`` (``docs/results/RUN/report.json``).

Markers inside code (fenced blocks, inline spans) are quoted, not rendered.
``python benchmarks/run_all.py --render-only`` rewrites the files and
``--check`` fails when one is out of date with its JSON.
"""

import importlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
REPORTS = ROOT / "docs" / "results"
# The benchmarks and this checkout's svlearn, as run_all.py gives the benchmarks.
sys.path[:0] = [str(HERE), str(ROOT)]
from _format import source_line  # noqa: E402

_MARKER = re.compile(r"<!-- (table|value): ([^>]+?) -->(.*?)<!-- /\1 -->", re.S)
_CODE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$|`[^`\n]+`", re.S | re.M)


class RenderError(ValueError):
    """A marker that names an unknown table, file or JSON path."""


def source_path(name, results_dir=RESULTS):
    """The JSON behind a source ``name``; ``results_dir`` may list folders."""
    if name.startswith("report:"):
        return REPORTS / name.split(":", 1)[1] / "report.json"
    dirs = [results_dir] if isinstance(results_dir, (str, Path)) else results_dir
    paths = [Path(d) / f"{name}.json" for d in dirs]
    return next((p for p in paths if p.is_file()), paths[-1])


def _loader(results_dir):
    cache = {}

    def load(name):
        if name == "reports":
            paths = sorted(REPORTS.glob("*/report.json"))
            return {p.parent.name: load(f"report:{p.parent.name}") for p in paths}
        if name not in cache:
            path = source_path(name, results_dir)
            if not path.is_file():
                raise RenderError(f"no JSON for {name!r}: {path} does not exist")
            cache[name] = json.loads(path.read_text())
        return cache[name]

    return load


def lookup(data, keys):
    """Follow ``keys`` through dicts and lists (by index or ``"label"``)."""
    for key in keys:
        if isinstance(data, list) and not key.lstrip("-").isdigit():
            data = next((r for r in data if r.get("label") == key), KeyError)
            if data is KeyError:
                raise RenderError(f"no element with label {key!r}")
        elif isinstance(data, list) or (isinstance(data, dict) and key in data):
            data = data[int(key) if isinstance(data, list) else key]
        else:
            raise RenderError(f"no key {key!r} on the way to {'/'.join(keys)!r}")
    return data


def _render_marker(kind, spec, load):
    if kind == "value":
        path, _, fmt = spec.partition("|")
        name, *keys = path.strip().split("/")
        value, fmt = lookup(load(name), keys), fmt.strip()
        if fmt.startswith("%"):
            return format(100 * value, fmt[1:]) + "%"
        return format(value, fmt)
    name, _, table = spec.partition("/")
    if table == "meta":
        return "\n" + source_line(load(name)) + "\n"
    module = importlib.import_module("_reports" if name == "reports" else name)
    tables = module.tables(load(name))
    if table not in tables:
        raise RenderError(f"unknown table {spec!r}; {name} has {sorted(tables)}")
    return "\n" + tables[table] + "\n"


def mask_code(text):
    """Replace code blocks and spans by placeholders; return text and pieces."""
    pieces = []

    def hide(match):
        pieces.append(match[0])
        return f"\0{len(pieces) - 1}\0"

    return _CODE.sub(hide, text), pieces


def _unmask(text, pieces):
    return re.sub(r"\0(\d+)\0", lambda m: pieces[int(m[1])], text)


def render_text(text, results_dir=RESULTS, where="<text>"):
    """Return ``text`` with every marker's contents regenerated."""
    load = _loader(results_dir)
    text, pieces = mask_code(text)

    def replace(match):
        kind, spec = match[1], match[2]
        line = _unmask(text[: match.start()], pieces).count("\n") + 1
        # CommonMark reads a line that starts with "<!--" as an HTML block,
        # which would cut the sentence around a value in two.
        if kind == "value":
            before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
            if not before.strip():
                raise RenderError(f"{where}:{line}: a value must not start a line")
        try:
            body = _render_marker(kind, spec.strip(), load)
        except (RenderError, ImportError, LookupError, ValueError, TypeError) as exc:
            raise RenderError(f"{where}:{line}: {match[0][:80]!r}: {exc}") from exc
        return f"<!-- {kind}: {spec} -->{body}<!-- /{kind} -->"

    return _unmask(_MARKER.sub(replace, text), pieces)


def documents(root=ROOT):
    """The Markdown files whose numbers are rendered."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def render_files(paths=None, results_dir=RESULTS, check=False):
    """Rewrite the marked parts of ``paths``; return the files that changed.

    With ``check=True`` nothing is written: the returned files are those whose
    numbers differ from their JSON.
    """
    changed = []
    for path in paths or documents():
        text = path.read_text()
        new = render_text(text, results_dir, where=str(path))
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new)
    return changed
