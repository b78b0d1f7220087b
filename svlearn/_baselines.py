# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Zero-learning baselines that any learned singular-value model must beat."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._linalg import singular_values
from ._recording import record_prediction_input
from ._validation import (
    check_targets,
    flatten_matrices,
    matrix_shape_of,
)

_SCALINGS = ("none", "frobenius", "power")


def power_iteration_sigma1(A, n_iter=2):
    """Largest singular value of each matrix by power iteration from ``1``.

    Parameters
    ----------
    A : ndarray of shape (n_matrices, m, n)
    n_iter : int, default=2
        Steps ``v <- A^T A v / ||A^T A v||``; two matrix-vector products each.

    Returns
    -------
    sigma1 : ndarray of shape (n_matrices,)
        Lower bounds on the largest singular values, converging to them.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._baselines import power_iteration_sigma1
    >>> power_iteration_sigma1(np.diag([3.0, 1.0])[None], n_iter=20).round(6)
    array([3.])
    """
    v = np.ones((A.shape[0], A.shape[2], 1), dtype=A.dtype)
    v /= np.sqrt(A.shape[2])
    for _ in range(n_iter):
        v = np.swapaxes(A, 1, 2) @ (A @ v)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
    return np.linalg.norm(A @ v, axis=1)[:, 0]


class MeanSpectrumRegressor(RegressorMixin, BaseEstimator):
    """Predict singular values from the mean training spectrum, without learning.

    Parameters
    ----------
    matrix_shape : tuple of two ints or None, default=None
        Shape ``(m, n)`` of each matrix; ``None`` means square.
    scaling : {"frobenius", "none", "power"}, default="frobenius"
        - "none": every matrix gets the mean training spectrum.
        - "frobenius": the mean unit-norm training spectrum (the template)
          times each matrix's exact Frobenius norm.
        - "power": the largest value from ``n_iter`` power-iteration steps, the
          rest the template's tail scaled to the exact leftover energy
          ``||A||_F^2 - sigma_1^2``.
    n_iter : int, default=2
        Power-iteration steps for ``scaling="power"``.

    Attributes
    ----------
    spectrum_ : ndarray of shape (min(m, n),)
        Mean training spectrum ("none") or the unit-norm template.
    matrix_shape_ : tuple of two ints
    n_features_in_ : int

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
    """

    def __init__(self, *, matrix_shape=None, scaling="frobenius", n_iter=2):
        self.matrix_shape = matrix_shape
        self.scaling = scaling
        self.n_iter = n_iter

    def fit(self, X, y=None):
        """Average the training spectra.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Training matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            Their singular values; computed exactly when None.

        Returns
        -------
        self : object
        """
        if self.scaling not in _SCALINGS:
            raise ValueError(
                f"scaling must be one of {_SCALINGS}, got {self.scaling!r}."
            )
        if not (isinstance(self.n_iter, (int, np.integer)) and self.n_iter >= 0):
            raise ValueError(f"n_iter must be an int >= 0, got {self.n_iter!r}.")
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
            t = (y / np.where(norms > 0, norms, 1.0)).mean(axis=0)
            self.spectrum_ = t / max(np.linalg.norm(t), 1e-300)
        return self

    def predict(self, X):
        """Predict singular values.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, min(m, n))
        """
        check_is_fitted(self)
        X, _ = flatten_matrices(X)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        record_prediction_input(self, X, self.matrix_shape_)
        if self.scaling == "none":
            out = np.tile(self.spectrum_, (X.shape[0], 1))
        else:
            fro = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
            out = fro[:, None] * self.spectrum_
            if self.scaling == "power" and out.shape[1] > 1:
                A = X.reshape(-1, *self.matrix_shape_).astype(np.float64)
                if A.shape[1] < A.shape[2]:
                    A = np.swapaxes(A, 1, 2)
                s1 = power_iteration_sigma1(A, self.n_iter)
                rest = np.sqrt(np.clip(fro**2 - s1**2, 0, None))
                tail = self.spectrum_[1:] / max(
                    np.linalg.norm(self.spectrum_[1:]), 1e-300
                )
                out[:, 0] = s1
                out[:, 1:] = np.minimum(rest[:, None] * tail, s1[:, None])
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.required = False
        tags.regressor_tags.poor_score = True
        return tags


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
