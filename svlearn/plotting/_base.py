# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the Display objects: lazy matplotlib, matrices, samples."""

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_matrix_stack


def import_pyplot(caller):
    """Import matplotlib.pyplot on first use, with an install hint if missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            f"{caller} requires matplotlib; install it with "
            "`pip install 'sv-learn-mlp[plot]'` or `pip install matplotlib`."
        ) from exc
    return plt


def matrix_stack(X, matrix_shape=None):
    """Return ``X`` as a float64 stack of shape (n_samples, m, n).

    NaN and infinite entries are kept: a plot shows them rather than fail.
    """
    return check_matrix_stack(X, matrix_shape, ensure_all_finite=False)[0]


def named_predictions(y_pred, name):
    """Return predictions as ``{name: 2-D array}``; a mapping passes through."""
    if isinstance(y_pred, dict):
        items = y_pred.items()
    else:
        items = [(name, y_pred)]
    named = {}
    for key, value in items:
        value = np.asarray(value, dtype=np.float64)
        named[str(key)] = value.reshape(-1, 1) if value.ndim == 1 else value
    if not named:
        raise ValueError("y_pred is an empty mapping; give at least one model.")
    return named


def choose_indices(n_total, n_samples, sample_indices, random_state):
    """Indices of the samples to draw: given ones, or a reproducible draw."""
    if sample_indices is not None:
        indices = np.asarray(sample_indices, dtype=np.intp).ravel()
        if indices.size == 0 or indices.min() < -n_total or indices.max() >= n_total:
            raise ValueError(
                f"sample_indices must be non-empty and index {n_total} samples; "
                f"got {sample_indices!r}."
            )
        return indices % n_total
    if not 1 <= n_samples:
        raise ValueError(f"n_samples must be at least 1; got n_samples={n_samples}.")
    rng = check_random_state(random_state)
    n_samples = min(n_samples, n_total)
    return np.sort(rng.choice(n_total, size=n_samples, replace=False))


def axes_grid(plt, ax, n_rows, n_cols, figsize):
    """Return (figure, axes of shape (n_rows, n_cols)) from ``ax`` or a new figure."""
    if ax is None:
        fig, axes = plt.subplots(
            n_rows, n_cols, figsize=figsize, squeeze=False, layout="constrained"
        )
        return fig, axes
    axes = np.asarray(ax, dtype=object)
    if axes.size != n_rows * n_cols:
        raise ValueError(
            f"ax must hold {n_rows * n_cols} Axes ({n_rows} rows x {n_cols} "
            f"columns) for this plot; got {axes.size}."
        )
    axes = axes.reshape(n_rows, n_cols)
    return axes[0, 0].figure, axes
