# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Wall-clock timing shared by ``svlearn reproduce`` and the benchmarks.

Both helpers are thin layers over :mod:`timeit` (its ``perf_counter`` clock, and
garbage collection switched off while timing) and report the *best* time per
call: on a shared machine the minimum is the least noisy estimate of what the
code costs, the rest is load from elsewhere.
"""

import timeit

from sklearn.utils._param_validation import validate_parameter_constraints

from ._validation import POSITIVE_INT

# Checked by a direct call, not the ``validate_params`` decorator: the
# decorator rewrites every parameter error raised inside the function, here by
# the code being timed, to name this helper instead of its real source.
_BEST_TIME_PARAMS = {
    "func": [callable],
    "repeat": [POSITIVE_INT],
    "number": [POSITIVE_INT],
}
_INTERLEAVED_PARAMS = {"funcs": [dict], "repeat": [POSITIVE_INT]}


def best_time(func, *, repeat=5, number=1):
    """Best seconds per call of ``func`` over ``repeat`` rounds of ``number`` calls.

    ``func`` is called once before timing (warm-up: imports, caches, lazy
    allocation), then :meth:`timeit.Timer.repeat` runs ``repeat`` rounds of
    ``number`` calls each.

    Parameters
    ----------
    func : callable
        Zero-argument callable to time; its return value is discarded.
    repeat : int, default=5
        Number of timed rounds; the best round is kept.
    number : int, default=1
        Calls per round; the round's time is divided by it.

    Returns
    -------
    seconds : float
        Minimum over rounds of the round's time divided by ``number``.

    Examples
    --------
    >>> from svlearn._timing import best_time
    >>> best_time(lambda: sum(range(100)), repeat=3, number=10) > 0
    True
    """
    validate_parameter_constraints(
        _BEST_TIME_PARAMS,
        {"func": func, "repeat": repeat, "number": number},
        caller_name="best_time",
    )
    func()
    rounds = timeit.Timer(func).repeat(repeat=repeat, number=number)
    return min(rounds) / number


def interleaved_times(funcs, *, repeat=5):
    """Best seconds per call of several routes, timed in interleaved rounds.

    Each round calls every function once, in the order given, so a drift in
    machine load during the measurement hits all routes alike instead of
    penalising whichever ran last. One untimed warm-up round comes first.

    Parameters
    ----------
    funcs : dict of str to callable
        Route name to zero-argument callable.
    repeat : int, default=5
        Number of timed rounds.

    Returns
    -------
    seconds : dict of str to float
        Route name to its minimum time per call over the rounds, in the order
        of ``funcs``.

    Examples
    --------
    >>> from svlearn._timing import interleaved_times
    >>> times = interleaved_times(
    ...     {"short": lambda: sum(range(10)), "long": lambda: sum(range(10_000))},
    ...     repeat=3,
    ... )
    >>> sorted(times)
    ['long', 'short']
    >>> times["short"] < times["long"]
    True
    """
    validate_parameter_constraints(
        _INTERLEAVED_PARAMS,
        {"funcs": funcs, "repeat": repeat},
        caller_name="interleaved_times",
    )
    if not funcs:
        raise ValueError("funcs must be a non-empty dict of name -> callable, got {}.")
    not_callable = [name for name, func in funcs.items() if not callable(func)]
    if not_callable:
        raise TypeError(f"funcs values must be callable; not callable: {not_callable}.")
    timers = {name: timeit.Timer(func) for name, func in funcs.items()}
    for func in funcs.values():
        func()
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number=1))
    return best
