# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Screenshot pages of the built documentation site in headless Chromium.

Build the site first, with the gallery executed so that its figures exist::

    python -m sphinx -b html docs docs/_build/html
    python docs/screenshots.py                    # PNGs in docs/_build/screenshots

Needs a Chromium binary (Debian: ``apt-get install chromium``); ``--chromium``
names another one. Look at the PNGs for what a reader would trip on: broken
math, unreadable tables, missing figures. ``--check-scroll`` instead loads
every page of the site at ``--width`` and exits 1 if one scrolls sideways (a
table or a code line wider than the page, instead of its own box).
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# Every top-level page, then the pages with the widest tables and figures.
PAGES = {
    "index": "index.html",
    "install": "install.html",
    "user_guide": "user_guide.html",
    "own_matrices": "own-matrices.html",
    "choosing": "choosing.html",
    "quantities": "quantities.html",
    "faq": "faq.html",
    "regressor": "regressor.html",
    "api": "api.html",
    "api_regressor": "generated/svlearn.SingularValueRegressor.html",
    "gallery_index": "auto_examples/index.html",
    "gallery_quickstart": "auto_examples/plot_quickstart.html",
    "benchmarks": "benchmarks.html",
    "performance_tables": "performance.html",
    "batches_and_sizes": "batches-and-sizes.html",
    "ablation": "ablation.html",
    "paper_comparison": "paper-comparison.html",
    "results": "results.html",
    "svdlight_tables": "svdlight.html",
    "development": "development.html",
    "numbers": "numbers.html",
    "changes": "changes.html",
    "citing": "citing.html",
}


def find_chromium(name=None):
    """Path of a Chromium executable, or raise FileNotFoundError."""
    candidates = [name] if name else ["chromium", "chromium-browser", "google-chrome"]
    for candidate in candidates:
        path = shutil.which(candidate)
        if path:
            return path
    raise FileNotFoundError(
        f"no Chromium among {candidates}; install Debian's 'chromium' package "
        "or pass --chromium PATH"
    )


def screenshot(chromium, html, png, width, height):
    """Save a ``width`` x ``height`` screenshot of the file ``html``."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # needed when run as root, e.g. in containers
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        html.resolve().as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot of {html}")


# Loads each page in a frame of the given width, then writes, for each, the
# width of its content and the width it has: a page scrolls sideways when the
# first exceeds the second.
_SCROLL_PROBE = """<html><body><pre id="out"></pre><script>
const pages = %s, out = [], frame = document.createElement("iframe");
frame.style.width = "%dpx"; frame.style.height = "900px";
document.body.appendChild(frame);
let i = 0;
function next() {
  if (i >= pages.length) {
    document.getElementById("out").textContent = "widths\\n" + out.join("\\n");
    return;
  }
  frame.onload = () => setTimeout(() => {
    const root = frame.contentDocument.documentElement;
    out.push(root.scrollWidth + " " + root.clientWidth + " " + pages[i]);
    i++;
    next();
  }, 200);
  frame.src = pages[i];
}
next();
</script></body></html>
"""


def pages_that_scroll_sideways(chromium, html, width):
    """The pages under ``html`` wider than a ``width``-pixel window."""
    pages = sorted(str(p.relative_to(html)) for p in html.rglob("*.html"))
    pages = [p for p in pages if not p.startswith(("_", "genindex", "search"))]
    probe = html / "_scroll_probe.html"
    probe.write_text(_SCROLL_PROBE % (json.dumps(pages), width))
    try:
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--allow-file-access-from-files", f"--window-size={width + 50},1000",
             "--virtual-time-budget=600000", "--dump-dom", probe.resolve().as_uri()],
            check=True, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        probe.unlink()
    rows = re.findall(r"^(\d+) (\d+) (\S+)$", done.stdout, re.M)
    if len(rows) != len(pages):
        raise RuntimeError(f"measured {len(rows)} of {len(pages)} pages")
    return [page for content, window, page in rows if int(content) > int(window)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", default=str(DOCS / "_build" / "html"))
    parser.add_argument("--out", default=str(DOCS / "_build" / "screenshots"))
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=None)
    parser.add_argument("--check-scroll", action="store_true")
    args = parser.parse_args(argv)

    chromium = find_chromium(args.chromium)
    html, out = Path(args.html), Path(args.out)
    if args.check_scroll:
        wide = pages_that_scroll_sideways(chromium, html, args.width)
        print("\n".join(wide) or f"no page scrolls sideways at {args.width} px")
        sys.exit(1 if wide else 0)
    missing = [p for p in PAGES.values() if not (html / p).is_file()]
    if missing:
        sys.exit(f"not built: {missing} under {html}; build the site first")
    out.mkdir(parents=True, exist_ok=True)
    for name in args.pages or PAGES:
        png = out / f"{name}.png"
        screenshot(chromium, html / PAGES[name], png, args.width, args.height)
        print(f"{png} ({png.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
