# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of estimate_rank on planted spectra and matrices."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from svlearn import estimate_rank, singular_values


@pytest.mark.parametrize("method", ["energy", "relative", "elbow"])
@pytest.mark.parametrize("rank", [1, 3, 6])
def test_planted_rank_matrices(method, rank):
    rng = np.random.RandomState(rank)
    # Well-conditioned rank-r factors: singular values comparable, rest zero.
    U, _ = np.linalg.qr(rng.randn(5, 12, rank))
    V, _ = np.linalg.qr(rng.randn(5, 12, rank))
    s = rng.uniform(1.0, 2.0, size=(5, 1, rank))
    X = ((U * s) @ V.transpose(0, 2, 1)).reshape(5, -1)
    S = singular_values(X)
    threshold = 1.0 if method == "energy" else None
    assert_array_equal(estimate_rank(S, method=method, threshold=threshold), rank)


def test_energy_threshold_matches_truncation_error():
    s = np.array([4.0, 2.0, 1.0, 0.5, 0.25])
    for threshold in (0.5, 0.8, 0.95, 0.99, 0.999, 1.0):
        (r,) = estimate_rank([s], threshold=threshold)
        kept = (s[:r] ** 2).sum() / (s**2).sum()
        assert kept >= threshold - 1e-12
        assert r == 1 or (s[: r - 1] ** 2).sum() / (s**2).sum() < threshold


def test_relative_tolerance_and_ordering():
    s = [[0.05, 10.0, 0.2, 1.0]]  # unsorted on purpose
    assert estimate_rank(s, method="relative", threshold=0.01) == [3]
    assert estimate_rank(s, method="relative", threshold=0.1) == [1]
    assert estimate_rank(s, method="relative", threshold=0.0) == [4]


def test_elbow_geometric_spectrum_and_flat_spectrum():
    # Fast decay then a floor: the knee is at the end of the fast decay.
    s = np.r_[100.0 * 0.3 ** np.arange(4), np.full(28, 0.01)]
    assert estimate_rank([s], method="elbow")[0] in (2, 3)
    assert estimate_rank(np.ones((1, 8)), method="elbow") == [8]


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_non_2d_input_is_rejected_with_a_hint(shape):
    match = r"must be 2-D, of shape \(n_samples, n_values\).*got shape"
    if len(shape) == 1:
        match += r".*np.reshape\(s, \(1, -1\)\)"
    with pytest.raises(ValueError, match=match):
        estimate_rank(np.ones(shape))


def test_output_type_and_zero_spectrum():
    ranks = estimate_rank(np.array([[3.0, 0.0], [0.0, 0.0]]), method="elbow")
    assert ranks.dtype.kind == "i"
    assert_array_equal(ranks, [1, 0])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(method="knee"), InvalidParameterError, "'method' parameter.*'knee'"),
        (dict(threshold=0.0), ValueError, r"in \(0, 1\] .* got threshold=0.0"),
        (
            dict(method="relative", threshold=1.0),
            ValueError,
            r"in \[0, 1\) .* got threshold=1.0",
        ),
        (dict(method="elbow", threshold=0.5), ValueError, "must be None"),
        (dict(threshold="high"), InvalidParameterError, "'threshold' parameter"),
        (dict(threshold=1.5), InvalidParameterError, r"1.0\] or None. Got 1.5"),
    ],
)
def test_parameter_validation(kwargs, err, match):
    with pytest.raises(err, match=match):
        estimate_rank([[2.0, 1.0]], **kwargs)


def test_negative_values_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        estimate_rank([[2.0, -1.0]])
