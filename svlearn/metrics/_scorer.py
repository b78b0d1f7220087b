# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Scorers for ``scoring=``, able to score self-supervised Pipelines (y=None)."""

from sklearn.pipeline import Pipeline

from .._linalg import singular_values
from ._regression import mae, nmse


class _SpectrumScorer:
    """Negated spectrum loss; with y=None the truth is the exact spectrum.

    When ``y`` is None the matrices that reach the final estimator (after a
    Pipeline's earlier steps, e.g. windowing) are decomposed exactly, so a
    Pipeline fitted with ``y=None`` can be cross-validated and searched.
    """

    def __init__(self, score_func, name):
        self._score_func = score_func
        self._name = name

    def __call__(self, estimator, X, y=None, sample_weight=None):
        if y is None:
            final = estimator
            if isinstance(estimator, Pipeline):
                X = estimator[:-1].transform(X)
                final = estimator[-1]
            y_pred = final.predict(X)
            shape = getattr(final, "matrix_shape_", None)
            y = singular_values(X, matrix_shape=shape)
        else:
            y_pred = estimator.predict(X)
        return -self._score_func(y, y_pred, sample_weight=sample_weight)

    def __repr__(self):
        return f"make_scorer({self._name}, greater_is_better=False)"


nmse_scorer = _SpectrumScorer(nmse, "nmse")
nmse_scorer.__doc__ = """Scorer for the negated NMSE; see :func:`svlearn.metrics.nmse`.

Examples
--------
>>> from svlearn.metrics import nmse_scorer
>>> nmse_scorer
make_scorer(nmse, greater_is_better=False)
"""
mae_scorer = _SpectrumScorer(mae, "mae")
