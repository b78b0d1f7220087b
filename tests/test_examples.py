# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Every example script of the gallery runs to the end."""

import runpy
from pathlib import Path

import matplotlib
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


def test_gallery_has_the_examples():
    # The gallery the documentation promises (docs/index.md, examples/README.txt).
    assert len(EXAMPLES) >= 9, [p.name for p in EXAMPLES]
    for path in EXAMPLES:
        head = path.read_text().split('"""')[1].strip().splitlines()
        # An RST title framed by "=" lines exactly as long as the title.
        assert len(head) >= 3 and set(head[0]) == {"="} == set(head[2]), path.name
        assert len(head[0]) == len(head[1]) == len(head[2]), path.name
        assert "# %%" in path.read_text(), path.name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # plt.show() does nothing useful under Agg; close the figures instead.
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: plt.close("all"))
    monkeypatch.chdir(path.parent)
    runpy.run_path(str(path), run_name="__main__")
    plt.close("all")
