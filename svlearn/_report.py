# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Figures, ``report.json`` and ``report.md`` of ``svlearn reproduce``."""

import json
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

# Short labels of the networks in the figures.
_SHORT = {"paper_net": "paper net", "svlearn_default": "svlearn"}


def _save(display, path):
    import matplotlib.pyplot as plt

    display.figure_.savefig(path, dpi=110)
    plt.close(display.figure_)


def draw_figures(exp, folder, X_test, y_true, preds, fitted, *, seed, svdlight_k):
    """Draw Figures 2-6 for one experiment; return ``{figure: file name}``."""
    from ._svd import SVDLight, reconstruct
    from .plotting import ErrorHistogramDisplay, ReconstructionDisplay, SpectrumDisplay

    shape = tuple(exp.matrix_shape)
    r = min(shape)
    nets = {_SHORT[k]: preds[k] for k in _SHORT}
    names = {}

    disp = ErrorHistogramDisplay.from_predictions(y_true, nets)
    disp.figure_.suptitle(f"Fig. 2 - per-matrix errors on {exp.title}")
    names["fig2"] = "fig2_error_histograms.png"
    _save(disp, folder / names["fig2"])

    # The paper's Figure 3 is CIFAR-10, Figure 4 Spambase; user data is "3".
    fig = "fig4" if exp.paper == "spambase" else "fig3"
    disp = SpectrumDisplay.from_predictions(
        y_true, nets, X=X_test, matrix_shape=shape, n_samples=4, random_state=seed
    )
    disp.figure_.suptitle(f"Fig. {fig[-1]} - predicted vs true spectra, {exp.title}")
    names[fig] = f"{fig}_spectra.png"
    _save(disp, folder / names[fig])

    disp = ReconstructionDisplay.from_predictions(
        X_test, nets, ks=(1, 2, 5, 32), matrix_shape=shape, random_state=seed
    )
    disp.figure_.suptitle(
        f"Fig. 5 - rank-k reconstructions of test matrix {disp.sample_index_} "
        "(true singular vectors)"
    )
    names["fig5"] = "fig5_reconstruction_ranks.png"
    _save(disp, folder / names["fig5"])

    # Figure 6: three test matrices rebuilt from real, random and predicted
    # singular values (true vectors, full rank) and by SVD-LIGHT.
    rng = check_random_state(seed)
    idx = np.sort(rng.choice(len(X_test), size=min(3, len(X_test)), replace=False))
    X_sel = X_test[idx].astype(np.float64)
    svdl = SVDLight(
        k=min(svdlight_k, r), regressor=fitted["paper_net"], random_state=seed
    ).fit(X_sel)
    sources = {
        "real Σ": y_true[idx],
        "random Σ": preds["random"][idx],
        **{f"{name} Σ": y[idx] for name, y in nets.items()},
    }
    recs = {
        key: reconstruct(X_sel, s, k=r, matrix_shape=shape)
        for key, s in sources.items()
    }
    recs[f"SVD-LIGHT (k={svdl.k})"] = svdl.transform(X_sel)
    disp = ReconstructionDisplay.from_reconstructions(
        X_sel, recs, sample_indices=range(len(idx)), matrix_shape=shape
    )
    for a, i in zip(disp.ax_[:, 0], idx):
        a.set_ylabel(f"matrix {i}", fontsize="small")
    disp.figure_.suptitle(f"Fig. 6 - reconstructions, {exp.title}")
    names["fig6"] = "fig6_reconstructions.png"
    _save(disp, folder / names["fig6"])
    return names


def reconstruction_errors(X_test, y_true, preds, paper_net, shape, seed, k):
    """Mean relative Frobenius error of rank-k reconstructions on the test set.

    With the true singular vectors, ``||M - U_k diag(t_k) V_k^T||_F`` equals
    ``sqrt(sum_{i<=k} (s_i - t_i)**2 + sum_{i>k} s_i**2)``, so those rows come
    from the spectra; SVD-LIGHT (Algorithm 1, paper net values) is run.
    """
    from ._svd import SVDLight

    k = min(k, min(shape))
    norm = np.sqrt((y_true**2).sum(axis=1))

    def from_values(t):
        err = ((y_true[:, :k] - t[:, :k]) ** 2).sum(axis=1)
        err += (y_true[:, k:] ** 2).sum(axis=1)
        return float(np.mean(np.sqrt(err) / norm))

    out = {"k": k, "truncated SVD (true values)": from_values(y_true)}
    for key, name in _SHORT.items():
        out[f"{name} values, true vectors"] = from_values(preds[key])
    out["random values, true vectors"] = from_values(preds["random"])
    svdl = SVDLight(k=k, regressor=paper_net, random_state=seed).fit(X_test[:1])
    R = svdl.transform(X_test)
    err = np.linalg.norm(X_test - R, axis=1) / np.linalg.norm(X_test, axis=1)
    out["SVD-LIGHT (paper net values)"] = float(np.mean(err))
    return out


def _pm(mean, std, percent=False):
    if mean is None:
        return "—"
    if percent:
        return f"{100 * mean:.3g}% ± {100 * std:.3g}%"
    return f"{mean:.4g} ± {std:.4g}"


def _table(result):
    paper = result["paper"]
    lines = [
        "| model | NMSE (mean ± std) | MAE (mean ± std) | training time (s) | "
        "prediction time per matrix (µs) | throughput × numpy SVD | "
        "throughput × torch svdvals |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    if paper is not None:
        lines.append(
            f"| *paper, Table I (as reported)* | "
            f"{_pm(paper['nmse_mean'], paper['nmse_std'], True)} | "
            f"{paper['mae_mean']:.2f} ± {paper['mae_std']:.2f} | — | — | — | — |"
        )
    for row in result["models"]:
        exact = row["key"] == "exact_svd"
        nmse = (
            "0 (ground truth)"
            if exact
            else _pm(row["nmse_mean"], row["nmse_std"], True)
        )
        mae = "0 (ground truth)" if exact else _pm(row["mae_mean"], row["mae_std"])
        fit = "—" if exact else f"{row['fit_time_s']:.3g}"
        lines.append(
            f"| {row['name']} | {nmse} | {mae} | {fit} | "
            f"{1e6 * row['predict_time_per_matrix_s']:.3g} | "
            f"{row['speedup_vs_numpy']:.3g} | {row['speedup_vs_torch']:.3g} |"
        )
    return "\n".join(lines)


def _markdown(report):
    env = report["environment"]
    pools = ", ".join(f"{p['api']} {p['num_threads']}" for p in env["threadpools"])
    out = [
        "# svlearn reproduce: report",
        "",
        f"Command: `{report['command']}`",
        "",
        f"svlearn {env['svlearn']}, Python {env['python']}, numpy {env['numpy']}, "
        f"scikit-learn {env['scikit-learn']}, torch {env['torch']} on "
        f"{env['platform']}; {env['cpu_cores_available']} CPU cores available, "
        f"torch threads {env['torch_threads']}, thread pools: {pools}. "
        f"Total time {report['total_time_s']:.1f} s.",
        "",
        "NMSE and MAE are the paper's Eq. 1, computed per test matrix; the "
        "table gives their mean ± standard deviation over the test matrices. "
        "Times are the best of "
        f"{report['config']['repeats']} runs in this process, on the same "
        "float32 test matrices; a throughput ratio above 1 means faster than "
        "exact batched singular values.",
    ]
    names = {"cifar10": "CIFAR-10", "spambase": "Spambase"}
    out += [
        "",
        "## The paper's Table I (as reported)",
        "",
        "| data set | NMSE (mean ± std) | MAE (mean ± std) |",
        "|---|---|---|",
        *[
            f"| {names[key]} | {_pm(p['nmse_mean'], p['nmse_std'], True)} | "
            f"{p['mae_mean']:.2f} ± {p['mae_std']:.2f} |"
            for key, p in report["paper_table_i"].items()
        ],
    ]
    for res in report["experiments"]:
        t = res["timing"]
        m, n = res["matrix_shape"]
        out += [
            "",
            f"## {res['title']}",
            "",
            f"{res['protocol']} {res['n_train']} training and {res['n_test']} "
            f"test matrices of shape {m} x {n}.",
            *[f"\n{note}" for note in res["notes"]],
            "",
            "### Table I",
            "",
            _table(res),
            "",
            f"Exact singular values of the {res['n_test']} test matrices, "
            f"batched: numpy/LAPACK {t['numpy_svd_time_s']:.3g} s, "
            f"torch.linalg.svdvals ({t['device']}) "
            f"{t['torch_svdvals_time_s']:.3g} s. The networks train on exact "
            f"targets computed once in float64 ({t['target_svd_time_s']:.3g} s, "
            "not included in their training time).",
            "",
            f"### Reconstruction error at rank k = {res['reconstruction']['k']}",
            "",
            "Mean relative Frobenius error ||M - M_k|| / ||M|| over the test matrices.",
            "",
            "| reconstruction | relative error |",
            "|---|---:|",
            *[
                f"| {key} | {value:.4f} |"
                for key, value in res["reconstruction"].items()
                if key != "k"
            ],
            "",
            "### Figures",
            "",
            *[f"![{key}]({path})\n" for key, path in sorted(res["figures"].items())],
        ]
    return "\n".join(out) + "\n"


def write_report(report, out_dir):
    """Write ``report.json`` and ``report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    with open(out_dir / "report.json", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    (out_dir / "report.md").write_text(_markdown(report), encoding="utf-8")
