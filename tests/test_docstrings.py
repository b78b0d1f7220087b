# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""numpydoc's own validator passes on every public object of svlearn.

Modelled on scikit-learn's ``sklearn/tests/test_docstrings.py``: every class
and function in a public module's ``__all__``, and every public method or
property that svlearn defines on those classes, is checked with
``numpydoc.validate.validate``, less the checks listed below.
"""

import importlib
import inspect

import pytest

import svlearn

validate = pytest.importorskip("numpydoc.validate").validate

PUBLIC_MODULES = ["svlearn", "svlearn.metrics", "svlearn.datasets"]
PUBLIC_MODULES += ["svlearn.plotting", "svlearn.utils", "svlearn.dask"]

# Checks skipped everywhere, as scikit-learn does:
# - GL01, GL02: the summary starts on the line of the opening quotes;
# - RT02: the first line of Returns names the returned object ("X_new :
#   ndarray"), as in scikit-learn.
IGNORED = {"GL01", "GL02", "RT02"}
# Checks skipped on methods and properties only: their class docstring holds
# the extended summary, the See Also links and the examples (scikit-learn).
IGNORED_ON_METHODS = {"ES01", "SA01", "EX01"}


def _public_objects():
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # svlearn.dask needs the optional dask
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            # Modules are documented on their own; a scorer is an instance of
            # scikit-learn's _Scorer, whose docstring is scikit-learn's.
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            path = f"{module_name}.{name}"
            yield path, None
            if inspect.isclass(obj):
                for attr in sorted(dir(obj)):
                    if attr.startswith("_"):
                        continue
                    owner = next(k for k in obj.__mro__ if attr in vars(k))
                    # Methods inherited from scikit-learn are checked there.
                    if owner.__module__.startswith("svlearn"):
                        yield f"{path}.{attr}", attr


OBJECTS = sorted(set(_public_objects()))


def test_every_public_module_is_checked():
    # A public module left out of PUBLIC_MODULES would escape the check.
    modules = [n for n in svlearn.__all__ if not n.startswith("_")]
    modules = [n for n in modules if inspect.ismodule(getattr(svlearn, n))]
    assert {f"svlearn.{n}" for n in modules} <= set(PUBLIC_MODULES)
    assert len(OBJECTS) > 50


@pytest.mark.parametrize("path, method", OBJECTS, ids=[p for p, _ in OBJECTS])
def test_docstring_passes_numpydoc_validation(path, method):
    result = validate(path)
    ignored = IGNORED | (IGNORED_ON_METHODS if method else set())
    errors = [(code, msg) for code, msg in result["errors"] if code not in ignored]
    assert not errors, f"{path}:\n" + "\n".join(f"{c}: {m}" for c, m in errors)
