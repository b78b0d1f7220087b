# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of the ``svlearn`` command (``svlearn reproduce``)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from svlearn import __version__
from svlearn._cli import main

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _tiny_stack(path, n=60, m=8, rank=2, seed=0):
    """A .npz of n low-rank-plus-noise m x m matrices (key "X")."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, m, rank)) @ rng.random((n, rank, m))
    X += 0.05 * rng.random((n, m, m))
    np.savez(path, X=X.astype(np.float32))
    return X.astype(np.float32)


def _nmse(s, t):
    # Paper Eq. 1, written out independently of svlearn.metrics.
    return np.array([np.sum((a - b) ** 2) / np.sum(a**2) for a, b in zip(s, t)])


def _mae(s, t):
    return np.array([np.mean(np.abs(a - b)) for a, b in zip(s, t)])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Run ``svlearn reproduce`` once on a tiny file; return (report, out, X)."""
    tmp = tmp_path_factory.mktemp("reproduce")
    X = _tiny_stack(tmp / "tiny.npz")
    out = tmp / "out"
    argv = [
        "reproduce",
        "--dataset", str(tmp / "tiny.npz"),
        "--test-size", "20",
        "--max-iter", "1",
        "--hidden-layer-sizes", "8",
        "--batch-size", "16",
        "--repeats", "1",
        "--seed", "3",
        "--out", str(out),
        "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    return report, out, X


def test_report_metrics_recomputed_from_predictions(tiny_run):
    report, out, X = tiny_run
    (exp,) = report["experiments"]
    assert (exp["n_train"], exp["n_test"]) == (40, 20)
    assert exp["matrix_shape"] == [8, 8]
    saved = np.load(out / exp["predictions"])
    # The ground truth is the exact spectrum of the file's last 20 matrices.
    truth = np.linalg.svd(X[-20:].astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(saved["y_true"], truth, rtol=1e-5, atol=1e-6)
    keys = {row["key"] for row in exp["models"]}
    assert keys == {
        "paper_net", "svlearn_default", "mean_spectrum", "frobenius_template",
        "power_template", "random", "exact_svd",
    }  # fmt: skip
    for row in exp["models"]:
        if row["key"] == "exact_svd":
            assert row["nmse_mean"] == row["mae_mean"] == 0.0
            continue
        y_pred = saved[f"y_pred__{row['key']}"]
        assert y_pred.shape == truth.shape
        nmse, mae = _nmse(truth, y_pred), _mae(truth, y_pred)
        assert row["nmse_mean"] == pytest.approx(nmse.mean(), rel=1e-4)
        assert row["nmse_std"] == pytest.approx(nmse.std(), rel=1e-4, abs=1e-12)
        assert row["mae_mean"] == pytest.approx(mae.mean(), rel=1e-4)
        assert row["mae_std"] == pytest.approx(mae.std(), rel=1e-4, abs=1e-12)
        # Timing fields are measured, positive and consistent.
        assert row["predict_time_s"] > 0 and row["fit_time_s"] >= 0
        assert row["predict_time_per_matrix_s"] == pytest.approx(
            row["predict_time_s"] / 20
        )
        assert row["speedup_vs_numpy"] == pytest.approx(
            exp["timing"]["numpy_svd_time_s"] / row["predict_time_s"]
        )
    # The random baseline draws valid spectra within [0, max training s1].
    rand = saved["y_pred__random"]
    s1_max = np.linalg.svd(X[:40].astype(np.float64), compute_uv=False).max()
    assert (
        np.diff(rand, axis=1) <= 0
    ).all() and 0 <= rand.min() <= rand.max() <= s1_max
    nets = [r for r in exp["models"] if r["key"] in ("paper_net", "svlearn_default")]
    assert [r["n_iter"] for r in nets] == [1, 1]
    assert [r["params"]["hidden_layer_sizes"] for r in nets] == [[8], [8]]
    assert nets[0]["params"]["loss"] == "l1" and nets[0]["params"]["dropout"] > 0


def test_every_figure_is_a_valid_png(tiny_run):
    import matplotlib.image as mpimg

    report, out, _ = tiny_run
    (exp,) = report["experiments"]
    assert set(exp["figures"]) == {"fig2", "fig3", "fig5", "fig6"}
    listed = {out / path for path in exp["figures"].values()}
    assert listed == set(out.rglob("*.png"))
    for path in listed:
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000, path
        image = mpimg.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 100
        assert image.std() > 0.01, f"{path} is blank"


def test_report_markdown(tiny_run):
    report, out, _ = tiny_run
    md = (out / "report.md").read_text()
    assert md.startswith("# svlearn reproduce: report")
    assert "--max-iter 1" in report["command"] and "--max-iter 1" in md
    # The paper's Table I stands in every report.
    assert "1.59% ± 0.89%" in md and "4.04% ± 2.89%" in md
    (exp,) = report["experiments"]
    for row in exp["models"]:
        assert f"| {row['name']} |" in md
    for path in exp["figures"].values():
        assert f"]({path})" in md
    env = report["environment"]
    assert env["torch_threads"] >= 1 and env["cpu_cores_available"] >= 1


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "neither sample_images, cifar10 or spambase nor an existing"),
        (b"not a numpy file", "could not read .* as a .npy/.npz file"),
        ("vector", "must hold a numeric 2-D matrix or 3-D stack"),
        ("nan", "holds complex, NaN or infinite values"),
        ("other_keys", r"key='X' is not in .*; it holds \['A', 'B'\]"),
    ],
)
def test_clear_error_for_missing_or_malformed_file(tmp_path, capsys, content, match):
    path = tmp_path / "data.npz"
    if content == "vector":
        path = tmp_path / "data.npy"
        np.save(path, np.zeros(5))
    elif content == "nan":
        X = np.ones((10, 4, 4))
        X[2, 1, 1] = np.nan
        np.savez(path, X=X)
    elif content == "other_keys":
        np.savez(path, A=np.zeros((3, 4, 4)), B=np.zeros((3, 4, 4)))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--dataset", str(path), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("svlearn reproduce: error: ")
    assert re.search(match, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_missing_dataset_file_offline(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(
            ["reproduce", "--dataset", "spambase", "--data-home", str(tmp_path),
             "--no-download"]
        )  # fmt: skip
    assert exc.value.code == 2
    assert "spambase.data" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, match",
    [
        (["--hidden-layer-sizes", "0,4"], "positive layer widths"),
        (["--max-iter", "-1"], "positive integer"),
        (["--test-size", "1.5"], "a fraction in"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments(capsys, args, match):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", *args])
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "reproduce" in capsys.readouterr().out


def test_python_dash_m_and_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "svlearn", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"svlearn {__version__}"
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    assert 'svlearn = "svlearn._cli:main"' in pyproject.read_text()


def test_clear_error_without_matplotlib(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    with pytest.raises(SystemExit) as exc:
        main(["reproduce"])
    assert exc.value.code == 2
    assert "the figures need matplotlib" in capsys.readouterr().err


def _run_to_files(tmp_path, *extra, env=None):
    """Run a tiny ``svlearn reproduce`` with stdout and stderr sent to files."""
    _tiny_stack(tmp_path / "tiny.npz")
    argv = [
        sys.executable, "-m", "svlearn", "reproduce",
        "--dataset", str(tmp_path / "tiny.npz"),
        "--test-size", "20", "--max-iter", "3", "--hidden-layer-sizes", "8",
        "--batch-size", "16", "--repeats", "1", "--out", str(tmp_path / "out"),
        *extra,
    ]  # fmt: skip
    with open(tmp_path / "out.log", "w") as out, open(tmp_path / "err.log", "w") as err:
        subprocess.run(argv, stdout=out, stderr=err, check=True, env=env, timeout=300)
    return (tmp_path / "out.log").read_text(), (tmp_path / "err.log").read_text()


def test_output_to_a_file_has_no_carriage_returns_or_ansi_codes(tmp_path):
    out, err = _run_to_files(tmp_path)
    for text in (out, err):
        assert "\r" not in text and "\x1b" not in text, repr(text[:500])
    # One line per epoch of each network (two networks, three epochs each) ...
    epochs = [line.split()[0] for line in out.splitlines() if line[:1] == " "]
    assert epochs.count("1") == epochs.count("3") == 2, out
    # ... and one line per stage, counted in words a reader expects.
    assert "(1 round)" in err and "rounds)" not in err
    assert out.rstrip().endswith("report.md")


def test_quiet_prints_only_errors_and_warnings(tmp_path):
    out, err = _run_to_files(tmp_path, "--quiet")
    assert out == ""
    # Tiny data warns that it is too small to calibrate error estimates.
    assert "[svlearn]" not in err and "epoch" not in err


@pytest.mark.parametrize(
    "stdout_tty, stderr_tty, environ, expected",
    [
        (True, True, {}, (True, True)),
        (True, True, {"NO_COLOR": "1"}, (False, True)),
        (False, False, {}, (False, False)),
        (True, False, {}, (True, False)),
    ],
)
def test_colours_and_bars_only_on_a_terminal(stdout_tty, stderr_tty, environ, expected):
    from svlearn._cli import _terminal

    class Stream:
        def __init__(self, tty):
            self.isatty = lambda: tty

    assert _terminal(Stream(stdout_tty), Stream(stderr_tty), environ) == expected


def test_plain_text_stream_drops_ansi_codes():
    import io

    from svlearn._cli import _PlainText

    sink = io.StringIO()
    stream = _PlainText(sink)
    stream.write("\x1b[36m0.123\x1b[0m  \x1b[32m4.5\x1b[0m\n")
    assert sink.getvalue() == "0.123  4.5\n" and not stream.isatty()
