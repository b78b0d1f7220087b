# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Zero-learning baselines that any learned singular-value model must beat."""

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSpectrumRegressor
from ._linalg import frobenius_norms
from ._recording import record_prediction_input
from ._validation import NON_NEGATIVE_INT, POSITIVE_INT


class MeanSpectrumRegressor(BaseSpectrumRegressor):
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
          knowingly (its accuracy-speed frontier: :ref:`performance`).
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
        "n_components": [POSITIVE_INT],
        "n_iter": [NON_NEGATIVE_INT],
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
        with self._fitting():
            X, y, shape, y_1d = self._validate_fit_data(X, y)
            self._fit_spectra(np.asarray(y, dtype=np.float64), shape)
            self.matrix_shape_, self._y_1d = shape, y_1d
        return self

    def _fit_spectra(self, y, shape):
        """The mean spectrum or templates of training spectra ``y``."""
        if self.scaling == "none":
            self.spectrum_ = y.mean(axis=0)
        else:
            norms = np.linalg.norm(y, axis=1, keepdims=True)
            template = (y / np.where(norms > 0, norms, 1.0)).mean(axis=0)
            self.spectrum_ = template / max(np.linalg.norm(template), 1e-300)
        k = self._n_leading(shape)
        if k:
            from ._mlp import tail_template

            self.template_ = tail_template(y, k)

    def _n_leading(self, shape):
        """Values computed by iteration; the rest come from the template."""
        if self.scaling not in ("power", "subspace"):
            return 0
        k = 1 if self.scaling == "power" else self.n_components
        return min(k, min(shape))

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
        X = self._validate_new_X(X)
        record_prediction_input(self, X, self.matrix_shape_)
        k = self._n_leading(self.matrix_shape_)
        if self.scaling == "none":
            out = np.tile(self.spectrum_, (X.shape[0], 1))
        elif k == 0:
            out = frobenius_norms(X)[:, None] * self.spectrum_
        else:
            out = self._ritz_predict(X, k)
        return self._output(out)

    def _ritz_predict(self, X, k):
        """Leading values by the iteration, the template at the leftover energy.

        The "ritz" head of the learned model without its network, run by its
        numpy form (:mod:`svlearn._lean`), the CPU route of the learned
        model: the two cost the same per matrix but for the network.
        """
        import torch

        from ._lean import ritz_plan
        from ._mlp import SpectrumMLP
        from ._numerics import PREDICT_CHUNK

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
        plan = ritz_plan(module)
        out = np.empty((X.shape[0], min(self.matrix_shape_)), dtype=np.float64)
        for start in range(0, X.shape[0], PREDICT_CHUNK):
            block = X[start : start + PREDICT_CHUNK]
            out[start : start + len(block)] = plan.spectra(block).pred
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
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
        from ._model_formats import MAX_ITERATIONS, shape_problem

        m, n = self.matrix_shape_
        problems = [p for p in [shape_problem(self)] if p]
        if self.spectrum_.shape != (min(m, n),):
            problems.append(
                f"spectrum_ has shape {self.spectrum_.shape}, not ({min(m, n)},)"
            )
        k = self._n_leading(self.matrix_shape_)
        template = getattr(self, "template_", None)
        if k and (template is None or template.shape != (min(m, n) - k,)):
            got = "none" if template is None else f"shape {template.shape}"
            problems.append(
                f"scaling={self.scaling!r} needs template_ of shape "
                f"({min(m, n) - k},), got {got}"
            )
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


class RandomSpectrumBaseline(BaseEstimator):
    """Random singular values: the "random" reconstructions of Figure 6.

    The paper does not say how its random singular values were drawn. Here
    each matrix gets ``min(m, n)`` values drawn independently and uniformly
    from ``[0, s_max]``, where ``s_max`` is the largest singular value seen in
    training, sorted in descending order so that they form a valid spectrum.
    Each ``predict`` draws from ``random_state`` afresh, so an int seed gives
    the same spectra on every call (as sklearn's ``DummyClassifier`` does).

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Attributes
    ----------
    high_ : float
        The largest training singular value.
    n_outputs_ : int
        Values per spectrum.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._baselines import RandomSpectrumBaseline
    >>> base = RandomSpectrumBaseline(random_state=0).fit(None, [[4.0, 1.0]])
    >>> S = base.predict(np.zeros((3, 4)))
    >>> S.shape, bool((S[:, 0] >= S[:, 1]).all()), bool(S.max() <= 4.0)
    ((3, 2), True, True)
    >>> bool((base.predict(np.zeros((3, 4))) == S).all())
    True
    """

    _parameter_constraints = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
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
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 2 or y.size == 0 or not np.isfinite(y).all() or (y < 0).any():
            raise ValueError(
                "y must be a non-empty 2-D array of finite, non-negative "
                f"singular values; got shape {y.shape}."
            )
        self.high_ = float(y.max())
        self.n_outputs_ = y.shape[1]
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
        check_is_fitted(self)
        rng = check_random_state(self.random_state)
        s = rng.uniform(0.0, self.high_, size=(len(X), self.n_outputs_))
        return -np.sort(-s, axis=1)
