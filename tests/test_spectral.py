# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Quantities from spectra against planted matrices and numpy, and their invariants.

Each planted matrix is ``A = U diag(s) V^T`` with random orthogonal ``U``,
``V`` and a chosen ``s``, so every quantity has a known exact value.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.utils._param_validation import InvalidParameterError

from svlearn import (
    condition_number,
    effective_rank,
    estimate_rank,
    log_abs_det,
    nuclear_norm,
    numerical_rank,
    schatten_norm,
    singular_values,
    spectral_norm,
)


def _planted(shape, s, seed=0):
    """``U diag(s) V^T`` of ``shape``, with ``len(s) == min(shape)``."""
    rng = np.random.default_rng(seed)
    m, n = shape
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    D = np.zeros(shape)
    np.fill_diagonal(D, s)
    return U @ D @ V.T


# (shape, planted singular values): full rank, rank-deficient, repeated
# values, 1 x n, n x 1, wide and tall.
CASES = [
    ((4, 4), [8.0, 4.0, 2.0, 1.0]),
    ((5, 5), [3.0, 2.0, 1.0, 0.0, 0.0]),
    ((4, 4), [2.0, 2.0, 2.0, 2.0]),
    ((4, 4), [5.0, 1.0, 1.0, 1.0]),
    ((1, 6), [7.0]),
    ((6, 1), [0.5]),
    ((3, 7), [9.0, 3.0, 1.0]),
    ((7, 3), [9.0, 3.0, 0.0]),
    ((3, 3), [0.0, 0.0, 0.0]),
]
IDS = [f"{m}x{n}-{'-'.join(f'{v:g}' for v in s)}" for (m, n), s in CASES]


@pytest.fixture(params=range(len(CASES)), ids=IDS)
def case(request):
    shape, s = CASES[request.param]
    A = _planted(shape, s, seed=request.param)
    return A, np.asarray(s), singular_values(A[None])[0]


def test_spectral_norm_is_sigma_1_and_numpys_2_norm(case):
    A, s, computed = case
    assert spectral_norm(s) == s.max()
    assert spectral_norm(computed) == pytest.approx(np.linalg.norm(A, 2), abs=1e-12)


def test_nuclear_norm_is_the_sum_and_numpys_nuc_norm(case):
    A, s, computed = case
    assert nuclear_norm(s) == s.sum()
    assert nuclear_norm(computed) == pytest.approx(
        np.linalg.norm(A, "nuc"), rel=1e-12, abs=1e-12
    )


def test_schatten_norm_against_its_definition_and_numpy(case):
    A, s, computed = case
    for p in (1, 1.5, 2, 3, 10):
        assert schatten_norm(s, p) == pytest.approx(np.sum(s**p) ** (1 / p))
    assert schatten_norm(computed, 2) == pytest.approx(
        np.linalg.norm(A, "fro"), rel=1e-12, abs=1e-12
    )
    assert schatten_norm(s, np.inf) == spectral_norm(s)


def test_condition_number_against_planted_and_numpy(case):
    A, s, computed = case
    expected = s.max() / s.min() if s.min() > 0 else np.inf
    assert condition_number(s) == expected
    if np.isinf(expected):
        # numpy computes a huge but finite ratio from rounding-level values.
        assert np.linalg.cond(A) > 1e12
    else:
        assert condition_number(computed) == pytest.approx(np.linalg.cond(A))


def test_numerical_rank_matches_numpys_matrix_rank(case):
    A, s, computed = case
    assert numerical_rank(s) == np.count_nonzero(s)
    assert numerical_rank(computed, matrix_shape=A.shape) == np.linalg.matrix_rank(A)
    for tol in (0.5, 1.5, 2.5):
        assert numerical_rank(computed, tol=tol) == np.linalg.matrix_rank(A, tol=tol)


def test_log_abs_det_matches_slogdet_for_square_matrices(case):
    A, s, computed = case
    with np.errstate(divide="ignore"):
        assert log_abs_det(s) == np.sum(np.log(s))
    if A.shape[0] == A.shape[1] and s.min() > 0:
        sign, logdet = np.linalg.slogdet(A)
        assert log_abs_det(computed) == pytest.approx(logdet)
    if s.min() == 0:
        assert log_abs_det(s) == -np.inf


def test_effective_rank_of_planted_spectra(case):
    A, s, computed = case
    nonzero = s[s > 0]
    if nonzero.size == 0:
        assert effective_rank(s) == 0.0
        assert effective_rank(s, method="energy") == 0
        return
    p = nonzero / nonzero.sum()
    assert effective_rank(s) == pytest.approx(math.exp(-np.sum(p * np.log(p))))
    energy = np.cumsum(np.sort(s)[::-1] ** 2) / np.sum(s**2)
    fewest = int(np.argmax(energy >= 0.9 - 1e-12)) + 1
    assert effective_rank(s, method="energy", fraction=0.9) == fewest


def test_entropy_effective_rank_counts_equal_values():
    # r equal nonzero values: exactly r; a decaying spectrum: fewer.
    assert effective_rank([2.0, 2.0, 2.0, 0.0, 0.0]) == pytest.approx(3.0)
    assert effective_rank([5.0]) == 1.0
    assert 1.0 < effective_rank([8.0, 4.0, 2.0, 1.0]) < 4.0


def test_energy_effective_rank_is_estimate_rank():
    S = np.array([[10.0, 5.0, 1.0, 0.1], [1.0, 1.0, 1.0, 1.0]])
    for fraction in (0.5, 0.9, 0.999, 1.0):
        np.testing.assert_array_equal(
            effective_rank(S, method="energy", fraction=fraction),
            estimate_rank(S, method="energy", threshold=fraction),
        )


def test_relative_and_absolute_tolerances():
    s = [10.0, 1.0, 0.01, 0.0]
    assert numerical_rank(s, rtol=1e-4) == 3
    assert numerical_rank(s, rtol=1e-3) == 2  # strictly above 1e-3 * 10
    assert numerical_rank(s, rtol=0.1) == 1  # strictly above 0.1 * 10
    assert numerical_rank(s, tol=0.001) == 3
    assert numerical_rank(s, tol=0) == 3
    # Relative to sigma_1 as estimate_rank's "relative" method.
    assert (
        numerical_rank(s, rtol=0.05)
        == estimate_rank([s], method="relative", threshold=0.05)[0]
    )


def test_default_rtol_uses_the_larger_dimension():
    eps = np.finfo(np.float64).eps
    s = [1.0, 5 * eps]
    # n_values = 2: 5 eps > 2 eps counts; for a 2 x 10 matrix, 5 eps < 10 eps.
    assert numerical_rank(s) == 2
    assert numerical_rank(s, matrix_shape=(2, 10)) == 1


def test_stacks_give_one_value_per_row_and_one_spectrum_a_number():
    S = np.array([[4.0, 2.0, 0.0], [3.0, 3.0, 1.0]])
    np.testing.assert_array_equal(spectral_norm(S), [4.0, 3.0])
    np.testing.assert_array_equal(nuclear_norm(S), [6.0, 7.0])
    np.testing.assert_array_equal(condition_number(S), [np.inf, 3.0])
    np.testing.assert_array_equal(numerical_rank(S), [2, 3])
    np.testing.assert_allclose(schatten_norm(S, 2), [math.sqrt(20), math.sqrt(19)])
    np.testing.assert_allclose(log_abs_det(S), [-np.inf, math.log(9)])
    assert isinstance(spectral_norm(S[0]), float)
    assert isinstance(numerical_rank(S[0]), int)
    assert isinstance(effective_rank(S[0], method="energy"), int)
    # The order of the values does not matter.
    assert effective_rank([1.0, 4.0, 2.0], method="energy", fraction=0.75) == 1
    assert condition_number([1.0, 4.0, 2.0]) == 4.0


def test_schatten_norm_does_not_overflow():
    assert schatten_norm([1e200, 1e200], 4) == pytest.approx(1e200 * 2**0.25)
    assert schatten_norm([1e-200, 1e-200], 50) == pytest.approx(1e-200 * 2**0.02)
    assert schatten_norm([0.0, 0.0], 3) == 0.0


FUNCTIONS = [
    spectral_norm,
    condition_number,
    nuclear_norm,
    lambda s: schatten_norm(s, 2),
    numerical_rank,
    effective_rank,
    log_abs_det,
]


@pytest.mark.parametrize("func", FUNCTIONS)
@pytest.mark.parametrize(
    "bad, match",
    [
        ([3.0, -1.0], "must be non-negative; got a minimum of -1"),
        ([3.0, np.nan], "singular_values contains NaN"),
        ([3.0, np.inf], "singular_values contains infinity"),
        (np.ones((2, 2, 2)), r"one spectrum of shape .* got shape \(2, 2, 2\)"),
        (np.ones((2, 0)), "minimum of 1 is required"),
    ],
)
def test_bad_spectra_are_rejected_with_the_reason(func, bad, match):
    with pytest.raises(ValueError, match=match):
        func(bad)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: schatten_norm([1.0], 0.5), "'p' parameter"),
        (lambda: schatten_norm([1.0], True), "'p' parameter"),
        (lambda: numerical_rank([1.0], rtol=-1.0), "'rtol' parameter"),
        (lambda: numerical_rank([1.0], tol=-1.0), "'tol' parameter"),
        (
            lambda: numerical_rank([1.0], rtol=0.1, tol=0.1),
            "at most one of rtol and tol",
        ),
        (
            lambda: numerical_rank([1.0, 1.0], matrix_shape=(1, 5)),
            "min.m, n. >= n_values=2",
        ),
        (lambda: numerical_rank([1.0], matrix_shape=(2, 0)), "positive ints"),
        (
            lambda: effective_rank([1.0], method="energy", fraction=0.0),
            "'fraction' parameter",
        ),
        (
            lambda: effective_rank([1.0], method="energy", fraction=1.5),
            "'fraction' parameter",
        ),
        (
            lambda: effective_rank([1.0], fraction=0.5),
            "fraction must be None for method='entropy'",
        ),
        (lambda: effective_rank([1.0], method="stable"), "'method' parameter"),
    ],
)
def test_bad_parameters_are_rejected_by_name(call, match):
    with pytest.raises((ValueError, InvalidParameterError), match=match):
        call()


# Spectra of 1-8 values, zeros included, magnitudes 1e-6 to 1e6.
SPECTRA = st.integers(1, 8).flatmap(
    lambda k: arrays(
        np.float64,
        k,
        elements=st.one_of(st.just(0.0), st.floats(1e-6, 1e6)),
    )
)
SCALES = st.floats(1e-8, 1e8)
PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(SPECTRA, SCALES)
def test_condition_number_and_ranks_are_scale_invariant(s, c):
    assert condition_number(c * s) == pytest.approx(condition_number(s), rel=1e-9)
    assert effective_rank(c * s) == pytest.approx(effective_rank(s), rel=1e-9)
    # Ranks at a relative tolerance: away from the threshold, scaling keeps them.
    top = s.max()
    ratios = s / top if top > 0 else s
    if not np.any(np.abs(ratios - 1e-3) < 1e-9):
        assert numerical_rank(c * s, rtol=1e-3) == numerical_rank(s, rtol=1e-3)


@PROPERTY
@given(SPECTRA, SCALES)
def test_norms_are_absolutely_homogeneous(s, c):
    assert spectral_norm(c * s) == pytest.approx(c * spectral_norm(s), rel=1e-12)
    assert nuclear_norm(c * s) == pytest.approx(c * nuclear_norm(s), rel=1e-12)
    assert schatten_norm(c * s, 3) == pytest.approx(c * schatten_norm(s, 3), rel=1e-9)
    # log|det(cA)| = n log c + log|det A|.
    if s.min() > 0:
        assert log_abs_det(c * s) == pytest.approx(
            len(s) * math.log(c) + log_abs_det(s), rel=1e-9, abs=1e-9
        )


@PROPERTY
@given(SPECTRA, st.floats(1.0, 20.0))
def test_schatten_norms_are_ordered_between_nuclear_and_spectral(s, p):
    spectral, nuclear = spectral_norm(s), nuclear_norm(s)
    assert nuclear >= spectral
    assert spectral * (1 - 1e-12) <= schatten_norm(s, p) <= nuclear * (1 + 1e-12)
    assert schatten_norm(s, 2) == pytest.approx(math.sqrt(np.sum(s**2)), rel=1e-12)
    assert schatten_norm(s, 1) == pytest.approx(nuclear, rel=1e-12)


@PROPERTY
@given(SPECTRA)
def test_ranks_are_bounded_and_ordered(s):
    k, nonzero = len(s), int(np.count_nonzero(s))
    erank = effective_rank(s)
    assert numerical_rank(s, tol=0) == nonzero
    if nonzero:
        # Roy and Vetterli: 1 <= erank <= rank.
        assert 1 - 1e-12 <= erank <= nonzero + 1e-9
    else:
        assert erank == 0.0
    assert 0 <= numerical_rank(s) <= nonzero <= k
    assert effective_rank(s, method="energy", fraction=1.0) <= nonzero
