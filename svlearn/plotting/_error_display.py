# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Histograms of per-matrix errors (Figure 2 of the paper)."""

import numpy as np

from .._linalg import singular_values
from ..metrics import mae_per_matrix, nmse_per_matrix
from ._base import axes_grid, import_pyplot, matrix_stack, named_predictions


def _bin_edges(values, bins):
    """Shared bin edges; widened around a (nearly) single value, e.g. exact fits."""
    lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1e-12):
        pad = 0.05 * max(abs(hi), 1e-12)
        lo, hi = lo - pad, hi + pad
    return np.linspace(lo, hi, bins + 1)


class ErrorHistogramDisplay:
    """Histograms of per-matrix MAE and NMSE, one colour per model.

    The left panel shows the mean absolute error of each matrix's predicted
    spectrum, the right one its normalised mean squared error in percent, as
    in Figure 2 of the SV-Learn paper (both from paper Eq. 1). Build it with
    :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    nmse : dict of str to ndarray of shape (n_matrices,)
        Per-matrix NMSE (fractions, not percent) of each model.
    mae : dict of str to ndarray of shape (n_matrices,)
        Per-matrix MAE of each model.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Figure holding the plot.
    ax_ : ndarray of matplotlib Axes of shape (2,)
        The MAE and the NMSE panels.
    bars_ : dict of str to list of matplotlib BarContainer
        The histogram bars of each model, MAE first.

    See Also
    --------
    svlearn.metrics.nmse_per_matrix : The per-matrix NMSE.
    svlearn.metrics.mae_per_matrix : The per-matrix MAE.
    SpectrumDisplay : Predicted vs true spectra of a few matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn.plotting import ErrorHistogramDisplay
    >>> S = np.sort(np.random.default_rng(0).random((50, 4)))[:, ::-1]
    >>> disp = ErrorHistogramDisplay.from_predictions(S, 0.9 * S, name="shrunk")
    >>> sorted(disp.bars_)
    ['shrunk']
    """

    def __init__(self, *, nmse, mae):
        self.nmse = nmse
        self.mae = mae

    def plot(self, *, ax=None, bins=40, alpha=0.6, clip_quantile=0.99):
        """Draw the two histograms.

        Parameters
        ----------
        ax : array-like of two matplotlib Axes, default=None
            Axes for the MAE and the NMSE panel; ``None`` makes a new figure.
        bins : int, default=40
            Number of bins, shared by all models in a panel.
        alpha : float, default=0.6
            Opacity of the bars, so that overlapping models stay visible.
        clip_quantile : float or None, default=0.99
            The bins span the errors up to this quantile (over all models);
            larger errors are counted in the last bin, and the axis label
            says so. A few outliers then do not squash the histogram into one
            bin. ``None`` spans all errors.

        Returns
        -------
        display : ErrorHistogramDisplay
            Object that stores the computed values.
        """
        plt = import_pyplot("ErrorHistogramDisplay.plot")
        fig, axes = axes_grid(plt, ax, 1, 2, (9.0, 3.4))
        axes = axes.ravel()
        panels = [
            (axes[0], self.mae, 1.0, "MAE per matrix"),
            (axes[1], self.nmse, 100.0, "NMSE per matrix (%)"),
        ]
        self.bars_ = {name: [] for name in self.mae}
        if clip_quantile is not None and not 0 < clip_quantile <= 1:
            raise ValueError(
                f"clip_quantile must be in (0, 1] or None; got {clip_quantile!r}."
            )
        for a, values, factor, label in panels:
            finite = [
                factor * np.asarray(v, dtype=float)[np.isfinite(v)]
                for v in values.values()
            ]
            pooled = np.concatenate(finite)
            if clip_quantile is not None and clip_quantile < 1 and pooled.size:
                top = np.quantile(pooled, clip_quantile)
                if top < pooled.max():
                    finite = [np.minimum(v, top) for v in finite]
                    label += f"; last bin: all above {top:.3g}"
                    pooled = np.minimum(pooled, top)
            edges = _bin_edges(pooled, bins)
            for name, v in zip(values, finite):
                *_, bars = a.hist(v, bins=edges, alpha=alpha, label=name)
                self.bars_[name].append(bars)
            a.set_xlabel(label)
            a.set_ylabel("number of matrices")
        axes[0].legend(fontsize="small")
        self.figure_, self.ax_ = fig, axes
        return self

    @classmethod
    def from_predictions(
        cls, y_true, y_pred, *, name="predicted", ax=None, bins=40, clip_quantile=0.99
    ):
        """Plot error histograms from true and predicted singular values.

        Parameters
        ----------
        y_true : array-like of shape (n_matrices, n_values)
            Exact singular values.
        y_pred : array-like of shape (n_matrices, n_values) or dict
            Predicted singular values, or a dict mapping model names to them.
        name : str, default="predicted"
            Legend label of ``y_pred`` when it is an array.
        ax : array-like of two matplotlib Axes, default=None
            Axes for the MAE and the NMSE panel; ``None`` makes a new figure.
        bins : int, default=40
            Number of bins, shared by all models in a panel.
        clip_quantile : float or None, default=0.99
            The bins span the errors up to this quantile; see :meth:`plot`.

        Returns
        -------
        display : ErrorHistogramDisplay
            Object that stores the computed values.
        """
        preds = named_predictions(y_pred, name)
        disp = cls(
            nmse={k: nmse_per_matrix(y_true, y) for k, y in preds.items()},
            mae={k: mae_per_matrix(y_true, y) for k, y in preds.items()},
        )
        return disp.plot(ax=ax, bins=bins, clip_quantile=clip_quantile)

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, name=None, ax=None, bins=40, clip_quantile=0.99
    ):
        """Plot error histograms of a fitted estimator on matrices ``X``.

        Parameters
        ----------
        estimator : fitted regressor
            Predicts singular values from ``X``.
        X : array-like of shape (n_matrices, m * n) or (n_matrices, m, n)
            Matrices to predict.
        y : array-like of shape (n_matrices, n_values), default=None
            Exact singular values; ``None`` computes them from ``X``.
        name : str, default=None
            Legend label; ``None`` uses the estimator's class name.
        ax : array-like of two matplotlib Axes, default=None
            Axes for the MAE and the NMSE panel; ``None`` makes a new figure.
        bins : int, default=40
            Number of bins, shared by all models in a panel.
        clip_quantile : float or None, default=0.99
            The bins span the errors up to this quantile; see :meth:`plot`.

        Returns
        -------
        display : ErrorHistogramDisplay
            Object that stores the computed values.
        """
        matrices = matrix_stack(X, getattr(estimator, "matrix_shape_", None))
        flat = matrices.reshape(len(matrices), -1)
        y_true = singular_values(matrices) if y is None else y
        return cls.from_predictions(
            y_true,
            estimator.predict(flat),
            name=name or type(estimator).__name__,
            ax=ax,
            bins=bins,
            clip_quantile=clip_quantile,
        )
