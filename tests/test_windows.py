# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tests for MatrixWindowTransformer, extract_windows and n_windows."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError

from svlearn import MatrixWindowTransformer, extract_windows, n_windows
from svlearn._windows import _draw_windows

# Checks that cannot pass for a transformer that changes n_samples; the
# instance uses 1x1 windows so that the checks' small matrices can be windowed.


@pytest.fixture(scope="module")
def matrices():
    rng = np.random.RandomState(0)
    return [rng.rand(7, 9), rng.rand(5, 5), rng.rand(10, 6)]


def _assert_windows_match(X, windows, origins, window_shape):
    m, n = window_shape
    mats = list(X) if isinstance(X, (list, np.ndarray)) and np.ndim(X[0]) == 2 else [X]
    for w, (i, r, c) in zip(windows, origins):
        assert_array_equal(w, np.asarray(mats[i])[r : r + m, c : c + n].ravel())


def test_extract_windows_known_values():
    A = np.arange(20).reshape(4, 5)
    windows, origins = extract_windows(A, (2, 2), strides=(2, 3), return_origins=True)
    assert_array_equal(
        windows, [[0, 1, 5, 6], [3, 4, 8, 9], [10, 11, 15, 16], [13, 14, 18, 19]]
    )
    assert_array_equal(origins, [[0, 0, 0], [0, 0, 3], [0, 2, 0], [0, 2, 3]])


@pytest.mark.parametrize("strides", [(1, 1), (2, 3), 2, (3, 1)])
@pytest.mark.parametrize("window_shape", [(2, 2), (3, 4), 1, (5, 5)])
def test_list_of_matrices_of_different_sizes(matrices, window_shape, strides):
    windows, origins = extract_windows(
        matrices, window_shape, strides=strides, return_origins=True
    )
    m, n = (window_shape, window_shape) if np.ndim(window_shape) == 0 else window_shape
    sr, sc = (strides, strides) if np.ndim(strides) == 0 else strides
    expected = [
        ((h - m) // sr + 1) * ((w - n) // sc + 1)
        for h, w in (M.shape for M in matrices)
    ]
    assert_array_equal(n_windows(matrices, window_shape, strides=strides), expected)
    assert windows.shape == (sum(expected), m * n)
    assert_array_equal(np.bincount(origins[:, 0]), expected)
    _assert_windows_match(matrices, windows, origins, (m, n))
    # Ordered by matrix, then row, then column.
    assert np.all(
        np.diff(origins[:, 0] * 10**6 + origins[:, 1] * 10**3 + origins[:, 2]) > 0
    )


def test_stack_and_single_matrix_agree():
    stack = np.random.RandomState(1).rand(3, 6, 8).astype(np.float32)
    w_stack, o_stack = extract_windows(stack, (3, 3), strides=2, return_origins=True)
    w_list = extract_windows(list(stack), (3, 3), strides=2)
    w_one = extract_windows(stack[1], (3, 3), strides=2)
    assert_array_equal(w_stack, w_list)
    assert_array_equal(w_stack[o_stack[:, 0] == 1], w_one)
    assert w_stack.dtype == np.float32
    _assert_windows_match(stack, w_stack, o_stack, (3, 3))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_dtype_is_kept(dtype):
    X = np.arange(36).reshape(6, 6).astype(dtype)
    assert extract_windows(X, 3).dtype == dtype
    assert extract_windows(X, 3, max_windows=2, random_state=0).dtype == dtype


def test_max_windows_is_a_reproducible_subset(matrices):
    full, full_origins = extract_windows(matrices, (2, 2), return_origins=True)
    kw = dict(window_shape=(2, 2), max_windows=17, return_origins=True)
    w1, o1 = extract_windows(matrices, random_state=0, **kw)
    w2, o2 = extract_windows(matrices, random_state=0, **kw)
    w3, o3 = extract_windows(matrices, random_state=1, **kw)
    assert w1.shape == (17, 4)
    assert_array_equal(w1, w2)
    assert_array_equal(o1, o2)
    assert not np.array_equal(o1, o3)
    # Distinct windows, each a genuine window of its origin.
    assert len({tuple(o) for o in o1}) == 17
    _assert_windows_match(matrices, w1, o1, (2, 2))
    full_set = {tuple(o) for o in full_origins}
    assert {tuple(o) for o in o1} <= full_set
    # As many as exist, or more: every window, in order, without randomness.
    w_all = extract_windows(matrices, (2, 2), max_windows=10**9)
    assert_array_equal(w_all, full)


def test_max_windows_is_uniform_over_matrices():
    # A large and a small matrix: draws land in proportion to window counts.
    X = [np.zeros((101, 101)), np.zeros((11, 11))]
    counts = n_windows(X, 2)
    _, origins = extract_windows(
        X, 2, max_windows=5000, random_state=0, return_origins=True
    )
    share_small = np.mean(origins[:, 0] == 1)
    assert share_small == pytest.approx(counts[1] / counts.sum(), abs=0.01)


@pytest.mark.parametrize(
    "n_population, n_draws", [(10**15, 1000), (1000, 999), (1000, 1000), (50, 1)]
)
def test_draw_distinct_sorted_in_range(n_population, n_draws):
    drawn = _draw_windows(n_population, n_draws, 0)
    assert drawn.shape == (n_draws,)
    assert np.all(np.diff(drawn) > 0)
    assert drawn[0] >= 0 and drawn[-1] < n_population


def _peak_bytes(func):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


@pytest.mark.parametrize(
    "kwargs", [dict(strides=(32, 32)), dict(max_windows=3000, random_state=0)]
)
def test_memory_is_output_plus_a_constant(kwargs):
    # 2,000 x 2,000 at stride 1 has ~3.9 million windows, 16 GB if materialised.
    X = np.ones((2000, 2000), dtype=np.float32)
    out, peak = _peak_bytes(lambda: extract_windows(X, (32, 32), **kwargs))
    assert peak < out.nbytes + 12 * 2**20


@pytest.mark.parametrize(
    "params, err, match",
    [
        (dict(window_shape=(0, 3)), ValueError, r"window_shape must contain positive"),
        (dict(window_shape=(-2, 2)), ValueError, r"window_shape.*\(-2, 2\)"),
        (dict(window_shape=(2, 2, 2)), TypeError, r"window_shape must be an int or"),
        (dict(window_shape=(2.5, 2)), TypeError, r"window_shape.*\(2.5, 2\)"),
        (dict(strides=(1, 0)), ValueError, r"strides must contain positive.*\(1, 0\)"),
        # Plain ints and max_windows go through sklearn's parameter validation.
        (dict(strides=-1), InvalidParameterError, r"'strides' parameter.*Got -1"),
        (dict(window_shape=2.5), InvalidParameterError, r"'window_shape' param"),
        (dict(max_windows=0), InvalidParameterError, r"'max_windows'.*Got 0 "),
        (dict(max_windows=0.5), InvalidParameterError, r"'max_windows'.*Got 0.5"),
        (dict(max_windows=True), InvalidParameterError, r"'max_windows'.*Got True"),
        (dict(random_state="a"), InvalidParameterError, r"'random_state'"),
    ],
)
def test_bad_parameters(params, err, match):
    X = np.zeros((4, 4))
    with pytest.raises(err, match=match):
        extract_windows(X, **{"window_shape": (2, 2), **params})
    with pytest.raises(err, match=match):
        MatrixWindowTransformer(**{"window_shape": (2, 2), **params}).fit(X)


def test_bad_pairs_are_reported_together():
    with pytest.raises(ValueError, match="window_shape.*strides"):
        extract_windows(np.zeros((4, 4)), (0, 1), strides=(0, 1))


def test_window_larger_than_matrix():
    with pytest.raises(
        ValueError,
        match=r"window_shape=\(32, 32\) is larger than "
        r"X, of shape \(20, 40\)",
    ):
        extract_windows(np.zeros((20, 40)), (32, 32))
    with pytest.raises(
        ValueError,
        match=r"larger than matrix 1 of X, of shape "
        r"\(3, 9\)",
    ):
        MatrixWindowTransformer(window_shape=4).fit(
            [np.zeros((9, 9)), np.zeros((3, 9))]
        )


@pytest.mark.parametrize(
    "X, err, match",
    [
        (np.arange(5.0), ValueError, r"got an array of shape \(5,\).*Reshape"),
        (np.zeros((2, 3, 4, 5)), ValueError, r"shape \(2, 3, 4, 5\)"),
        ([], ValueError, "X is an empty list"),
        (np.zeros((3, 4), dtype=complex), ValueError, "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, "could not"),
        (np.array([[{}, 1], [2, 3]], dtype=object), TypeError, "argument must be"),
        (sparse.csr_matrix(np.eye(4)), TypeError, "[Ss]parse"),
        (np.zeros((0, 4)), ValueError, "0 sample"),
        (np.zeros((2, 0, 4)), ValueError, "stack of empty matrices"),
    ],
)
def test_bad_input(X, err, match):
    with pytest.raises(err, match=match):
        extract_windows(X, (1, 1))
    with pytest.raises(err, match=match):
        MatrixWindowTransformer(window_shape=(1, 1)).fit_transform(X)


def test_object_array_of_numbers_is_converted():
    X = np.arange(16).reshape(4, 4).astype(object)
    assert_array_equal(extract_windows(X, 2), extract_windows(X.astype(float), 2))


def test_transformer_matches_function_and_origins(matrices):
    params = dict(window_shape=(3, 2), strides=(2, 1), max_windows=9, random_state=3)
    windower = MatrixWindowTransformer(**params)
    assert windower.fit(matrices) is windower
    out = windower.transform(matrices)
    expected, origins = extract_windows(matrices, return_origins=True, **params)
    assert_array_equal(out, expected)
    assert_array_equal(windower.window_origins(matrices), origins)
    windower.set_params(max_windows=None)
    assert_array_equal(
        windower.window_origins(matrices),
        extract_windows(matrices, (3, 2), strides=(2, 1), return_origins=True)[1],
    )


def test_transformer_params_are_stored_unchanged():
    windower = MatrixWindowTransformer(window_shape=[4, 4], strides=2)
    assert windower.window_shape == [4, 4] and windower.strides == 2
    assert clone(windower).get_params()["window_shape"] == [4, 4]
    tags = get_tags(windower)
    assert tags.input_tags.three_d_array and not tags.requires_fit


def _low_rank_images(n_images, shape, rank, seed):
    rng = np.random.RandomState(seed)
    return np.stack(
        [rng.rand(shape[0], rank) @ rng.rand(rank, shape[1]) for _ in range(n_images)]
    ).astype(np.float32)


def test_grid_search_over_pipeline_split_by_image():
    from svlearn import SingularValueRegressor, singular_values
    from svlearn.metrics import nmse, nmse_scorer

    images = _low_rank_images(6, (20, 24), rank=3, seed=0)
    # Pairs of images share a source; folds keep each source on one side.
    groups = np.repeat(np.arange(3), 2)
    pipe = make_pipeline(
        MatrixWindowTransformer(window_shape=(8, 8), strides=4),
        SingularValueRegressor(
            matrix_shape=(8, 8), hidden_layer_sizes=(16,), max_iter=2, random_state=0
        ),
    )
    search = GridSearchCV(
        pipe,
        {"matrixwindowtransformer__strides": [4, 8]},
        scoring=nmse_scorer,
        cv=GroupKFold(n_splits=3),
    )
    search.fit(images, groups=groups)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # Each split's score is the NMSE on the held-out images' windows, with their
    # exact singular values as truth: folds split by image, not by window.
    train, test = next(GroupKFold(n_splits=3).split(images, groups=groups))
    first = clone(pipe).set_params(matrixwindowtransformer__strides=4)
    first.fit(images[train])
    windows = first[0].transform(images[test])
    expected = -nmse(singular_values(windows), first.predict(images[test]))
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    # The refitted pipeline was trained on the 8 x 8 windows.
    assert search.best_estimator_[-1].n_features_in_ == 64

    # Images of different sizes go through cross-validation as a list.
    ragged = [images[0], images[1, :16], images[2, :, :12], images[3], images[4]]
    scores = cross_validate(
        pipe, ragged, scoring=nmse_scorer, cv=GroupKFold(5), groups=np.arange(5)
    )
    assert np.all(np.isfinite(scores["test_score"]))
