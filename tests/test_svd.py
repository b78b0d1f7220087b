# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of SVDLight (Algorithm 1) and reconstruct on planted matrices."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from svlearn import SVDLight, reconstruct, singular_values


class OracleRegressor(RegressorMixin, BaseEstimator):
    """Stand-in regressor that 'predicts' the exact singular values."""

    def __init__(self, *, scale=1.0):
        self.scale = scale

    def fit(self, X, y=None):
        X = np.asarray(X)
        self.matrix_shape_ = X.shape[1:] if X.ndim == 3 else _square(X.shape[1])
        return self

    def predict(self, X):
        return self.scale * singular_values(X, matrix_shape=self.matrix_shape_)


def _square(n_features):
    side = int(round(n_features**0.5))
    return (side, side)


def _low_rank(n_samples, m, n, rank, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n_samples, m, rank) @ rng.randn(n_samples, rank, n)


@pytest.fixture(scope="module")
def rank3():
    """Ten exactly rank-3 matrices of shape 7 x 9, flattened."""
    return _low_rank(10, 7, 9, 3).reshape(10, -1)


@pytest.mark.parametrize("sampling", ["uniform", "norm"])
def test_projection_recovers_rank_k_matrix(rank3, sampling):
    # k generic rows and columns of a rank-k matrix span its row and column
    # spaces, so projection + exact values reproduce M exactly.
    svdl = SVDLight(
        k=3,
        regressor=OracleRegressor(),
        matrix_shape=(7, 9),
        method="projection",
        sampling=sampling,
        random_state=0,
    )
    if sampling == "norm":
        # With replacement, a row may be drawn twice; rank 1 is immune to that.
        X = _low_rank(10, 7, 9, 1).reshape(10, -1)
        svdl.set_params(k=1)
    else:
        X = rank3
    assert_allclose(svdl.fit_transform(X), X, atol=1e-9)


def test_faithful_factors_span_the_true_subspaces(rank3):
    svdl = SVDLight(
        k=3, regressor=OracleRegressor(), matrix_shape=(7, 9), random_state=0
    ).fit(rank3)
    U, S, Vt = svdl.decompose(rank3)
    M = rank3.reshape(-1, 7, 9)
    assert U.shape == (10, 7, 3) and S.shape == (10, 3) and Vt.shape == (10, 3, 9)
    # Orthonormal bases of the sampled columns / rows ...
    assert_allclose(
        U.transpose(0, 2, 1) @ U, np.broadcast_to(np.eye(3), (10, 3, 3)), atol=1e-12
    )
    assert_allclose(
        Vt @ Vt.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (10, 3, 3)), atol=1e-12
    )
    # ... which span the column and row spaces of M,
    assert_allclose(U @ (U.transpose(0, 2, 1) @ M), M, atol=1e-9)
    assert_allclose((M @ Vt.transpose(0, 2, 1)) @ Vt, M, atol=1e-9)
    # and Sigma_O holds the top k (here: all nonzero) exact values.
    assert_allclose(S, singular_values(M)[:, :3])
    # The reconstruction is U_C Sigma_O V_R^T, whatever its quality.
    assert_allclose(svdl.transform(rank3), ((U * S[:, None]) @ Vt).reshape(10, -1))


def test_rank_one_faithful_is_exact_up_to_sign_and_aligned_fixes_it():
    X = _low_rank(12, 6, 5, 1, seed=1).reshape(12, -1)
    params = dict(k=1, regressor=OracleRegressor(), matrix_shape=(6, 5))
    faithful = SVDLight(**params, random_state=0).fit_transform(X)
    # Two independent SVDs: each reconstruction is +M or -M.
    same = np.isclose(faithful, X).all(axis=1)
    flipped = np.isclose(faithful, -X).all(axis=1)
    assert (same | flipped).all()
    aligned = SVDLight(**params, method="aligned", random_state=0).fit_transform(X)
    assert_allclose(aligned, X, atol=1e-9)


def test_sigma_o_takes_the_top_k_predicted_values(rank3):
    class Reversed(OracleRegressor):
        def predict(self, X):
            return 2.0 * super().predict(X)[:, ::-1]

    svdl = SVDLight(k=2, regressor=Reversed(), matrix_shape=(7, 9), random_state=0)
    _, S, _ = svdl.fit(rank3).decompose(rank3)
    assert_allclose(S, 2.0 * singular_values(rank3, matrix_shape=(7, 9))[:, :2])


@pytest.mark.parametrize(
    "k, err, match",
    [
        (0, InvalidParameterError, r"'k' parameter .* range \[1, inf\). Got 0"),
        (8, ValueError, r"1 <= k <= min\(m, n\) = 7 .* got k=8"),
        (2.0, InvalidParameterError, r"'k' parameter .* Got 2.0"),
        (True, InvalidParameterError, r"'k' parameter .* Got True"),
    ],
)
def test_k_is_validated(rank3, k, err, match):
    svdl = SVDLight(k=k, regressor=OracleRegressor(), matrix_shape=(7, 9))
    with pytest.raises(err, match=match):
        svdl.fit(rank3)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(method="exact"), "'method' parameter .* Got 'exact'"),
        (dict(sampling="leverage"), "'sampling' parameter .* Got 'leverage'"),
        (dict(matrix_shape=7), "'matrix_shape' parameter .* Got 7"),
        (dict(random_state="seed"), "'random_state' parameter"),
    ],
)
def test_bad_parameters(rank3, params, match):
    svdl = SVDLight(regressor=OracleRegressor(), **{"matrix_shape": (7, 9), **params})
    with pytest.raises(InvalidParameterError, match=match):
        svdl.fit(rank3)


def test_regressor_without_predict_is_rejected(rank3):
    with pytest.raises(
        InvalidParameterError, match="'regressor' parameter .* 'predict'"
    ):
        SVDLight(regressor="oracle", matrix_shape=(7, 9)).fit(rank3)


def test_prefit_regressor_of_another_shape_is_rejected(rank3):
    prefit = OracleRegressor().fit(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"fitted on matrices of shape \(4, 4\)"):
        SVDLight(k=2, regressor=prefit, matrix_shape=(7, 9)).fit(rank3)


def test_reproducible_with_random_state():
    X = np.random.RandomState(0).rand(15, 36)
    params = dict(k=3, regressor=OracleRegressor())
    a = SVDLight(**params, random_state=42).fit(X)
    b = SVDLight(**params, random_state=42).fit(X)
    c = SVDLight(**params, random_state=43).fit(X)
    assert_allclose(a.transform(X), b.transform(X))
    assert_allclose(a.transform(X), a.transform(X))
    assert not np.allclose(a.transform(X), c.transform(X))
    # The samples depend on each matrix only, not on its position or batch.
    assert_allclose(a.transform(X[::-1]), a.transform(X)[::-1])
    assert_allclose(a.transform(X[3:4]), a.transform(X)[3:4])


def test_three_d_input_matches_flat_input(rank3):
    svdl = SVDLight(k=2, regressor=OracleRegressor(), random_state=0)
    X3 = rank3.reshape(-1, 7, 9)
    out3 = svdl.fit(X3).transform(X3)
    assert svdl.matrix_shape_ == (7, 9)
    assert_allclose(out3, svdl.transform(rank3))


def test_prefit_regressor_is_used_as_is_and_unfitted_one_is_cloned(rank3):
    prefit = OracleRegressor().fit(rank3.reshape(-1, 7, 9))
    svdl = SVDLight(k=2, regressor=prefit).fit(rank3)
    assert svdl.regressor_ is prefit
    assert svdl.matrix_shape_ == (7, 9)

    unfitted = OracleRegressor()
    svdl = SVDLight(k=2, regressor=unfitted, matrix_shape=(7, 9)).fit(rank3)
    assert svdl.regressor_ is not unfitted
    assert not hasattr(unfitted, "matrix_shape_")
    assert svdl.regressor_.matrix_shape_ == (7, 9)


def test_default_and_given_singular_value_regressor_fit_in_fit():
    from svlearn import SingularValueRegressor

    X = _low_rank(16, 4, 4, 2).reshape(16, -1).astype(np.float32)
    tiny = SingularValueRegressor(hidden_layer_sizes=(16,), max_iter=2, random_state=0)
    svdl = SVDLight(k=2, regressor=tiny, random_state=0).fit(X)
    assert isinstance(svdl.regressor_, SingularValueRegressor)
    assert svdl.transform(X).shape == (16, 16)

    X = X.reshape(8, 32)
    svdl = SVDLight(k=1, matrix_shape=(4, -1), random_state=0).fit(X)
    assert isinstance(svdl.regressor_, SingularValueRegressor)
    assert svdl.regressor_.matrix_shape_ == (4, 8)
    assert np.isfinite(svdl.transform(X)).all()


def test_in_pipeline_and_grid_search_refits_the_best_candidate(rank3):
    y = np.random.RandomState(0).rand(rank3.shape[0])
    prefit = OracleRegressor().fit(rank3.reshape(-1, 7, 9))
    pipe = make_pipeline(
        SVDLight(k=2, regressor=FrozenEstimator(prefit), random_state=0),
        PCA(n_components=2),
        Ridge(),
    )
    pipe.fit(rank3, y)
    assert pipe.predict(rank3).shape == (10,)
    assert pipe.named_steps["svdlight"].regressor_.estimator is prefit

    search = GridSearchCV(
        pipe, {"svdlight__k": [1, 3], "svdlight__method": ["faithful", "projection"]}
    )
    search.fit(rank3, y)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_index_ == np.argmax(scores)
    # The refitted pipeline is the best candidate trained on all the data.
    best = clone(pipe).set_params(**search.best_params_).fit(rank3, y)
    assert_allclose(search.predict(rank3), best.predict(rank3))
    # FrozenEstimator survives clone, so the prefit regressor is never refitted.
    frozen = clone(pipe).named_steps["svdlight"].regressor
    assert frozen.estimator is prefit


def test_get_feature_names_out(rank3):
    svdl = SVDLight(k=1, regressor=OracleRegressor(), matrix_shape=(7, 9)).fit(rank3)
    names = svdl.get_feature_names_out()
    assert names.shape == (63,) and names[0] == "x0"


def test_reconstruct_truncated_svd_is_eckart_young(rank3):
    S = singular_values(rank3, matrix_shape=(7, 9))
    M = rank3.reshape(-1, 7, 9)
    # Exact values at rank >= the true rank give the matrix back.
    assert_allclose(reconstruct(rank3, S, k=3, matrix_shape=(7, 9)), rank3, atol=1e-9)
    assert_allclose(reconstruct(M, S, k=7), rank3, atol=1e-9)
    # Below it, the error is the tail energy of the spectrum.
    rec = reconstruct(M, S, k=1)
    err = np.linalg.norm(rank3 - rec, axis=1)
    assert_allclose(err, np.sqrt((S[:, 1:] ** 2).sum(axis=1)))
    # Scaling the values scales the reconstruction.
    assert_allclose(reconstruct(M, 2 * S, k=3), 2 * rank3, atol=1e-9)


def test_reconstruct_validation(rank3):
    S = singular_values(rank3, matrix_shape=(7, 9))
    with pytest.raises(ValueError, match=r"got k=8"):
        reconstruct(rank3, S, k=8, matrix_shape=(7, 9))
    with pytest.raises(ValueError, match=r"n_values >= k=3; got .* shape \(10, 2\)"):
        reconstruct(rank3, S[:, :2], k=3, matrix_shape=(7, 9))
    with pytest.raises(ValueError, match=r"n_samples=10"):
        reconstruct(rank3, S[:5], k=1, matrix_shape=(7, 9))
    with pytest.raises(ValueError, match="not a perfect square"):
        reconstruct(rank3, S, k=1)
    with pytest.raises(InvalidParameterError, match="'k' parameter of reconstruct"):
        reconstruct(rank3, S, k=0, matrix_shape=(7, 9))
