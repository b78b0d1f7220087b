# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Every public callable documents each of its parameters (numpydoc style)."""

import inspect
import re

import pytest

import svlearn
import svlearn.datasets
import svlearn.metrics
import svlearn.plotting


def _public_callables():
    for module in (svlearn, svlearn.metrics, svlearn.datasets, svlearn.plotting):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj
                for meth in ("fit", "predict", "transform", "score", "decompose"):
                    if meth in vars(obj):
                        yield f"{module.__name__}.{name}.{meth}", getattr(obj, meth)
            elif inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj


def _documented(doc):
    section = re.search(
        r"Parameters\n\s*-+\n(.*?)(\n\s*\n\s*[A-Z][a-z ]+\n\s*-+\n|$)", doc, re.S
    )
    if not section:
        return set()
    names = set()
    lines = [line for line in section.group(1).splitlines() if line.strip()]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    for line in lines:
        # Parameter lines sit at the section's indentation; descriptions deeper.
        match = re.match(r"(\*{0,2}[\w, ]+?)\s*:", line[indent:])
        if match and len(line) - len(line.lstrip()) == indent:
            names.update(n.strip() for n in match.group(1).split(","))
    return names


@pytest.mark.parametrize(
    "name, obj",
    list(_public_callables()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_parameters_are_documented(name, obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = [
        ("**" + p.name) if p.kind is p.VAR_KEYWORD else p.name
        for p in inspect.signature(target).parameters.values()
        if p.name not in ("self", "cls") and p.kind is not p.VAR_POSITIONAL
    ]
    doc = inspect.getdoc(obj) or ""
    missing = [p for p in params if p not in _documented(doc)]
    assert not missing, f"{name} does not document {missing}"
