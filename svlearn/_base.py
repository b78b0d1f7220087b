# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""What every spectrum regressor shares: input contract, output shape, score, tags.

:class:`BaseSpectrumRegressor` is the base of :class:`SingularValueRegressor`
and :class:`MeanSpectrumRegressor`. It owns one contract for both: matrices
come flat (``(n_samples, m * n)``) or as a 3-D stack, and a fitted model
accepts only matrices of the shape it was fitted on; 1-D targets (one value
per ``1 x n`` matrix) give 1-D predictions; ``score(X)`` works without ``y``;
and a ``fit`` that raises leaves the previous model as it was.
"""

import contextlib
import copy
import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted, validate_data

from ._linalg import frobenius_norms, singular_values
from ._validation import check_targets, flatten_matrices, matrix_shape_of

__all__ = ["BaseSpectrumRegressor", "TrainingDataWarning"]

# Where scikit-learn holds a scorer and the y it will compare with, as
# (module, function): (scorer's name, y's name); see _refuse_string_scorers.
_SKLEARN_CALLERS = {
    ("sklearn.model_selection._validation", "_fit_and_score"): ("scorer", "y"),
    ("sklearn.metrics._scorer", "_score"): ("self", "y_true"),
}
_FRAMES = 8


class BaseSpectrumRegressor(RegressorMixin, BaseEstimator):
    """Base class of the estimators that predict a spectrum per matrix.

    Subclasses set ``matrix_shape_``, ``n_features_in_`` (through
    :meth:`_validate_fit_data`) and ``_y_1d`` in ``fit``, run ``fit`` inside
    :meth:`_fitting`, validate new matrices with :meth:`_validate_new_X` and
    shape their output with :meth:`_output`.
    """

    # -- fitting ---------------------------------------------------------------
    @contextlib.contextmanager
    def _fitting(self, keep=()):
        """Run a fit so that, if it raises, the estimator is left as it was.

        The fitted attributes are restored from a snapshot; those named in
        ``keep`` that a warm fit trains in place (the network) are deep-copied
        first so that a fit failing halfway cannot leave half-trained weights.
        """
        snapshot = dict(vars(self))
        for name in keep:
            if name in snapshot:
                snapshot[name] = copy.deepcopy(snapshot[name])
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(snapshot)
            raise

    def _validate_fit_data(self, X, y, *, reset=True, shape=None):
        """Validate training matrices and targets, without changing the model.

        Returns ``X`` flat, ``y`` 2-D (exact singular values when None), the
        matrix shape and whether ``y`` came 1-D. ``reset=False`` (warm
        starts) checks that the matrices have the fitted ``shape``. Only the
        input bookkeeping of ``validate_data`` (``n_features_in_``) is set.
        """
        _refuse_string_scorers()
        _check_not_empty(X, "fit")
        X, shape3d = flatten_matrices(X)
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        fitted_shape = matrix_shape_of(shape3d, self.matrix_shape, X.shape[1])
        if shape is not None and fitted_shape != tuple(shape):
            raise ValueError(
                f"X holds {fitted_shape} matrices while the fitted model takes "
                f"{tuple(shape)} matrices (warm_start or partial_fit)."
            )
        norms = frobenius_norms(X)
        _warn_degenerate(X, norms)
        if y is None:
            return X, singular_values(X, matrix_shape=fitted_shape), fitted_shape, False
        y, y_1d = check_targets(self, X, y, fitted_shape)
        _warn_inconsistent_targets(y, norms)
        return X, y, fitted_shape, y_1d

    # -- predicting ------------------------------------------------------------
    def _validate_new_X(self, X, *, check_finite=True):
        """Validate matrices for a fitted model; return them flat.

        A single matrix given without its batch axis, a stack of matrices of
        another shape and an empty batch get errors that say what to pass.
        """
        check_is_fitted(self)
        _refuse_string_scorers()
        _check_not_empty(X, "predict")
        shape = tuple(self.matrix_shape_)
        if getattr(X, "ndim", None) == 2 and tuple(X.shape) == shape != (
            1,
            self.n_features_in_,
        ):
            raise ValueError(
                f"X is one {shape[0]} x {shape[1]} matrix, but predict takes a "
                f"batch of matrices: pass X[None] (shape (1, {shape[0]}, "
                f"{shape[1]})) or X.reshape(1, -1)."
            )
        X, shape3d = flatten_matrices(X)
        if shape3d is not None and shape3d != shape:
            raise ValueError(
                f"X holds {shape3d} matrices but the estimator was fitted on "
                f"{shape} matrices."
            )
        return validate_data(
            self,
            X,
            reset=False,
            dtype=(np.float64, np.float32),
            ensure_all_finite=check_finite,
        )

    def _output(self, pred):
        """Predictions as returned: 1-D when ``fit`` got a 1-D ``y``."""
        return pred.ravel() if self._y_1d else pred

    def score(self, X, y=None, sample_weight=None):
        """R² of the predicted singular values; ``y=None`` uses the exact ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Test matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            True singular values; computed exactly when None.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            :func:`~sklearn.metrics.r2_score` of ``predict(X)`` against ``y``,
            averaged uniformly over the singular values.
        """
        pred = self.predict(X)
        if y is None:
            y = singular_values(
                self._validate_new_X(X), matrix_shape=self.matrix_shape_
            )
            y = self._output(y)
        return r2_score(y, pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.required = False
        tags.target_tags.positive_only = True
        return tags


class TrainingDataWarning(UserWarning):
    """Training data from which a spectrum model cannot learn what it should.

    Raised as a warning by ``fit`` when the given ``y`` contradicts the
    matrices (``sum(y**2)`` is not ``||X||_F**2``), or when every training
    matrix is zero or all are the same matrix.

    See Also
    --------
    SingularValueRegressor.fit : Trains on exact singular values when
        ``y=None``, which cannot contradict the matrices.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from svlearn import MeanSpectrumRegressor, TrainingDataWarning
    >>> X = np.random.default_rng(0).random((50, 4))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = MeanSpectrumRegressor().fit(X, np.ones((50, 2)))
    >>> [w.category is TrainingDataWarning for w in caught]
    [True]
    """


# sum(y**2) may differ from ||X||_F**2 by this relative amount (y rounded to
# about four significant digits, or computed in float32) ...
_ENERGY_RTOL = 1e-3
# ... on at most this many rows, or this share of them, before fit warns.
_ENERGY_ROWS, _ENERGY_SHARE = 3, 0.01


def _warn_degenerate(X, norms):
    """Warn when the training matrices hold nothing to learn from."""
    if not (norms > 0).any():
        warnings.warn(
            f"Every one of the {len(X)} training matrices is zero: their "
            "singular values are all 0 and the model learns nothing from them.",
            TrainingDataWarning,
            stacklevel=5,
        )
    elif len(X) > 1 and (X == X[0]).all():
        warnings.warn(
            f"All {len(X)} training matrices are the same matrix: the model "
            "can only learn its one spectrum.",
            TrainingDataWarning,
            stacklevel=5,
        )


def _warn_inconsistent_targets(y, norms):
    """Warn when given ``y`` are not the singular values of the matrices.

    The singular values of A satisfy ``sum(s**2) = ||A||_F**2``: a ``y`` that
    breaks it on more than a few rows (shuffled rows, rescaled values, the
    wrong matrices) trains a model on a contradiction.
    """
    energy = frobenius_norms(y)
    scale = np.maximum(energy, norms)
    with np.errstate(invalid="ignore"):
        off = np.abs(energy - norms) > 0.5 * _ENERGY_RTOL * scale
    n_off = int(off.sum())
    if n_off > max(_ENERGY_ROWS, _ENERGY_SHARE * len(y)):
        row = int(np.flatnonzero(off)[0])
        warnings.warn(
            f"y does not hold the singular values of X on {n_off} of {len(y)} "
            "rows: sqrt(sum(y**2)) should equal the matrix's Frobenius norm "
            f"(row {row}: {energy[row]:.6g} against {norms[row]:.6g}). Check "
            "that y's rows match X's (not shuffled, not rescaled), or pass "
            "y=None to train on the exact singular values.",
            TrainingDataWarning,
            stacklevel=5,
        )


def _check_not_empty(X, method):
    """Raise a clear error for a batch without matrices."""
    n = getattr(X, "shape", (None,))[0] if hasattr(X, "shape") else None
    if n is None and isinstance(X, (list, tuple)):
        n = len(X)
    if n == 0:
        raise ValueError(
            f"X holds no matrices (shape {np.shape(X)}); {method} needs at "
            "least one matrix."
        )


def _refuse_string_scorers():
    """Raise when a scikit-learn scorer would compare predictions with ``y=None``.

    ``cross_val_score``, ``cross_validate`` and the searches with ``y=None``
    and a scorer of scikit-learn's such as ``scoring="r2"`` would train, then
    fail inside the scorer (a NaN score with a traceback about ``y_true``).
    svlearn's own scorers (:data:`svlearn.metrics.nmse_scorer`,
    :data:`~svlearn.metrics.mae_scorer`) compute the exact singular values
    themselves, so they take ``y=None``. The scorer and ``y`` are visible only
    in scikit-learn's calling frames: ``fit`` and ``predict`` read the few
    frames above them (attribute lookups, no copies) and raise before any
    work is done.
    """
    frame = sys._getframe(2)
    for _ in range(_FRAMES):
        if frame is None:
            return
        where = (frame.f_globals.get("__name__"), frame.f_code.co_name)
        if where in _SKLEARN_CALLERS:
            names = _SKLEARN_CALLERS[where]
            local = frame.f_locals
            if local.get(names[1], 0) is None and _needs_y(local.get(names[0])):
                raise ValueError(
                    "A scikit-learn scorer (for example scoring='r2' or "
                    "'neg_mean_squared_error') needs the true singular values, "
                    "but y is None. Pass y, or use svlearn.metrics.nmse_scorer "
                    "or svlearn.metrics.mae_scorer, which compute them exactly "
                    "when y is None."
                )
            return
        frame = frame.f_back


def _needs_y(scorer):
    """Whether a scorer object compares with a given ``y`` (sklearn's do)."""
    from sklearn.metrics._scorer import _BaseScorer, _MultimetricScorer

    from .metrics._scorer import SpectrumScorer

    if isinstance(scorer, _MultimetricScorer):
        return any(_needs_y(s) for s in scorer._scorers.values())
    if isinstance(scorer, dict):
        return any(_needs_y(s) for s in scorer.values())
    return isinstance(scorer, _BaseScorer) and not isinstance(scorer, SpectrumScorer)
