# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Figures 2-6 of the paper for one ``svlearn reproduce`` experiment."""

import numpy as np
from sklearn.utils import check_random_state

from ._models import NET_LABELS


def _save(display, path):
    import matplotlib.pyplot as plt

    display.figure_.savefig(path, dpi=110)
    plt.close(display.figure_)


def draw_figures(exp, folder, X_test, y_true, preds, fitted, *, seed, svdlight_k):
    """Draw Figures 2-6 for one experiment; return ``{figure: file name}``."""
    from .._svd import SVDLight, reconstruct
    from ..plotting import ErrorHistogramDisplay, ReconstructionDisplay, SpectrumDisplay

    shape = tuple(exp.matrix_shape)
    r = min(shape)
    nets = {NET_LABELS[k]: preds[k] for k in NET_LABELS}
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
