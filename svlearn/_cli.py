# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``svlearn`` command line (also ``python -m svlearn``)."""

import argparse
import contextlib
import io
import os
import re
import shlex
import sys

from ._version import __version__

_EPILOG = """\
examples:
  svlearn reproduce                      # embedded sample images, a few minutes
  svlearn reproduce --dataset cifar10 --data-home ~/data
  svlearn reproduce --dataset spambase --data-home ~/data
  svlearn reproduce --dataset my_matrices.npz --test-size 10000
"""


# Colour and cursor codes (skorch's epoch table colours its columns).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _PlainText(io.TextIOBase):
    """A text stream that passes text on to ``stream`` without ANSI codes."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        self._stream.write(_ANSI.sub("", text))
        return len(text)

    def flush(self):
        self._stream.flush()

    def isatty(self):
        return False


def _terminal(stdout, stderr, environ):
    """``(colour, bars)``: colours on stdout, progress bars on stderr.

    Both only on a terminal, so that ``svlearn reproduce > log`` writes one
    line per epoch or stage; a set ``NO_COLOR`` (https://no-color.org) turns
    colours off on a terminal too.
    """

    def tty(stream):
        return bool(getattr(stream, "isatty", lambda: False)())

    colour = tty(stdout) and not environ.get("NO_COLOR")
    return colour, tty(stderr)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _sizes(text):
    try:
        sizes = tuple(int(t) for t in text.replace(" ", "").split(",") if t)
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer widths like 128,128; got {text!r}"
        )
    return sizes


def _test_size(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value.is_integer() and value >= 1:
        return int(value)
    if 0 < value < 1:
        return value
    raise argparse.ArgumentTypeError(
        "expected a number of test matrices (an integer >= 1) or a fraction in "
        f"(0, 1); got {text!r}"
    )


def _parser():
    parser = argparse.ArgumentParser(
        prog="svlearn",
        description="Learn matrix singular values with neural networks (SV-Learn).",
    )
    parser.add_argument("--version", action="version", version=f"svlearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rep = sub.add_parser(
        "reproduce",
        help="the SV-Learn paper's Table I and Figures 2-6, with baselines",
        description=(
            "Train the paper-faithful network and svlearn's default model, "
            "compare them with zero-learning baselines and exact SVD (errors "
            "and timings), and write report.md, report.json, predictions.npz "
            "and Figures 2-6 as PNG into --out."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = rep.add_argument_group("data")
    data.add_argument(
        "--dataset",
        default="sample_images",
        metavar="{sample_images,cifar10,spambase,PATH}",
        help=(
            "sample_images (default): 32x32 gray windows of scikit-learn's two "
            "bundled images, trained on one and tested on the other, no network "
            "needed; cifar10: 50,000 train / 10,000 test images as 32x32 gray "
            "matrices; spambase: 32x32 windows of the 4601 x 58 Spambase matrix, "
            "under the paper's random split and a leakage-free row-block split; "
            "PATH: your own .npy or .npz file of matrices (see --test-size)"
        ),
    )
    data.add_argument(
        "--data-home",
        metavar="DIR",
        help=(
            "folder holding (or receiving) cifar-10-binary.tar.gz or "
            "spambase.data; default: scikit-learn's data home"
        ),
    )
    data.add_argument(
        "--no-download",
        action="store_true",
        help="never download: fail if the CIFAR-10 or Spambase file is missing",
    )
    data.add_argument(
        "--test-size",
        type=_test_size,
        default=None,
        metavar="N",
        help=(
            "for PATH without separate train/test arrays: the last N matrices "
            "(or, for 0 < N < 1, that fraction) form the test set, the ones "
            "before them the training set (default 0.2)"
        ),
    )
    data.add_argument(
        "--max-train",
        type=_positive_int,
        metavar="N",
        help="use a random subset of N training matrices (quick runs)",
    )
    data.add_argument(
        "--max-test",
        type=_positive_int,
        metavar="N",
        help="use a random subset of N test matrices (quick runs)",
    )
    model = rep.add_argument_group("networks (both the paper's and svlearn's)")
    model.add_argument(
        "--max-iter", type=_positive_int, metavar="N", help="number of epochs"
    )
    model.add_argument(
        "--hidden-layer-sizes",
        type=_sizes,
        metavar="W1,W2,...",
        help="hidden layer widths, e.g. 256,256",
    )
    model.add_argument("--batch-size", type=_positive_int, metavar="N")
    model.add_argument(
        "--device",
        default="cpu",
        help="torch device of the networks and of torch.linalg.svdvals (default cpu)",
    )
    run = rep.add_argument_group("run")
    run.add_argument(
        "--out",
        default="svlearn_results",
        metavar="DIR",
        help="output folder (default ./svlearn_results)",
    )
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        metavar="N",
        help="timings are the best of N runs (default 3)",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help=(
            "print errors and warnings only: no stage lines, no epoch log, no "
            "progress bars (output to a file or pipe already has no bars or "
            "colours)"
        ),
    )
    return parser


def _reproduce(args, parser):
    from ._reproduce import load_experiments, reproduce

    try:
        import matplotlib
    except ImportError:
        parser.exit(
            2,
            "svlearn reproduce: error: the figures need matplotlib; install it "
            "with `pip install 'sv-learn-mlp[plot]'` or `pip install matplotlib`.\n",
        )
    try:
        experiments = load_experiments(
            args.dataset,
            data_home=args.data_home,
            test_size=args.test_size,
            max_train=args.max_train,
            max_test=args.max_test,
            seed=args.seed,
            download=not args.no_download,
        )
    except (OSError, ValueError) as exc:
        # A missing, unreadable or malformed data file: say so, no traceback.
        parser.exit(2, f"svlearn reproduce: error: {exc}\n")

    matplotlib.use("Agg")  # files only; never open windows
    command = shlex.join(["svlearn", *args.argv])
    colour, bars = _terminal(sys.stdout, sys.stderr, os.environ)
    # verbose=2 adds skorch's per-batch progress bar to its epoch table.
    verbose = 0 if args.quiet else 2 if bars else 1
    with contextlib.redirect_stdout(sys.stdout if colour else _PlainText(sys.stdout)):
        reproduce(
            experiments,
            out_dir=args.out,
            seed=args.seed,
            device=args.device,
            verbose=verbose,
            repeats=args.repeats,
            progress=not args.quiet,
            command=command,
            dataset=args.dataset,
            max_iter=args.max_iter,
            hidden_layer_sizes=args.hidden_layer_sizes,
            batch_size=args.batch_size,
        )
    if not args.quiet:
        print(f"report: {args.out}/report.md")
    return 0


def main(argv=None):
    """Run the ``svlearn`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.

    Examples
    --------
    >>> from svlearn._cli import main
    >>> main(["--version"])
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command == "reproduce":
        return _reproduce(args, parser)
    parser.print_help()
    return 2
