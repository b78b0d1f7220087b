# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the experiment logic behind ``svlearn reproduce``."""

import json

import numpy as np
import pytest

from svlearn._baselines import RandomSpectrumBaseline
from svlearn._paper import PAPER_TABLE_I
from svlearn._reproduce import Experiment, load_experiments, models, reproduce


def test_paper_table_i_numbers():
    # Table I of the paper, NMSE as fractions.
    assert PAPER_TABLE_I["cifar10"] == {
        "nmse_mean": 0.0159, "nmse_std": 0.0089, "mae_mean": 43.36, "mae_std": 11.95,
    }  # fmt: skip
    assert PAPER_TABLE_I["spambase"] == {
        "nmse_mean": 0.0404, "nmse_std": 0.0289, "mae_mean": 1.00, "mae_std": 2.14,
    }  # fmt: skip


def test_random_spectrum_baseline():
    y = np.array([[5.0, 2.0, 1.0], [3.0, 1.0, 0.0]])
    one = RandomSpectrumBaseline(random_state=0).fit(None, y)
    S = one.predict(np.zeros((500, 9)))
    assert S.shape == (500, 3)
    assert (np.diff(S, axis=1) <= 0).all()
    assert S.min() >= 0 and S.max() <= 5.0
    # Uniform on [0, 5]: the largest of three draws has mean 3/4 * 5.
    assert S[:, 0].mean() == pytest.approx(3.75, abs=0.15)
    two = RandomSpectrumBaseline(random_state=0).fit(None, y)
    np.testing.assert_array_equal(S, two.predict(np.zeros((500, 9))))


def test_models_paper_network_and_overrides():
    est = models(matrix_shape=(4, 4), seed=1)
    paper, default = est["paper_net"][1], est["svlearn_default"][1]
    # The paper's network: two hidden layers, dropout, L1 loss, raw output.
    assert len(paper.hidden_layer_sizes) == 2 and paper.dropout > 0
    assert (paper.loss, paper.head) == ("l1", "raw")
    assert (
        default.get_params()
        == type(default)(matrix_shape=(4, 4), random_state=1, verbose=0).get_params()
    )
    est = models(matrix_shape=(4, 4), seed=1, max_iter=3, hidden_layer_sizes=(5,))
    for key in ("paper_net", "svlearn_default"):
        assert est[key][1].max_iter == 3
        assert est[key][1].hidden_layer_sizes == (5,)
    assert est["paper_net"][1].loss == "l1"
    scalings = [est[k][1].scaling for k in ("mean_spectrum", "frobenius_template")]
    assert scalings == ["none", "frobenius"]


def test_load_stack_last_matrices_test(tmp_path):
    X = np.arange(50 * 16, dtype=np.float32).reshape(50, 4, 4)
    np.savez(tmp_path / "m.npz", X=X)
    (exp,) = load_experiments(str(tmp_path / "m.npz"), test_size=10)
    assert exp.matrix_shape == (4, 4) and exp.paper is None
    np.testing.assert_array_equal(exp.X_train, X[:40].reshape(40, -1))
    np.testing.assert_array_equal(exp.X_test, X[40:].reshape(10, -1))
    assert "first 40 matrices of m.npz train, the last 10" in exp.protocol
    # A fraction, the default 0.2, and the archive's only array under any name.
    np.savez(tmp_path / "other.npz", images=X)
    (exp,) = load_experiments(str(tmp_path / "other.npz"))
    assert (len(exp.X_train), len(exp.X_test)) == (40, 10)
    np.save(tmp_path / "m.npy", X)
    (exp,) = load_experiments(str(tmp_path / "m.npy"), test_size=0.3)
    assert (len(exp.X_train), len(exp.X_test)) == (35, 15)


def test_load_explicit_train_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    A, B = rng.random((7, 3, 5)), rng.random((4, 3, 5))
    np.savez(tmp_path / "tt.npz", X_train=A, X_test=B)
    (exp,) = load_experiments(str(tmp_path / "tt.npz"), test_size=2)
    assert exp.matrix_shape == (3, 5)
    np.testing.assert_array_equal(exp.X_test, B.reshape(4, -1))
    np.savez(tmp_path / "bad.npz", X_train=A, X_test=B[:, :2])
    with pytest.raises(ValueError, match="3-D stacks of matrices of one shape"):
        load_experiments(str(tmp_path / "bad.npz"))


def test_load_single_matrix_windows_split_by_row_blocks(tmp_path):
    # Entry (i, j) = 1000 i + j tells each window's rows.
    M = 1000.0 * np.arange(400)[:, None] + np.arange(40)
    np.save(tmp_path / "big.npy", M)
    (exp,) = load_experiments(str(tmp_path / "big.npy"), test_size=0.25, seed=0)
    assert exp.matrix_shape == (32, 32)
    assert exp.X_train.shape[1] == exp.X_test.shape[1] == 1024
    assert "of 12 blocks held out" in exp.protocol  # 400 // 32 blocks
    # Windows straddling a train/test boundary are dropped from the full
    # sweep of offsets (the last row offset included, unlike Spambase's)...
    assert len(exp.X_train) + len(exp.X_test) < (400 - 32 + 1) * (40 - 32 + 1)
    last_window = M[400 - 32 :, :32].ravel()
    assert any((w == last_window).all() for w in [*exp.X_train, *exp.X_test])

    def rows(W):
        return set(np.unique(W // 1000).astype(int))

    # ...so no matrix row is in both sets.
    assert rows(exp.X_train) and rows(exp.X_test)
    assert not rows(exp.X_train) & rows(exp.X_test)
    with pytest.raises(ValueError, match="--test-size must then be a fraction"):
        load_experiments(str(tmp_path / "big.npy"), test_size=100)
    np.save(tmp_path / "small.npy", M[:60])
    with pytest.raises(ValueError, match="needs at least 64 rows and 32 columns"):
        load_experiments(str(tmp_path / "small.npy"))


@pytest.mark.parametrize("test_size", [50, 1.0 - 1e-9])
def test_load_test_size_leaving_nothing(tmp_path, test_size):
    np.save(tmp_path / "s.npy", np.ones((50, 4, 4)))
    with pytest.raises(ValueError, match="leaves no training or no test matrix"):
        load_experiments(str(tmp_path / "s.npy"), test_size=test_size)


def test_load_subsets_are_reproducible(tmp_path):
    X = np.random.default_rng(0).random((60, 4, 4))
    np.save(tmp_path / "s.npy", X)
    kwargs = dict(test_size=20, max_train=7, max_test=5, seed=4)
    (one,) = load_experiments(str(tmp_path / "s.npy"), **kwargs)
    (two,) = load_experiments(str(tmp_path / "s.npy"), **kwargs)
    assert (len(one.X_train), len(one.X_test)) == (7, 5)
    np.testing.assert_array_equal(one.X_train, two.X_train)
    assert "7 of 40 training and 5 of 20 test" in one.notes[0]
    flat = X.reshape(60, -1)
    assert all(any((row == flat[:40]).all(1)) for row in one.X_train)
    assert all(any((row == flat[40:]).all(1)) for row in one.X_test)


def test_load_sample_images_default():
    (exp,) = load_experiments()
    assert exp.key == "sample_images" and exp.matrix_shape == (32, 32)
    assert exp.X_train.shape == exp.X_test.shape == (3850, 1024)


def test_reproduce_python_api(tmp_path):
    rng = np.random.default_rng(1)
    X = (rng.random((48, 6, 2)) @ rng.random((48, 2, 6))).reshape(48, -1)
    exp = Experiment(
        "toy", "toy", "Toy split.", X[:36], X[36:], (6, 6), paper="spambase"
    )
    report = reproduce(
        [exp], out_dir=tmp_path, seed=0, verbose=0, repeats=2, progress=False,
        max_iter=1, hidden_layer_sizes=(4,),
    )  # fmt: skip
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(
        json.dumps(report)
    )
    (res,) = report["experiments"]
    assert res["paper"] == PAPER_TABLE_I["spambase"]
    assert res["timing"]["repeats"] == 2
    md = (tmp_path / "report.md").read_text()
    assert "| *paper, Table I (as reported)* | 4.04% ± 2.89% | 1.00 ± 2.14 |" in md
    # The whole-spectrum columns stand beside NMSE and MAE; the paper has none.
    assert (
        "| NMSE (mean ± std) | MAE (mean ± std) | worst-index relative error "
        "(median) | log-spectral distance (mean ± std) |"
    ) in md
    assert "| 4.04% ± 2.89% | 1.00 ± 2.14 | — | — | — |" in md
    saved = np.load(tmp_path / res["predictions"])
    y_true = saved["y_true"]
    floor = 1e-6 * y_true[:, :1]
    for row in res["models"]:
        if row["key"] == "exact_svd":
            assert row["worst_index_relative_error"] == row["lsd_mean"] == 0.0
            assert "| 0 (ground truth) | 0 (ground truth) | 0 (ground truth) |" in md
            continue
        y_pred = saved[f"y_pred__{row['key']}"]
        # By hand: the median over matrices of each index's relative error...
        rel = np.abs(y_pred - y_true) / np.maximum(y_true, floor)
        median = np.median(rel, axis=0)
        np.testing.assert_allclose(row["relative_error_per_index"], median)
        assert row["worst_index_relative_error"] == pytest.approx(median.max())
        # ...and the RMS over indices of the floored log10 ratio.
        logs = np.log10(np.maximum(y_pred, floor)) - np.log10(np.maximum(y_true, floor))
        lsd = np.sqrt(np.mean(logs**2, axis=1))
        assert row["lsd_mean"] == pytest.approx(lsd.mean())
        assert row["lsd_std"] == pytest.approx(lsd.std(), abs=1e-12)
        worst = f"{100 * row['worst_index_relative_error']:.3g}%"
        lsd_cell = f"{row['lsd_mean']:.4g} ± {row['lsd_std']:.4g}"
        assert f"| {worst} | {lsd_cell} |" in md
    rec = res["reconstruction"]
    assert rec["k"] == 5
    # The truncated SVD is optimal (Eckart-Young) among rank-5 reconstructions.
    assert rec["truncated SVD (true values)"] <= min(
        v for key, v in rec.items() if key != "k"
    )
