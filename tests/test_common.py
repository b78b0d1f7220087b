# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's estimator checks over every public svlearn estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from svlearn.utils import all_estimators

# Small, fast settings. Estimator checks use X with arbitrary widths (often 10
# features) and 1-D y, so the matrices are 1 x n_features. Their single singular
# value is the row norm, which the scale-equivariant heads compute whatever the
# training; so the regressor is also checked with the raw head, where the
# network decides the output (a free regressor, trained long enough to fit).
# tests/test_regressor.py plants spectra that only a trained network recovers,
# for every head and several values per matrix.
_FAST_NET = dict(hidden_layer_sizes=(8,), max_iter=2, batch_size=32, random_state=0)
INIT_PARAMS = {
    "SingularValueRegressor": [
        dict(matrix_shape=(1, -1), **_FAST_NET),
        dict(matrix_shape=(1, -1), head="ends", loss="log", **_FAST_NET),
        dict(matrix_shape=(1, -1), head="raw", **{**_FAST_NET, "max_iter": 30}),
    ],
    "MeanSpectrumRegressor": [
        dict(matrix_shape=(1, -1)),
        dict(matrix_shape=(1, -1), scaling="subspace", n_iter=1),
    ],
    "MatrixWindowTransformer": [dict(window_shape=(1, 1))],
    "SVDLight": [dict(matrix_shape=(1, -1), k=1, random_state=0)],
}

_MULTIOUTPUT = (
    "Ten features cannot hold a matrix with the check's five singular values, so "
    "its y has an impossible shape, which the estimator rejects by design."
)
_WINDOWS_N_SAMPLES = "transform returns one row per window, so it changes n_samples."
EXPECTED_FAILED_CHECKS = {
    "SingularValueRegressor": {"check_regressor_multioutput": _MULTIOUTPUT},
    "MeanSpectrumRegressor": {"check_regressor_multioutput": _MULTIOUTPUT},
    "MatrixWindowTransformer": {
        "check_n_features_in": "Stateless and accepts matrices of any shape, so "
        "it records no n_features_in_ (like PatchExtractor).",
        "check_n_features_in_after_fitting": "Stateless and accepts matrices of "
        "any shape, so transform cannot reject a different number of columns.",
        "check_transformer_general": _WINDOWS_N_SAMPLES,
        "check_transformer_data_not_an_array": _WINDOWS_N_SAMPLES,
        "check_transformers_unfitted_stateless": _WINDOWS_N_SAMPLES,
        "check_methods_sample_order_invariance": "Rows of a 2-D X are rows of one "
        "matrix, so permuting them changes the matrix and its windows.",
    },
}


def _expected_failed_checks(estimator):
    return dict(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))


def _instances():
    return [
        cls(**params) for name, cls in all_estimators() for params in INIT_PARAMS[name]
    ]


def test_every_public_estimator_has_fast_settings():
    assert {name for name, _ in all_estimators()} == set(INIT_PARAMS)


@parametrize_with_checks(
    _instances(),
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
