# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Which matrices svlearn's estimators predicted on, while a scorer listens.

svlearn's scorers with ``y=None`` score a prediction against the exact
singular values of the matrices the final svlearn estimator saw, after any
windowing or other transform in front of it, whatever meta-estimators
(Pipeline, GridSearchCV, FrozenEstimator, ...) wrap it. Rather than unwrap
each kind of meta-estimator, the scorer opens a recording context and calls
``predict`` on the outermost object; every svlearn ``predict`` reports its
validated input through :func:`record_prediction_input`, which is a no-op
when nothing records. A ``contextvars.ContextVar`` keeps recordings of
concurrent threads and async tasks apart.
"""

import contextlib
import contextvars

_RECORDS = contextvars.ContextVar("svlearn_prediction_inputs", default=None)


def record_prediction_input(estimator, X, matrix_shape):
    """Report that ``estimator`` predicts on the flat matrices ``X``.

    Call it once per ``predict``, on the validated input. No-op unless a
    :func:`recording_prediction_inputs` context is open.

    Parameters
    ----------
    estimator : estimator
        The svlearn estimator predicting.
    X : ndarray of shape (n_samples, m * n)
        The matrices, validated and flattened in row-major order.
    matrix_shape : tuple of two ints
        ``(m, n)``.
    """
    records = _RECORDS.get()
    if records is not None:
        records.append((type(estimator).__name__, X, tuple(matrix_shape)))


@contextlib.contextmanager
def recording_prediction_inputs():
    """Context in which svlearn predictions report their input.

    Yields the list that receives ``(estimator name, X, matrix_shape)`` for
    each ``predict`` call, in call order; nested contexts record apart.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._recording import (
    ...     record_prediction_input, recording_prediction_inputs)
    >>> record_prediction_input(None, np.zeros((2, 4)), (2, 2))  # not recording
    >>> with recording_prediction_inputs() as records:
    ...     record_prediction_input(None, np.zeros((3, 4)), (2, 2))
    >>> [(name, X.shape, shape) for name, X, shape in records]
    [('NoneType', (3, 4), (2, 2))]
    """
    records = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)
