# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Predicted vs true spectra of a few matrices (Figures 3 and 4 of the paper)."""

import numpy as np

from .._linalg import singular_values
from ._base import (
    axes_grid,
    choose_indices,
    import_pyplot,
    matrix_stack,
    named_predictions,
)

_SCALES = ("log", "linear")
_ZEROS = ("mask", "floor")
# Relative to sigma_1: where zeros="floor" draws values a log axis cannot show,
# the default floor of svlearn.metrics.relative_errors.
_LOG_FLOOR = 1e-6


def _drawn(y, scale, zeros, top):
    """``y`` as drawn on ``scale``: on a log axis, non-positive values are
    masked or floored at ``_LOG_FLOOR * top``."""
    if scale == "linear":
        return y
    if zeros == "floor" and top > 0:
        return np.maximum(y, _LOG_FLOOR * top)
    # NaN breaks the line: matplotlib would otherwise clip the value to a tiny
    # positive number and draw a spike off the bottom of the axes.
    return np.where(y > 0, y, np.nan)


class SpectrumDisplay:
    """Predicted and true singular values of a few matrices, side by side.

    One column per matrix. The rows show the spectra on a logarithmic and a
    linear scale, then the matrix itself with each model's MAE, as in
    Figures 3 and 4 of the SV-Learn paper. Build it with
    :meth:`from_estimator` or :meth:`from_predictions`; the constructor only
    stores what to draw.

    Parameters
    ----------
    y_true : ndarray of shape (n_shown, n_values)
        Exact singular values of the matrices shown.
    y_pred : dict of str to ndarray of shape (n_shown, n_values)
        Predicted singular values of the same matrices, one entry per model.
    matrices : ndarray of shape (n_shown, m, n), default=None
        The matrices, drawn in the last row when given.
    sample_indices : ndarray of shape (n_shown,), default=None
        Index of each shown matrix in the data it came from, for the titles.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Figure holding the plot.
    ax_ : ndarray of matplotlib Axes of shape (n_rows, n_shown)
        Axes, one row per scale and one for the matrices.
    lines_ : dict of str to list of matplotlib Line2D
        Lines drawn for ``"true"`` and for each model.

    See Also
    --------
    ErrorHistogramDisplay : Histograms of per-matrix NMSE and MAE.
    ReconstructionDisplay : Matrices rebuilt from given singular values.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn.plotting import SpectrumDisplay
    >>> X = np.random.default_rng(0).random((10, 16))
    >>> S = np.linalg.svd(X.reshape(-1, 4, 4), compute_uv=False)
    >>> disp = SpectrumDisplay.from_predictions(S, 1.1 * S, X=X, n_samples=3)
    >>> disp.ax_.shape
    (3, 3)
    """

    def __init__(self, *, y_true, y_pred, matrices=None, sample_indices=None):
        self.y_true = y_true
        self.y_pred = y_pred
        self.matrices = matrices
        self.sample_indices = sample_indices

    def plot(
        self, *, ax=None, scales=_SCALES, zeros="mask", show_matrices=True, cmap="gray"
    ):
        """Draw the spectra, and the matrices below them.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_shown`` Axes laid out row by row, where ``n_rows`` is
            ``len(scales)`` plus one when matrices are shown. ``None`` makes
            a new figure.
        scales : tuple of {"log", "linear"}, default=("log", "linear")
            One row of spectra per scale. The default is the paper's layout,
            the log scale on top: it shows the small values that a linear
            axis squeezes against zero. ``("linear",)`` turns it off,
            ``("log",)`` keeps only it.
        zeros : {"mask", "floor"}, default="mask"
            How values that a log axis cannot show (zero or negative, true or
            predicted) are drawn on it: ``"mask"`` leaves them out (a gap in
            the line); ``"floor"`` draws every value below ``1e-6 * sigma_1``
            of the matrix (the floor of :func:`svlearn.metrics.relative_errors`;
            rounding-level values of a rank-deficient matrix included) at that
            floor, so that a value predicted as 0 shows as a point at the
            bottom. The linear scale draws all values as they are.
        show_matrices : bool, default=True
            Draw the matrices (with each model's MAE) in a last row.
        cmap : str, default="gray"
            Colour map of the matrices.

        Returns
        -------
        display : SpectrumDisplay
            Object that stores the computed values.
        """
        bad = [s for s in scales if s not in _SCALES]
        if bad or not scales:
            raise ValueError(
                f"scales must be a non-empty tuple of {_SCALES}; got {scales!r}."
            )
        if zeros not in _ZEROS:
            raise ValueError(f"zeros must be one of {_ZEROS}; got zeros={zeros!r}.")
        plt = import_pyplot("SpectrumDisplay.plot")
        y_true = np.asarray(self.y_true, dtype=np.float64)
        preds = named_predictions(self.y_pred, "predicted")
        show_matrices = show_matrices and self.matrices is not None
        n_shown = y_true.shape[0]
        n_rows = len(scales) + int(show_matrices)
        fig, axes = axes_grid(plt, ax, n_rows, n_shown, (3.0 * n_shown, 2.6 * n_rows))
        labels = (
            self.sample_indices if self.sample_indices is not None else range(n_shown)
        )
        index = np.arange(1, y_true.shape[1] + 1)
        self.lines_ = {"true": []}
        for name in preds:
            self.lines_[name] = []
        for col, label in enumerate(labels):
            for row, scale in enumerate(scales):
                a = axes[row, col]
                top = y_true[col].max()
                self.lines_["true"] += a.plot(
                    index,
                    _drawn(y_true[col], scale, zeros, top),
                    "k-o",
                    ms=3,
                    lw=1.5,
                    label="true",
                )
                for name, y in preds.items():
                    self.lines_[name] += a.plot(
                        index,
                        _drawn(y[col], scale, zeros, top),
                        "--",
                        marker=".",
                        lw=1.2,
                        label=name,
                    )
                a.set_yscale(scale)
                a.set_xlabel("index")
                a.set_ylabel(f"singular value ({scale})")
                if row == 0:
                    a.set_title(f"matrix {label}")
            if show_matrices:
                a = axes[-1, col]
                a.imshow(np.asarray(self.matrices[col]), cmap=cmap)
                maes = [
                    f"{name}: {np.abs(y_true[col] - y[col]).mean():.3g}"
                    for name, y in preds.items()
                ]
                a.set_title("MAE " + "\n".join(maes), fontsize="small")
                a.set_axis_off()
        axes[0, 0].legend(fontsize="small")
        self.figure_, self.ax_ = fig, axes
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        X=None,
        matrix_shape=None,
        n_samples=4,
        sample_indices=None,
        random_state=None,
        name="predicted",
        ax=None,
        scales=_SCALES,
        zeros="mask",
        show_matrices=True,
        cmap="gray",
    ):
        """Plot given true and predicted singular values of a few matrices.

        Parameters
        ----------
        y_true : array-like of shape (n_matrices, n_values)
            Exact singular values.
        y_pred : array-like of shape (n_matrices, n_values) or dict
            Predicted singular values, or a dict mapping model names to them.
        X : array-like of shape (n_matrices, m * n) or (n_matrices, m, n), \
                default=None
            The matrices themselves, drawn below their spectra when given.
        matrix_shape : tuple of two ints, default=None
            Shape ``(m, n)`` of the flattened matrices in ``X``; ``None``
            means square.
        n_samples : int, default=4
            Number of matrices drawn at random when ``sample_indices`` is None.
        sample_indices : array-like of int, default=None
            Which matrices to show.
        random_state : int, RandomState instance or None, default=None
            Seeds the random choice of matrices.
        name : str, default="predicted"
            Legend label of ``y_pred`` when it is an array.
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_shown`` Axes laid out row by row; see :meth:`plot`.
            ``None`` makes a new figure.
        scales : tuple of {"log", "linear"}, default=("log", "linear")
            One row of spectra per scale.
        zeros : {"mask", "floor"}, default="mask"
            How zero or negative values are drawn on a log axis; see
            :meth:`plot`.
        show_matrices : bool, default=True
            Draw the matrices (with each model's MAE) in a last row.
        cmap : str, default="gray"
            Colour map of the matrices.

        Returns
        -------
        display : SpectrumDisplay
            Object that stores the computed values.
        """
        y_true = np.asarray(y_true, dtype=np.float64)
        preds = named_predictions(y_pred, name)
        for key, y in preds.items():
            if y.shape != y_true.shape:
                raise ValueError(
                    f"y_pred[{key!r}] has shape {y.shape} but y_true has shape "
                    f"{y_true.shape}."
                )
        idx = choose_indices(len(y_true), n_samples, sample_indices, random_state)
        matrices = None
        if X is not None:
            matrices = matrix_stack(X, matrix_shape)
            if len(matrices) != len(y_true):
                raise ValueError(
                    f"X holds {len(matrices)} matrices but y_true has "
                    f"{len(y_true)} rows."
                )
            matrices = matrices[idx]
        disp = cls(
            y_true=y_true[idx],
            y_pred={key: y[idx] for key, y in preds.items()},
            matrices=matrices,
            sample_indices=idx,
        )
        return disp.plot(
            ax=ax, scales=scales, zeros=zeros, show_matrices=show_matrices, cmap=cmap
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        n_samples=4,
        sample_indices=None,
        random_state=None,
        name=None,
        ax=None,
        scales=_SCALES,
        zeros="mask",
        show_matrices=True,
        cmap="gray",
    ):
        """Plot a fitted estimator's predicted spectra against the true ones.

        Parameters
        ----------
        estimator : fitted regressor
            Predicts singular values from ``X``, e.g. a fitted
            :class:`~svlearn.SingularValueRegressor`.
        X : array-like of shape (n_matrices, m * n) or (n_matrices, m, n)
            Matrices to predict; only the shown ones are passed to
            ``estimator.predict``.
        y : array-like of shape (n_matrices, n_values), default=None
            Exact singular values; ``None`` computes them from ``X`` with the
            estimator's ``matrix_shape_``.
        n_samples : int, default=4
            Number of matrices drawn at random when ``sample_indices`` is None.
        sample_indices : array-like of int, default=None
            Which matrices to show.
        random_state : int, RandomState instance or None, default=None
            Seeds the random choice of matrices.
        name : str, default=None
            Legend label; ``None`` uses the estimator's class name.
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_shown`` Axes laid out row by row; see :meth:`plot`.
            ``None`` makes a new figure.
        scales : tuple of {"log", "linear"}, default=("log", "linear")
            One row of spectra per scale.
        zeros : {"mask", "floor"}, default="mask"
            How zero or negative values are drawn on a log axis; see
            :meth:`plot`.
        show_matrices : bool, default=True
            Draw the matrices (with each model's MAE) in a last row.
        cmap : str, default="gray"
            Colour map of the matrices.

        Returns
        -------
        display : SpectrumDisplay
            Object that stores the computed values.
        """
        matrix_shape = getattr(estimator, "matrix_shape_", None)
        matrices = matrix_stack(X, matrix_shape)
        idx = choose_indices(len(matrices), n_samples, sample_indices, random_state)
        shown = matrices[idx]
        flat = shown.reshape(len(idx), -1)
        y_true = (
            singular_values(shown) if y is None else np.asarray(y, dtype=float)[idx]
        )
        disp = cls(
            y_true=y_true,
            y_pred={name or type(estimator).__name__: estimator.predict(flat)},
            matrices=shown,
            sample_indices=idx,
        )
        return disp.plot(
            ax=ax, scales=scales, zeros=zeros, show_matrices=show_matrices, cmap=cmap
        )
