# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The shared timing helpers: warm-up, best-of-rounds, interleaving."""

import time

import pytest

from svlearn._timing import best_time, interleaved_times


def test_best_time_warms_up_once_then_times_repeat_rounds_of_number_calls():
    calls = []
    best_time(lambda: calls.append(1), repeat=3, number=4)
    assert len(calls) == 1 + 3 * 4


def test_best_time_is_per_call_and_drops_a_slow_first_round():
    # The first timed call sleeps 50 ms, later ones 5 ms: the best round wins.
    delays = iter([0.0, 0.05] + [0.005] * 10)
    seconds = best_time(lambda: time.sleep(next(delays)), repeat=3, number=2)
    assert 0.004 < seconds < 0.03


def test_interleaved_times_calls_each_route_once_per_round_in_turn():
    order = []
    funcs = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    times = interleaved_times(funcs, repeat=2)
    assert order == ["a", "b"] * 3  # warm-up round + 2 timed rounds
    assert list(times) == ["a", "b"]


def test_interleaved_times_orders_routes_by_cost():
    times = interleaved_times(
        {"slow": lambda: time.sleep(0.02), "fast": lambda: None}, repeat=2
    )
    assert times["fast"] < times["slow"]
    assert times["slow"] >= 0.02


@pytest.mark.parametrize("repeat", [0, -1, True, 2.0])
def test_bad_repeat_is_rejected_by_name(repeat):
    with pytest.raises(ValueError, match="'repeat' parameter of best_time must be"):
        best_time(lambda: None, repeat=repeat)
    with pytest.raises(ValueError, match="'number' parameter of best_time must be"):
        best_time(lambda: None, number=repeat)
    with pytest.raises(
        ValueError, match="'repeat' parameter of interleaved_times must be"
    ):
        interleaved_times({"a": lambda: None}, repeat=repeat)


def test_bad_funcs_are_rejected():
    with pytest.raises(ValueError, match="non-empty dict"):
        interleaved_times({})
    with pytest.raises(TypeError, match="'funcs' parameter.*instance of 'dict'"):
        interleaved_times([lambda: None])
    with pytest.raises(TypeError, match="'func' parameter of best_time"):
        best_time(3)
    with pytest.raises(TypeError, match="not callable: \\['b'\\]"):
        interleaved_times({"a": lambda: None, "b": 3})


def test_timed_code_keeps_its_own_parameter_validation():
    # The timed callable's parameter errors are raised, and name their source.
    from sklearn.decomposition import PCA

    def fit_bad_pca():
        PCA(n_components=-1).fit([[0.0, 1.0], [1.0, 0.0]])

    for timer in (
        lambda: best_time(fit_bad_pca, repeat=1),
        lambda: interleaved_times({"pca": fit_bad_pca}, repeat=1),
    ):
        with pytest.raises(ValueError, match="'n_components' parameter of PCA"):
            timer()
