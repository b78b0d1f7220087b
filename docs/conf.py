# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration for the svlearn documentation site.

Build (offline, warnings as errors, gallery not executed)::

    python -m sphinx -W -b html docs docs/_build/html -D plot_gallery=0

Set ``SVLEARN_DOCS_INTERSPHINX=1`` to link to the scikit-learn, numpy, Python and
PyTorch sites (needs the network); without it, references to those projects
are left as plain text and only svlearn's own references are checked.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import svlearn  # noqa: E402

project = "svlearn"
author = "The svlearn developers"
copyright = "The svlearn developers, BSD-3-Clause"
version = release = svlearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
html_static_path = ["_static"]
exclude_patterns = ["_build", "**/README.md"]
# The run reports under results/ are pages of their own (linked from
# results.md); their figure folders hold only images.

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()


def _own_methods():
    """Public methods that svlearn defines, per class, for the class template.

    Methods inherited from scikit-learn (``get_params``, ``set_*_request``...)
    are documented on scikit-learn's site; their docstrings cite labels that
    exist only there.
    """
    import inspect

    modules = [svlearn] + [
        svlearn.__getattr__(name) for name in ("metrics", "datasets", "plotting")
    ]
    out = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.isclass(obj):
                continue
            own = {
                attr
                for klass in obj.__mro__
                if klass.__module__.startswith("svlearn")
                for attr, value in vars(klass).items()
                if not attr.startswith("_")
                and callable(value)
                or isinstance(value, (classmethod, staticmethod))
            }
            out[f"{module.__name__}.{name}"] = sorted(
                a for a in own if not a.startswith("_")
            )
    return out


autosummary_context = {"own_methods": _own_methods()}

# The API tables show each docstring's first sentence; autosummary ends it at
# the first period unless the text before it is a known abbreviation, so
# "(paper Eq. 1)" would be cut after "Eq.".
import sphinx.ext.autosummary as _autosummary  # noqa: E402

_autosummary.WELL_KNOWN_ABBREVIATIONS += ("Eq.", "Fig.")

# Every cross-reference must resolve (``-W`` turns a miss into an error).
nitpicky = True

# -- Links to other projects (off unless asked for: the build is offline) ----
intersphinx_mapping = {}
if os.environ.get("SVLEARN_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "dask": ("https://docs.dask.org/en/stable", None),
    }
    nitpick_ignore_regex = []
else:
    # Offline, other projects' names cannot resolve: leave them as text, but
    # keep checking every reference into svlearn.
    nitpick_ignore_regex = [
        (
            r"py:.*",
            r"(sklearn|numpy|scipy|torch|skorch|joblib|matplotlib|dask|safetensors)"
            r"(\..*)?",
        ),
        (r"py:.*", r"(os|pathlib|collections)\..*"),
        (
            r"py:.*",
            r"(FileNotFoundError|ValueError|TypeError|int|float|str|bool|dict|"
            r"list|tuple|None|callable|object)",
        ),
    ]

# -- MyST (the user-guide pages are Markdown) --------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # From first steps to the paper's experiments; new examples go last.
    "within_subsection_order": ExplicitOrder(
        [
            "plot_quickstart.py",
            "plot_windowing_grid_search.py",
            "plot_table1_small.py",
            "plot_accuracy_speed.py",
            "plot_svd_light.py",
            "plot_rank_estimation.py",
            "plot_error_estimates.py",
            "plot_save_load.py",
            "plot_dask.py",
            "*",
        ]
    ),
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    # Examples link back to the API pages that use the same names.
    "doc_module": ("svlearn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"svlearn": None},
    "show_memory": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"svlearn {version}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_prev_next": True,
    # Home, install, user guide, examples, API; the rest under "More".
    "header_links_before_dropdown": 5,
    # API pages drop it (templates' sidebar_secondary.remove) to use the width.
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
# Keep quotes straight: parameter types quote code values ({"mse", "l1"}).
smartquotes = False
html_css_files = ["svlearn.css"]
