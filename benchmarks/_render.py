# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fill the marked tables and values of README.md and docs/*.md from JSON.

``<!-- table: bench_x/name -->...<!-- /table -->`` holds
``bench_x.tables(json)[name]``, built by ``benchmarks/bench_x.py`` from its
``benchmarks/results/bench_x.json`` (``bench_x/meta``: where that JSON comes
from; ``reports/name``: a table of ``_reports.py``, from every
``docs/results/<run>/report.json``). ``<!-- value: SOURCE/a/0/b|.3g -->...<!--
/value -->`` holds one measured value in prose: a path through dicts and lists
(an element by index or by its ``"label"``) and a format spec, or ``%`` and a
spec for a percentage; SOURCE is ``bench_x`` or ``report:RUN``. Inside a
Markdown table, write the separator ``\\|``. Markers in code are quoted, not
rendered. See docs/numbers.md.
"""

import importlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT, RESULTS = HERE.parent, HERE / "results"
REPORTS = ROOT / "docs" / "results"
# The benchmarks and this checkout's svlearn, as run_all.py gives the benchmarks.
sys.path[:0] = [str(HERE), str(ROOT)]
from _format import source_line  # noqa: E402

_MARKER = re.compile(r"<!-- (table|value): ([^>]+?) -->(.*?)<!-- /\1 -->", re.S)
_CODE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$|`[^`\n]+`", re.S | re.M)


# A data option's value in a recorded command: the folder the data sets were
# in on the machine that ran it, which readers replace by their own.
_DATA_ARG = re.compile(r"(--data(?:-dir|-home|set)?[ =])([^\s`]+)")


def portable_command(text):
    """Write the data folders of recorded commands in ``text`` as ``DATA_DIR``.

    A folder outside the checkout (absolute, or starting with ``..``) is the
    one of the machine that ran the command; a file in it keeps its name.

    Examples
    --------
    >>> portable_command("`bench.py --data-dir ../shared/data --seed 0`")
    '`bench.py --data-dir DATA_DIR --seed 0`'
    >>> portable_command("--data /srv/data/cifar10_gray_train.npz")
    '--data DATA_DIR/cifar10_gray_train.npz'
    >>> portable_command("--dataset cifar10 --data-home ~/data")
    '--dataset cifar10 --data-home ~/data'
    """

    def replace(match):
        value = match[2]
        if not value.startswith(("/", "..")):
            return match[0]
        name = Path(value).name
        return match[1] + ("DATA_DIR/" + name if "." in name else "DATA_DIR")

    return _DATA_ARG.sub(replace, text)


class RenderError(ValueError):
    """A marker that names an unknown table, file or JSON path."""


def _loader(results_dirs):
    def load(name):
        if name == "reports":
            runs = sorted(p.parent.name for p in REPORTS.glob("*/report.json"))
            return {run: load(f"report:{run}") for run in runs}
        if name.startswith("report:"):
            paths = [REPORTS / name[len("report:") :] / "report.json"]
        else:  # the first folder that has it (--quick's in front of the committed)
            paths = [Path(d) / f"{name}.json" for d in results_dirs]
        path = next((p for p in paths if p.is_file()), None)
        if path is None:
            raise RenderError(f"no JSON for {name!r}: {paths[-1]} does not exist")
        return json.loads(path.read_text())

    cache = {}
    return lambda name: cache.get(name) or cache.setdefault(name, load(name))


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
        # In a Markdown table a bare "|" would end the cell: "\|" there.
        name, *keys = path.strip().removesuffix("\\").split("/")
        value, fmt = lookup(load(name), keys), fmt.strip()
        if fmt.startswith("%"):  # a percentage with significant digits
            return format(100 * value, fmt[1:]) + "%"
        return format(value, fmt)
    name, _, table = spec.partition("/")
    if table == "meta":
        return f"\n{portable_command(source_line(load(name)))}\n"
    module = importlib.import_module("_reports" if name == "reports" else name)
    tables = module.tables(load(name))
    if table not in tables:
        raise RenderError(f"unknown table {spec!r}; {name} has {sorted(tables)}")
    return f"\n{tables[table]}\n"


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
    """Return ``text`` with every marker's contents regenerated.

    ``results_dir`` is a folder of JSON, or a list of folders searched in order.
    """
    dirs = [results_dir] if isinstance(results_dir, (str, Path)) else results_dir
    load, (text, pieces) = _loader(dirs), mask_code(text)

    def replace(match):
        kind, spec = match[1], match[2]
        line = _unmask(text[: match.start()], pieces).count("\n") + 1
        # CommonMark reads a line that starts with "<!--" as an HTML block,
        # which would cut the sentence around a value in two.
        if kind == "value" and not text[: match.start()].rsplit("\n", 1)[-1].strip():
            raise RenderError(f"{where}:{line}: a value marker must not start a line")
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
    """Rewrite the marked parts of ``paths`` (all documents); return those changed.

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
