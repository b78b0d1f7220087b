# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Matrices rebuilt from given singular values (Figures 5 and 6 of the paper)."""

import numpy as np

from .._linalg import singular_values
from ._base import (
    axes_grid,
    choose_indices,
    import_pyplot,
    matrix_stack,
    named_predictions,
)


def _reconstruct(matrices, s, k):
    # The true singular vectors with the given singular values, rank k
    # (the paper's Figure 5); svlearn.reconstruct does the work.
    from .._svd import reconstruct

    flat = matrices.reshape(len(matrices), -1)
    out = reconstruct(flat, s, k=k, matrix_shape=matrices.shape[1:])
    return np.asarray(out).reshape(matrices.shape)


class ReconstructionDisplay:
    """A grid of matrices, e.g. reconstructions from different singular values.

    Each row of the grid shares one colour scale: that of the original matrix
    of the row when it is known (so a reconstruction that is too dark, too
    bright or out of range shows as such), else the row's own range. Use
    :meth:`from_predictions` for the paper's Figure 5 (one matrix, true vs
    predicted singular values at several ranks k) and
    :meth:`from_reconstructions` for its Figure 6 (several matrices, one
    column per method).

    Parameters
    ----------
    images : ndarray of shape (n_rows, n_cols, m, n)
        The matrices to draw.
    row_labels : list of str
        Label of each row.
    col_labels : list of str
        Label of each column.
    reference : ndarray of shape (n_rows, m, n), default=None
        The original matrix of each row, which sets the row's colour scale.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Figure holding the plot.
    ax_ : ndarray of matplotlib Axes of shape (n_rows, n_cols)
        One Axes per image.
    images_ : ndarray of matplotlib AxesImage of shape (n_rows, n_cols)
        The drawn images.

    See Also
    --------
    SpectrumDisplay : Predicted vs true spectra of a few matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn.plotting import ReconstructionDisplay
    >>> X = np.random.default_rng(0).random((5, 16))
    >>> S = np.linalg.svd(X.reshape(-1, 4, 4), compute_uv=False)
    >>> disp = ReconstructionDisplay.from_predictions(X, 1.1 * S, ks=(1, 4))
    >>> disp.ax_.shape
    (2, 2)
    """

    def __init__(self, *, images, row_labels, col_labels, reference=None):
        self.images = images
        self.row_labels = row_labels
        self.col_labels = col_labels
        self.reference = reference

    def plot(self, *, ax=None, cmap="gray"):
        """Draw the grid.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_cols`` Axes laid out row by row; ``None`` makes a new
            figure.
        cmap : str, default="gray"
            Colour map.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores the computed values.
        """
        plt = import_pyplot("ReconstructionDisplay.plot")
        images = np.asarray(self.images, dtype=np.float64)
        n_rows, n_cols = images.shape[:2]
        fig, axes = axes_grid(plt, ax, n_rows, n_cols, (2.2 * n_cols, 2.3 * n_rows))
        ranges = self.reference if self.reference is not None else images
        self.images_ = np.empty((n_rows, n_cols), dtype=object)
        for i in range(n_rows):
            vmin, vmax = np.nanmin(ranges[i]), np.nanmax(ranges[i])
            for j in range(n_cols):
                a = axes[i, j]
                self.images_[i, j] = a.imshow(
                    images[i, j], cmap=cmap, vmin=vmin, vmax=vmax
                )
                a.set_xticks([])
                a.set_yticks([])
                if i == 0:
                    a.set_title(self.col_labels[j], fontsize="small")
                if j == 0:
                    a.set_ylabel(self.row_labels[i], fontsize="small")
        self.figure_, self.ax_ = fig, axes
        return self

    @classmethod
    def from_predictions(
        cls,
        X,
        y_pred,
        *,
        ks=(1, 2, 5, 32),
        sample_index=None,
        random_state=None,
        matrix_shape=None,
        name="predicted",
        ax=None,
        cmap="gray",
    ):
        """Rebuild one matrix at several ranks from true and predicted values.

        The first row uses the matrix's exact singular values, each further
        row the given predicted ones; every row uses the matrix's true
        singular vectors, truncated to rank ``k`` in each column (Figure 5 of
        the SV-Learn paper).

        Parameters
        ----------
        X : array-like of shape (n_matrices, m * n) or (n_matrices, m, n)
            Matrices.
        y_pred : array-like of shape (n_matrices, min(m, n)) or dict
            Predicted singular values of ``X``, or a dict mapping model names
            to them.
        ks : tuple of int, default=(1, 2, 5, 32)
            Ranks, one column each; values above ``min(m, n)`` are clipped to
            it, and repeated ranks are drawn once.
        sample_index : int, default=None
            Which matrix to show; ``None`` draws one at random.
        random_state : int, RandomState instance or None, default=None
            Seeds the random choice of matrix.
        matrix_shape : tuple of two ints, default=None
            Shape ``(m, n)`` of flattened matrices; ``None`` means square.
        name : str, default="predicted"
            Row label of ``y_pred`` when it is an array.
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_cols`` Axes laid out row by row; ``None`` makes a new
            figure.
        cmap : str, default="gray"
            Colour map.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores the computed values.
        """
        matrices = matrix_stack(X, matrix_shape)
        preds = named_predictions(y_pred, name)
        given = None if sample_index is None else [sample_index]
        (idx,) = choose_indices(len(matrices), 1, given, random_state)
        one = matrices[idx : idx + 1]
        rows = {"true Σ": singular_values(one)}
        for key, y in preds.items():
            if y.shape != (len(matrices), min(one.shape[1:])):
                raise ValueError(
                    f"y_pred[{key!r}] has shape {y.shape}; expected "
                    f"{(len(matrices), min(one.shape[1:]))}."
                )
            rows[f"{key} Σ"] = y[idx : idx + 1]
        r = min(one.shape[1:])
        ks = list(dict.fromkeys(min(int(k), r) for k in ks))  # clipped, unique
        images = np.stack(
            [
                np.concatenate([_reconstruct(one, s, k) for k in ks])
                for s in rows.values()
            ]
        )
        disp = cls(
            images=images,
            row_labels=list(rows),
            col_labels=[f"k = {k}" for k in ks],
            reference=np.repeat(one, len(rows), axis=0),
        )
        disp.sample_index_ = int(idx)
        return disp.plot(ax=ax, cmap=cmap)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        ks=(1, 2, 5, 32),
        sample_index=None,
        random_state=None,
        name=None,
        ax=None,
        cmap="gray",
    ):
        """Rebuild one matrix at several ranks from a fitted estimator's values.

        Parameters
        ----------
        estimator : fitted regressor
            Predicts singular values from ``X``.
        X : array-like of shape (n_matrices, m * n) or (n_matrices, m, n)
            Matrices; only the shown one is passed to ``estimator.predict``.
        ks : tuple of int, default=(1, 2, 5, 32)
            Ranks, one column each; values above ``min(m, n)`` are clipped to
            it, and repeated ranks are drawn once.
        sample_index : int, default=None
            Which matrix to show; ``None`` draws one at random.
        random_state : int, RandomState instance or None, default=None
            Seeds the random choice of matrix.
        name : str, default=None
            Row label; ``None`` uses the estimator's class name.
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_cols`` Axes laid out row by row; ``None`` makes a new
            figure.
        cmap : str, default="gray"
            Colour map.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores the computed values.
        """
        matrices = matrix_stack(X, getattr(estimator, "matrix_shape_", None))
        given = None if sample_index is None else [sample_index]
        (idx,) = choose_indices(len(matrices), 1, given, random_state)
        one = matrices[idx : idx + 1]
        y_pred = estimator.predict(one.reshape(1, -1))
        return cls.from_predictions(
            one,
            {name or type(estimator).__name__: y_pred},
            ks=ks,
            sample_index=0,
            ax=ax,
            cmap=cmap,
        )

    @classmethod
    def from_reconstructions(
        cls,
        X,
        reconstructions,
        *,
        n_samples=3,
        sample_indices=None,
        random_state=None,
        matrix_shape=None,
        ax=None,
        cmap="gray",
    ):
        """Show several matrices (rows) as rebuilt by several methods (columns).

        Figure 6 of the SV-Learn paper, with reconstructions from real,
        random and predicted singular values and from SVD-LIGHT.

        Parameters
        ----------
        X : array-like of shape (n_matrices, m * n) or (n_matrices, m, n)
            The original matrices; they set each row's colour scale.
        reconstructions : dict of str to array-like of shape (n_matrices, m * n)
            One entry per method (column), in the order given; flattened or
            stacked like ``X``.
        n_samples : int, default=3
            Number of matrices drawn at random when ``sample_indices`` is None.
        sample_indices : array-like of int, default=None
            Which matrices to show.
        random_state : int, RandomState instance or None, default=None
            Seeds the random choice of matrices.
        matrix_shape : tuple of two ints, default=None
            Shape ``(m, n)`` of flattened matrices; ``None`` means square.
        ax : array-like of matplotlib Axes, default=None
            ``n_rows * n_cols`` Axes laid out row by row; ``None`` makes a new
            figure.
        cmap : str, default="gray"
            Colour map.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores the computed values.
        """
        matrices = matrix_stack(X, matrix_shape)
        if not reconstructions:
            raise ValueError("reconstructions is empty; give at least one method.")
        idx = choose_indices(len(matrices), n_samples, sample_indices, random_state)
        columns = []
        for key, R in reconstructions.items():
            R = np.asarray(R, dtype=np.float64)
            if R.size != matrices.size:
                raise ValueError(
                    f"reconstructions[{key!r}] has shape {R.shape}; expected "
                    f"{len(matrices)} matrices of shape {matrices.shape[1:]}."
                )
            columns.append(R.reshape(matrices.shape)[idx])
        disp = cls(
            images=np.stack(columns, axis=1),
            row_labels=[f"matrix {i}" for i in idx],
            col_labels=list(reconstructions),
            reference=matrices[idx],
        )
        return disp.plot(ax=ax, cmap=cmap)
