# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""SVD-LIGHT (Algorithm 1 of the SV-Learn paper) and rank-k reconstruction."""

import zlib

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import (
    POSITIVE_INT,
    check_matrix_stack,
    flatten_matrices,
    matrix_shape_of,
)

# resolve_matrix_shape checks the entries of a given shape.
_MATRIX_SHAPE = [tuple, list, None]


def _check_k_fits(k, shape):
    """Raise unless ``k <= min(m, n)`` for matrices of ``shape``.

    Bespoke: the upper bound depends on the data, which sklearn's parameter
    constraints cannot see; the type and ``k >= 1`` are checked by them.
    """
    limit = min(shape)
    if k > limit:
        raise ValueError(
            f"k must satisfy 1 <= k <= min(m, n) = {limit} for matrices of "
            f"shape {tuple(shape)}; got k={k!r}."
        )


@validate_params(
    {
        "X": ["array-like"],
        "singular_values": ["array-like"],
        "k": [POSITIVE_INT],
        "matrix_shape": _MATRIX_SHAPE,
    },
    prefer_skip_nested_validation=True,
)
def reconstruct(X, singular_values, *, k, matrix_shape=None):
    """Rank-``k`` reconstructions from true singular vectors and given values.

    For each matrix ``M = U diag(s) V^T`` (exact SVD) and the given values
    ``t``, return ``U[:, :k] diag(t[:k]) V[:, :k]^T``. With ``t = s`` this is
    the truncated SVD, the best rank-``k`` approximation (Eckart-Young); with
    predicted or random ``t`` it is the reconstruction of Figures 5 and 6 of
    the SV-Learn paper.

    Parameters
    ----------
    X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
        Matrices, flattened in row-major order, or stacked.
    singular_values : array-like of shape (n_samples, n_values)
        Values to put on the diagonal, one row per matrix, with
        ``n_values >= k``. The ``i``-th value is paired with the ``i``-th
        singular vector pair of the exact SVD (largest first), so pass them
        in descending order, as :func:`svlearn.singular_values` and
        :meth:`svlearn.SingularValueRegressor.predict` return them.
    k : int
        Rank of the reconstruction, ``1 <= k <= min(m, n)``.
    matrix_shape : tuple of two ints or None, default=None
        Shape ``(m, n)`` of each matrix for flattened ``X``; ``None`` means
        square. One entry may be ``-1``, inferred as in :func:`numpy.reshape`.

    Returns
    -------
    X_rec : ndarray of shape (n_samples, m * n), dtype float64
        Reconstructions flattened in row-major order; use
        ``X_rec.reshape(-1, m, n)`` for matrices.

    See Also
    --------
    SVDLight : Algorithm 1, which takes the singular vectors from sampled
        rows and columns instead of the exact SVD.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import reconstruct, singular_values
    >>> M = np.array([[3.0, 0.0], [0.0, 1.0]]).reshape(1, -1)
    >>> reconstruct(M, singular_values(M), k=1)
    array([[3., 0., 0., 0.]])
    >>> reconstruct(M, [[6.0, 2.0]], k=2)
    array([[6., 0., 0., 2.]])
    """
    M, shape = check_matrix_stack(X, matrix_shape)
    _check_k_fits(k, shape)
    S = check_array(singular_values, dtype=np.float64, input_name="singular_values")
    if S.shape[0] != M.shape[0] or S.shape[1] < k:
        raise ValueError(
            "singular_values must have shape (n_samples, n_values) with "
            f"n_samples={M.shape[0]} and n_values >= k={k}; got "
            f"singular_values of shape {S.shape}."
        )
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    out = (U[:, :, :k] * S[:, None, :k]) @ Vt[:, :k, :]
    return out.reshape(M.shape[0], -1)


def _sample(M, k, rng, sampling):
    """Draw ``k`` rows and ``k`` columns of ``M`` (Algorithm 1, lines 3-4).

    Returns the row indices and the two sampled blocks ``M_R`` (k x n) and
    ``M_C`` (m x k).
    """
    m, n = M.shape
    if sampling == "norm":
        # Length-squared sampling with replacement, rescaled so that
        # M_R^T M_R and M_C M_C^T are unbiased for M^T M and M M^T (FKV/DKM).
        row_p = np.einsum("ij,ij->i", M, M)
        col_p = np.einsum("ij,ij->j", M, M)
        total = row_p.sum()
        if total > 0:
            row_p, col_p = row_p / total, col_p / total
            rows = rng.choice(m, size=k, p=row_p)
            cols = rng.choice(n, size=k, p=col_p)
            M_R = M[rows] / np.sqrt(k * row_p[rows])[:, None]
            M_C = M[:, cols] / np.sqrt(k * col_p[cols])[None, :]
            return rows, M_R, M_C
        # A zero matrix has no energy to sample by; fall back to uniform.
    rows = rng.choice(m, size=k, replace=False)
    cols = rng.choice(n, size=k, replace=False)
    return rows, M[rows], M[:, cols]


def _svd_light(M, sigma, k, rng, method, sampling):
    """Algorithm 1 on one float64 matrix; return ``U_C, Sigma_O, V_R^T``."""
    rows, M_R, M_C = _sample(M, k, rng, sampling)
    U_R, _, Vt_R = np.linalg.svd(M_R, full_matrices=False)
    U_C, _, _ = np.linalg.svd(M_C, full_matrices=False)
    # Line 7: the top k predicted values, descending (Sigma_O is k x k; its
    # "remaining zeros" only matter for the full-size factors, not used here).
    sigma_o = np.sort(sigma)[::-1][:k].copy()
    if method == "aligned":
        # Each factor of two independent SVDs has an arbitrary sign. The sign
        # of u_i^T M v_i is estimated from the sampled rows only:
        # u_C,i[rows]^T (M_R v_R,i) is proportional to u_C,i[rows]^T u_R,i.
        signs = np.sign(np.einsum("ij,ij->j", U_C[rows], U_R))
        signs[signs == 0] = 1.0
        U_C = U_C * signs
    elif method == "projection":
        # Align the two bases through the k x k core U_C^T M V_R, which reads
        # all of M: fixes signs, order and rotation within the subspaces.
        P, _, Qt = np.linalg.svd(U_C.T @ M @ Vt_R.T)
        U_C, Vt_R = U_C @ P, Qt @ Vt_R
    return U_C, sigma_o, Vt_R


class SVDLight(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """SVD-LIGHT: rank-``k`` factors from sampled rows, columns and predicted values.

    Algorithm 1 of the SV-Learn paper. For each matrix ``M`` (``m x n``):

    1. ``Sigma`` <- the singular values of ``M`` predicted by a
       :class:`~svlearn.SingularValueRegressor`;
    2. ``M_R`` <- ``k`` random rows of ``M``; ``M_C`` <- ``k`` random columns;
    3. ``U_R, Sigma_R, V_R^T`` <- SVD(``M_R``); ``U_C, Sigma_C, V_C^T`` <-
       SVD(``M_C``);
    4. ``Sigma_O`` <- diag of the top ``k`` values of ``Sigma``;
    5. return ``U_C`` (``m x k``), ``Sigma_O`` (``k x k``), ``V_R^T``
       (``k x n``).

    :meth:`transform` returns the reconstructions ``U_C Sigma_O V_R^T``;
    :meth:`decompose` returns the factors. The transformer keeps
    ``n_samples`` and ``n_features``, so it can sit anywhere in a
    :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    k : int, default=5
        Number of rows and of columns sampled, and rank of the result;
        ``1 <= k <= min(m, n)``, checked in :meth:`fit`.
    regressor : estimator or None, default=None
        Source of the predicted singular values: an object with
        ``predict(X)`` returning ``(n_samples, >= k)`` values, such as
        :class:`~svlearn.SingularValueRegressor`.

        - ``None``: a default ``SingularValueRegressor(matrix_shape=...,
          random_state=...)`` is fitted in :meth:`fit` on ``X``,
          self-supervised (targets are the exact singular values of ``X``).
        - a fitted estimator: used as is, not refitted.
        - an unfitted estimator: cloned and fitted on ``X`` in :meth:`fit`.

        :func:`~sklearn.base.clone` (used by ``GridSearchCV`` and
        ``cross_validate``) returns an unfitted copy of a fitted regressor, which
        is then refitted; wrap it in :class:`sklearn.frozen.FrozenEstimator`
        to keep it fitted through cloning.
    matrix_shape : tuple of two ints or None, default=None
        Shape ``(m, n)`` of each matrix for flattened ``X``. ``None`` takes it
        from a 3-D ``X``, else from a fitted ``regressor``'s
        ``matrix_shape_``, else assumes square matrices. One entry may be
        ``-1``, inferred as in :func:`numpy.reshape`.
    method : {"faithful", "aligned", "projection"}, default="faithful"
        How the two sampled bases are combined.

        - ``"faithful"``: Algorithm 1 exactly. ``U_C`` and ``V_R`` come from
          two independent SVDs, so each pair ``(u_i, v_i)`` has an arbitrary
          relative sign, and their order and rotation need not match;
          reconstructions can be far from ``M`` even with exact values.
        - ``"aligned"``: as ``"faithful"``, but the sign of each ``u_i`` is
          chosen so that ``u_i^T M v_i > 0``, estimated from the sampled rows
          only (no extra access to ``M``).
        - ``"projection"``: rotate both bases by the SVD of the ``k x k`` core
          ``U_C^T M V_R``, which fixes signs, order and rotation but reads all
          of ``M`` (``O(mnk)`` time). The values are still the predicted ones.
    sampling : {"uniform", "norm"}, default="uniform"
        ``"uniform"`` draws ``k`` distinct rows and columns uniformly, as the
        paper. ``"norm"`` draws them with probability proportional to their
        squared norms, with replacement, and rescales them (length-squared
        sampling of Frieze, Kannan and Vempala).
    random_state : int, RandomState instance or None, default=None
        Seeds the default regressor and the row and column sampling. The rows
        and columns sampled for a matrix depend only on the fitted seed and
        the matrix itself, so :meth:`transform` is deterministic once fitted
        and does not depend on the order or batching of the samples. Pass an
        int for reproducible results across calls of :meth:`fit`.

    Attributes
    ----------
    regressor_ : estimator
        The fitted regressor that predicts the singular values.
    matrix_shape_ : tuple of two ints
        Shape ``(m, n)`` of each matrix.
    n_features_in_ : int
        Number of features seen during :meth:`fit` (``m * n``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`, when ``X`` has string
        column names.

    See Also
    --------
    reconstruct : Rank-``k`` reconstruction from the exact singular vectors.
    sklearn.utils.extmath.randomized_svd : Randomized truncated SVD.

    Notes
    -----
    The paper's Algorithm 1 leaves the relative signs and the pairing of the
    columns of ``U_C`` with the rows of ``V_R^T`` to chance, and its ``U_C``
    spans ``k`` sampled columns rather than the top singular subspace. On
    CIFAR-10 images even exact singular values give a relative Frobenius
    error several times that of the truncated SVD; see :doc:`/svdlight`
    for the measured comparison with the truncated SVD, randomized SVD and
    interpolative decompositions.

    References
    ----------
    .. [1] A. Frieze, R. Kannan and S. Vempala, "Fast Monte-Carlo algorithms
       for finding low-rank approximations", Journal of the ACM 51(6), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from svlearn import SVDLight, SingularValueRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(20, 8, 2) @ rng.rand(20, 2, 8)  # twenty 8x8 rank-2 matrices
    >>> reg = SingularValueRegressor(hidden_layer_sizes=(16,), max_iter=2,
    ...                              random_state=0).fit(X)
    >>> svdl = SVDLight(k=2, regressor=reg, random_state=0).fit(X)
    >>> svdl.transform(X).shape
    (20, 64)
    >>> U, S, Vt = svdl.decompose(X)
    >>> U.shape, S.shape, Vt.shape
    ((20, 8, 2), (20, 2), (20, 2, 8))
    """

    _parameter_constraints = {
        "k": [POSITIVE_INT],
        "regressor": [HasMethods(["predict"]), None],
        "matrix_shape": _MATRIX_SHAPE,
        "method": [StrOptions({"faithful", "aligned", "projection"})],
        "sampling": [StrOptions({"uniform", "norm"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        k=5,
        regressor=None,
        matrix_shape=None,
        method="faithful",
        sampling="uniform",
        random_state=None,
    ):
        self.k = k
        self.regressor = regressor
        self.matrix_shape = matrix_shape
        self.method = method
        self.sampling = sampling
        self.random_state = random_state

    @_fit_context(
        # The regressor is fitted (and validated) by its own fit.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None):
        """Fit (or adopt) the singular value regressor and check ``k``.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Training matrices, flattened in row-major order, or stacked.
        y : None
            Ignored; the regressor is trained on the exact singular values of
            ``X``.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X, shape3d = flatten_matrices(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=True)
        prefit = self.regressor is not None and _is_fitted(self.regressor)
        if shape3d is None and self.matrix_shape is None and prefit:
            shape = tuple(self.regressor.matrix_shape_)
        else:
            shape = matrix_shape_of(shape3d, self.matrix_shape, X.shape[1])
        _check_k_fits(self.k, shape)
        self.matrix_shape_ = tuple(int(d) for d in shape)

        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        if prefit:
            self.regressor_ = self.regressor
        else:
            if self.regressor is None:
                # Deferred import: torch is only needed when fitting a regressor.
                from ._regressor import SingularValueRegressor

                regressor = SingularValueRegressor(
                    matrix_shape=self.matrix_shape_, random_state=seed
                )
            else:
                regressor = clone(self.regressor)
            # A 3-D stack tells any regressor the matrix shape unambiguously.
            self.regressor_ = regressor.fit(X.reshape(-1, *self.matrix_shape_))
        fitted_shape = getattr(self.regressor_, "matrix_shape_", None)
        if fitted_shape is not None and tuple(fitted_shape) != self.matrix_shape_:
            raise ValueError(
                f"regressor was fitted on matrices of shape {tuple(fitted_shape)}"
                f", but X holds matrices of shape {self.matrix_shape_}."
            )
        self._sampling_seed = int(rng.randint(np.iinfo(np.int32).max))
        return self

    def decompose(self, X):
        """Return the SVD-LIGHT factors ``U_C``, ``Sigma_O`` and ``V_R^T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices, flattened in row-major order, or stacked.

        Returns
        -------
        U : ndarray of shape (n_samples, m, k)
            Left singular vectors of the sampled columns ``M_C``.
        S : ndarray of shape (n_samples, k)
            Top ``k`` predicted singular values, descending (the diagonal of
            ``Sigma_O``).
        Vt : ndarray of shape (n_samples, k, n)
            Right singular vectors of the sampled rows ``M_R``, as rows.
        """
        check_is_fitted(self)
        X, shape3d = flatten_matrices(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        if shape3d is not None and shape3d != self.matrix_shape_:
            raise ValueError(
                f"X holds matrices of shape {shape3d}, but SVDLight was fitted "
                f"on matrices of shape {self.matrix_shape_}."
            )
        m, n = self.matrix_shape_
        k = self.k
        M = X.astype(np.float64).reshape(-1, m, n)
        sigma = np.asarray(self.regressor_.predict(X), dtype=np.float64)
        sigma = sigma.reshape(M.shape[0], -1)
        if sigma.shape[1] < k:
            raise ValueError(
                f"regressor predicts {sigma.shape[1]} singular values per "
                f"matrix, fewer than k={k}."
            )
        U = np.empty((M.shape[0], m, k))
        S = np.empty((M.shape[0], k))
        Vt = np.empty((M.shape[0], k, n))
        for i, (matrix, values) in enumerate(zip(M, sigma)):
            # Seed from the matrix itself: transform is then deterministic and
            # invariant to sample order, batching and duplicates elsewhere.
            digest = zlib.crc32(np.ascontiguousarray(matrix).tobytes())
            rng = np.random.default_rng([self._sampling_seed, digest])
            U[i], S[i], Vt[i] = _svd_light(
                matrix, values, k, rng, self.method, self.sampling
            )
        return U, S, Vt

    def transform(self, X):
        """Reconstruct each matrix as ``U_C Sigma_O V_R^T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices, flattened in row-major order, or stacked.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, m * n), dtype float64
            Rank-``k`` reconstructions, flattened in row-major order.
        """
        U, S, Vt = self.decompose(X)
        return ((U * S[:, None, :]) @ Vt).reshape(U.shape[0], -1)

    # Model files (svlearn.save / svlearn.load): the fitted attributes a file
    # stores, with their kinds ("?": fit may not set it), and the check that
    # a loaded state is one fit could have made.
    _persisted_attributes = {
        "matrix_shape_": "shape",
        "n_features_in_": "int",
        "feature_names_in_": "str array?",
        "regressor_": "estimator",
        "_sampling_seed": "int",
    }

    def _check_persisted_state(self):
        """Raise ValueError unless the fitted attributes fit together."""
        from ._model_formats import shape_problem

        problem = shape_problem(self)
        if problem:
            raise ValueError(problem + ".")
        _check_k_fits(self.k, self.matrix_shape_)
        regressor = self.regressor_
        if not hasattr(regressor, "predict") or not _is_fitted(regressor):
            raise ValueError(
                f"regressor_ must be a fitted estimator with predict, got "
                f"{type(regressor).__name__}."
            )
        fitted_shape = getattr(regressor, "matrix_shape_", None)
        if fitted_shape is not None and tuple(fitted_shape) != self.matrix_shape_:
            raise ValueError(
                f"regressor_ was fitted on {tuple(fitted_shape)} matrices, but "
                f"matrix_shape_={self.matrix_shape_}."
            )


def _is_fitted(estimator):
    """Whether ``estimator`` is fitted, for objects that may not be estimators."""
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    except TypeError:
        # Not an estimator (no fit method): a bare predictor is usable as is.
        return True
    return True
