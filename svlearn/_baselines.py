# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Zero-learning baselines that any learned singular-value model must beat."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._linalg import frobenius_norms, singular_values
from ._recording import record_prediction_input
from ._validation import (
    NonBoolInterval,
    check_targets,
    flatten_matrices,
    matrix_shape_of,
)


class MeanSpectrumRegressor(RegressorMixin, BaseEstimator):
    """Predict singular values from the mean training spectrum, without learning.

    The zero-learning baselines that a learned model must beat, including the
    cheapest numerics: leading values by subspace iteration (matrix-vector
    products only) and the rest from a fixed template at the exact leftover
    energy.

    Parameters
    ----------
    matrix_shape : tuple of two ints or None, default=None
        Shape ``(m, n)`` of each matrix; ``None`` means square.
    scaling : {"frobenius", "none", "power", "subspace"}, default="frobenius"
        - "none": every matrix gets the mean training spectrum.
        - "frobenius": the mean unit-norm training spectrum (the template)
          times each matrix's exact Frobenius norm.
        - "subspace": the ``n_components`` largest values from ``n_iter``
          steps of block subspace iteration (the Ritz values of
          :class:`~svlearn.SingularValueRegressor`'s "ritz" front end, the
          same code in float32); the rest is the mean tail of the training
          spectra scaled to the exact leftover energy
          ``||A||_F^2 - sum(top**2)``. Non-negative, descending, and the energy
          identity holds exactly. This is the "ritz" head without its
          network: the best zero-learning estimator at its cost, to choose
          knowingly (see docs/performance.md for its accuracy-speed frontier).
        - "power": "subspace" with one component (power iteration).
    n_components : int, default=3
        Leading values computed by subspace iteration (``scaling="subspace"``);
        at most ``min(m, n)``.
    n_iter : int, default=2
        Iteration steps for "power" and "subspace".

    Attributes
    ----------
    spectrum_ : ndarray of shape (min(m, n),)
        Mean training spectrum ("none") or the unit-norm template.
    template_ : ndarray of shape (min(m, n) - n_leading,)
        For "power" and "subspace": the unit-norm mean of the training
        spectra's tails (each tail scaled to unit norm first).
    matrix_shape_ : tuple of two ints
        Shape of the matrices seen in fit.
    n_features_in_ : int
        ``m * n``.

    See Also
    --------
    SingularValueRegressor : The learned model.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import MeanSpectrumRegressor
    >>> X = np.random.default_rng(0).random((50, 9))
    >>> MeanSpectrumRegressor().fit(X).predict(X[:2]).shape
    (2, 3)
    >>> reg = MeanSpectrumRegressor(scaling="subspace", n_components=2).fit(X)
    >>> S = reg.predict(X[:2])
    >>> bool(np.allclose((S**2).sum(1), (X[:2] ** 2).sum(1)))
    True
    """

    _parameter_constraints = {
        "matrix_shape": [tuple, list, None],
        "scaling": [StrOptions({"none", "frobenius", "power", "subspace"})],
        "n_components": [NonBoolInterval(Integral, 1, None, closed="left")],
        "n_iter": [NonBoolInterval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self, *, matrix_shape=None, scaling="frobenius", n_components=3, n_iter=2
    ):
        self.matrix_shape = matrix_shape
        self.scaling = scaling
        self.n_components = n_components
        self.n_iter = n_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Average the training spectra.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Training matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            Their singular values (non-negative, descending); computed exactly
            when None.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, shape3d = flatten_matrices(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        self.matrix_shape_ = matrix_shape_of(shape3d, self.matrix_shape, X.shape[1])
        self._y_1d = False
        if y is None:
            y = singular_values(X, matrix_shape=self.matrix_shape_)
        else:
            y, self._y_1d = check_targets(self, X, y, self.matrix_shape_)
        y = np.asarray(y, dtype=np.float64)
        if self.scaling == "none":
            self.spectrum_ = y.mean(axis=0)
        else:
            norms = np.linalg.norm(y, axis=1, keepdims=True)
            template = (y / np.where(norms > 0, norms, 1.0)).mean(axis=0)
            self.spectrum_ = template / max(np.linalg.norm(template), 1e-300)
        if self._n_leading():
            from ._mlp import tail_template

            self.template_ = tail_template(y, self._n_leading())
        return self

    def _n_leading(self):
        """Values computed by iteration; the rest come from the template."""
        if self.scaling not in ("power", "subspace"):
            return 0
        k = 1 if self.scaling == "power" else self.n_components
        return min(k, min(self.matrix_shape_))

    def predict(self, X):
        """Predict singular values.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, min(m, n))
            Non-negative values in descending order.
        """
        check_is_fitted(self)
        X, _ = flatten_matrices(X)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        record_prediction_input(self, X, self.matrix_shape_)
        k = self._n_leading()
        if self.scaling == "none":
            out = np.tile(self.spectrum_, (X.shape[0], 1))
        elif k == 0:
            out = frobenius_norms(X)[:, None] * self.spectrum_
        else:
            out = self._ritz_predict(X, k)
        return out.ravel() if self._y_1d else out

    def _ritz_predict(self, X, k):
        """Leading values by the iteration, the template at the leftover energy.

        The "ritz" head of the learned model without its network, run by the
        same chunked, scale-safe predict code.
        """
        import torch

        from ._mlp import PREDICT_CHUNK, SpectrumMLP, equivariant_spectra

        module = SpectrumMLP(
            matrix_shape=self.matrix_shape_,
            hidden_layer_sizes=None,
            activation="relu",
            dropout=0.0,
            head="ritz",
            n_components=k,
            n_iter=self.n_iter,
        ).eval()
        module.template.copy_(torch.from_numpy(self.template_))
        out = np.empty((X.shape[0], min(self.matrix_shape_)), dtype=np.float64)
        device = torch.device("cpu")
        with torch.inference_mode():
            for start in range(0, X.shape[0], PREDICT_CHUNK):
                block = X[start : start + PREDICT_CHUNK]
                out[start : start + len(block)] = equivariant_spectra(
                    module, block, device
                ).pred
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.required = False
        tags.target_tags.positive_only = True
        # The mean spectrum does not adapt to arbitrary targets: it predicts
        # singular values of the given matrices, not a fitted function of X.
        tags.regressor_tags.poor_score = True
        return tags

    # Model files (svlearn.save / svlearn.load): the fitted attributes a file
    # stores, with their kinds ("?": fit may not set it), and the check that
    # a loaded state is one fit could have made.
    _persisted_attributes = {
        "matrix_shape_": "shape",
        "n_features_in_": "int",
        "feature_names_in_": "str array?",
        "_y_1d": "bool",
        "spectrum_": "float array",
        "template_": "float array?",
    }

    def _check_persisted_state(self):
        """Raise ValueError unless the fitted attributes fit together."""
        m, n = self.matrix_shape_
        problems = []
        if self.n_features_in_ != m * n:
            problems.append(
                f"n_features_in_={self.n_features_in_} but matrix_shape_="
                f"{self.matrix_shape_} matrices have {m * n} entries"
            )
        if self.spectrum_.shape != (min(m, n),):
            problems.append(
                f"spectrum_ has shape {self.spectrum_.shape}, not ({min(m, n)},)"
            )
        k = self._n_leading()
        template = getattr(self, "template_", None)
        if k and (template is None or template.shape != (min(m, n) - k,)):
            got = "none" if template is None else f"shape {template.shape}"
            problems.append(
                f"scaling={self.scaling!r} needs template_ of shape "
                f"({min(m, n) - k},), got {got}"
            )
        from ._persistence import MAX_ITERATIONS

        if self.n_iter > MAX_ITERATIONS:
            # predict runs n_iter iteration steps: a file must not ask for hours.
            problems.append(
                f"n_iter={self.n_iter} exceeds the {MAX_ITERATIONS} iteration "
                "steps that svlearn.load accepts"
            )
        if self._y_1d and min(m, n) != 1:
            problems.append(
                "_y_1d=True (fitted on 1-D y) needs 1 x n or n x 1 matrices"
            )
        if problems:
            raise ValueError("; ".join(problems) + ".")


class RandomSpectrumBaseline:
    """Random singular values: the "random" reconstructions of Figure 6.

    The paper does not say how its random singular values were drawn. Here
    each matrix gets ``min(m, n)`` values drawn independently and uniformly
    from ``[0, s_max]``, where ``s_max`` is the largest singular value seen in
    training, sorted in descending order so that they form a valid spectrum.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._baselines import RandomSpectrumBaseline
    >>> base = RandomSpectrumBaseline(random_state=0).fit(None, [[4.0, 1.0]])
    >>> S = base.predict(np.zeros((3, 4)))
    >>> S.shape, bool((S[:, 0] >= S[:, 1]).all()), bool(S.max() <= 4.0)
    ((3, 2), True, True)
    """

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        """Record the largest training singular value.

        Parameters
        ----------
        X : ignored
            Not used; present for API consistency.
        y : array-like of shape (n_samples, n_values)
            Training singular values.

        Returns
        -------
        self : object
            Fitted baseline.
        """
        # Imported here so that this class is one appended block of the file.
        from sklearn.utils import check_random_state

        y = np.asarray(y, dtype=np.float64)
        self.high_ = float(y.max())
        self.n_outputs_ = y.shape[1]
        self._rng = check_random_state(self.random_state)
        return self

    def predict(self, X):
        """Draw sorted random spectra, one per row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Only its length is used.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_values)
        """
        s = self._rng.uniform(0.0, self.high_, size=(len(X), self.n_outputs_))
        return -np.sort(-s, axis=1)
