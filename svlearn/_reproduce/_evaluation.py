# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Errors of predicted spectra and of rank-k reconstructions, for the report."""

import numpy as np

from ._models import NET_LABELS


def spectrum_errors(y_true, y_pred):
    """Errors of predicted spectra over the test matrices, for Table I.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_matrices, n_values)
        Exact and predicted singular values.

    Returns
    -------
    errors : dict
        ``nmse_mean``, ``nmse_std``, ``mae_mean``, ``mae_std`` (NMSE as a
        fraction), the layout of the paper's Table I; then the whole-spectrum
        metrics the paper does not report: ``lsd_mean`` and ``lsd_std`` (the
        per-matrix log-spectral distance, in decades),
        ``relative_error_per_index`` (the median over matrices of each
        index's relative error) and ``worst_index_relative_error`` (its
        largest entry).
    """
    from ..metrics import (
        log_spectral_distance_per_matrix,
        mae_per_matrix,
        nmse_per_matrix,
        relative_error_per_index,
    )

    nmse = nmse_per_matrix(y_true, y_pred)
    mae = mae_per_matrix(y_true, y_pred)
    lsd = log_spectral_distance_per_matrix(y_true, y_pred)
    per_index = relative_error_per_index(y_true, y_pred)
    return {
        "nmse_mean": float(np.mean(nmse)),
        "nmse_std": float(np.std(nmse)),
        "mae_mean": float(np.mean(mae)),
        "mae_std": float(np.std(mae)),
        "lsd_mean": float(np.mean(lsd)),
        "lsd_std": float(np.std(lsd)),
        "relative_error_per_index": [float(v) for v in per_index],
        "worst_index_relative_error": float(per_index.max()),
    }


def reconstruction_errors(X_test, y_true, preds, paper_net, shape, seed, k):
    """Mean relative Frobenius error of rank-k reconstructions on the test set.

    With the true singular vectors, ``||M - U_k diag(t_k) V_k^T||_F`` equals
    ``sqrt(sum_{i<=k} (s_i - t_i)**2 + sum_{i>k} s_i**2)``, so those rows come
    from the spectra; SVD-LIGHT (Algorithm 1, paper net values) is run.

    Returns
    -------
    errors : dict
        ``k`` and one mean relative error per reconstruction.
    """
    from .._svd import SVDLight

    k = min(k, min(shape))
    norm = np.sqrt((y_true**2).sum(axis=1))

    def from_values(t):
        err = ((y_true[:, :k] - t[:, :k]) ** 2).sum(axis=1)
        err += (y_true[:, k:] ** 2).sum(axis=1)
        return float(np.mean(np.sqrt(err) / norm))

    out = {"k": k, "truncated SVD (true values)": from_values(y_true)}
    for key, label in NET_LABELS.items():
        out[f"{label} values, true vectors"] = from_values(preds[key])
    out["random values, true vectors"] = from_values(preds["random"])
    svdl = SVDLight(k=k, regressor=paper_net, random_state=seed).fit(X_test[:1])
    R = svdl.transform(X_test)
    err = np.linalg.norm(X_test - R, axis=1) / np.linalg.norm(X_test, axis=1)
    out["SVD-LIGHT (paper net values)"] = float(np.mean(err))
    return out


def torch_svdvals(X3, device):
    """Exact singular values with ``torch.linalg.svdvals``, numpy in and out.

    The exact route timed beside numpy's LAPACK; CUDA work is synchronised so
    that a timer around the call measures it whole.
    """
    import torch

    dev = torch.device(device)
    S = torch.linalg.svdvals(torch.from_numpy(X3).to(dev))
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return S.cpu().numpy()
