# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Scorers for ``scoring=``, able to score self-supervised models (y=None).

The scorers are scikit-learn scorers (a subclass of sklearn's ``_BaseScorer``,
like those :func:`sklearn.metrics.make_scorer` returns), so metadata routing
(``set_score_request``), multi-metric caching and every meta-estimator work as
for sklearn's own. The one addition: with ``y=None`` the truth is the exact
singular values of the matrices that reached the final svlearn estimator,
found by recording them during ``predict`` (see :mod:`svlearn._recording`),
so no meta-estimator needs a special case.
"""

import weakref

from sklearn.metrics._scorer import _BaseScorer

from .._linalg import singular_values
from .._recording import recording_prediction_inputs
from ._regression import mae, nmse
from ._spectrum import log_spectral_distance, worst_index_relative_error

# Truth of predictions already scored, keyed by id(y_pred): sklearn's
# multi-metric scoring calls predict once and hands the cached y_pred to each
# scorer, so only the first of them sees the recording. Entries die with
# their y_pred.
_TRUTH_OF_PREDICTION = {}


def _remember_truth(y_pred, y_true):
    key = id(y_pred)
    try:
        ref = weakref.ref(y_pred, lambda _: _TRUTH_OF_PREDICTION.pop(key, None))
    except TypeError:  # not weak-referenceable (e.g. a list): nothing to share
        return
    _TRUTH_OF_PREDICTION[key] = (ref, y_true)


def _recalled_truth(y_pred):
    ref, y_true = _TRUTH_OF_PREDICTION.get(id(y_pred), (None, None))
    return y_true if ref is not None and ref() is y_pred else None


class SpectrumScorer(_BaseScorer):
    """Scorer of predicted spectra; with ``y=None`` the truth is exact.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``, a loss such as
        :func:`~svlearn.metrics.nmse`.
    sign : {1, -1}, default=-1
        Multiplies the loss: -1 makes greater better, as sklearn expects.
    kwargs : dict, default=None
        Fixed keyword arguments of ``score_func``.
    """

    def __init__(self, score_func, sign=-1, kwargs=None):
        super().__init__(score_func, sign, kwargs or {}, response_method="predict")

    def __call__(self, estimator, X, y_true=None, *, sample_weight=None, **kwargs):
        """Score ``estimator`` on ``X``.

        Parameters
        ----------
        estimator : estimator
            Fitted estimator, or meta-estimator, whose final step predicts
            singular values.
        X : array-like
            Input of ``estimator.predict``.
        y_true : array-like of shape (n_samples, n_values) or None, \
                default=None
            True singular values. None means the exact singular values of
            the matrices the final svlearn estimator predicts on.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the matrices.
        **kwargs : dict
            Metadata routed to the score function (see
            ``set_score_request``).

        Returns
        -------
        score : float
            The negated loss.
        """
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().__call__(estimator, X, y_true, **kwargs)

    def _score(self, method_caller, estimator, X, y_true=None, **kwargs):
        # sklearn's multi-metric scorer calls _score(caller, estimator, X) when
        # there is no y.
        self._warn_overlap(
            message=(
                "There is an overlap between the fixed kwargs of this scorer and "
                "the metadata passed."
            ),
            kwargs=kwargs,
        )
        if y_true is None:
            with recording_prediction_inputs() as records:
                y_pred = method_caller(estimator, "predict", X)
            y_true = self._exact_truth(estimator, y_pred, records)
        else:
            y_pred = method_caller(estimator, "predict", X)
        return self._sign * self._score_func(
            y_true, y_pred, **{**self._kwargs, **kwargs}
        )

    @staticmethod
    def _exact_truth(estimator, y_pred, records):
        if not records:
            y_true = _recalled_truth(y_pred)
            if y_true is not None:
                return y_true
            raise ValueError(
                "With y=None, svlearn's scorers compare predictions with the "
                "exact singular values of the matrices that an svlearn "
                "estimator (SingularValueRegressor, MeanSpectrumRegressor) "
                f"predicts on, but {type(estimator).__name__}.predict made no "
                "svlearn estimator predict. Pass the true singular values as y."
            )
        # The last prediction is the final step's: earlier ones come from
        # steps in front of it (e.g. SVDLight's own regressor).
        name, X_final, shape = records[-1]
        if len(X_final) != len(y_pred):
            raise ValueError(
                f"With y=None, the truth comes from the {len(X_final)} matrices "
                f"{name}.predict saw last, but {type(estimator).__name__}.predict "
                f"returned {len(y_pred)} predictions; pass the true singular "
                "values as y."
            )
        y_true = singular_values(X_final, matrix_shape=shape)
        _remember_truth(y_pred, y_true)
        return y_true

    def __repr__(self):
        sign = "" if self._sign > 0 else ", greater_is_better=False"
        kwargs = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return f"SpectrumScorer({self._score_func.__name__}{sign}{kwargs})"


nmse_scorer = SpectrumScorer(nmse)
nmse_scorer.__doc__ = """Scorer for the negated NMSE; see :func:`svlearn.metrics.nmse`.

A scikit-learn scorer: pass it as ``scoring=``. With ``y=None`` the truth is
the exact singular values of the matrices the final svlearn estimator sees.
For metadata routing, configure a copy, e.g.
``copy.deepcopy(nmse_scorer).set_score_request(sample_weight=True)``, so the
module-level scorer stays unchanged.

Examples
--------
>>> from svlearn.metrics import nmse_scorer
>>> nmse_scorer
SpectrumScorer(nmse, greater_is_better=False)
"""
mae_scorer = SpectrumScorer(mae)
mae_scorer.__doc__ = """Scorer for the negated MAE; see :func:`svlearn.metrics.mae`.

Works as :data:`nmse_scorer`.

Examples
--------
>>> from svlearn.metrics import mae_scorer
>>> mae_scorer
SpectrumScorer(mae, greater_is_better=False)
"""
worst_index_relative_error_scorer = SpectrumScorer(worst_index_relative_error)
worst_index_relative_error_scorer.__doc__ = """Scorer for the negated
:func:`svlearn.metrics.worst_index_relative_error`.

Works as :data:`nmse_scorer`, at the default median over matrices, except
that it takes no ``sample_weight``.

Examples
--------
>>> from svlearn.metrics import worst_index_relative_error_scorer
>>> worst_index_relative_error_scorer
SpectrumScorer(worst_index_relative_error, greater_is_better=False)
"""
log_spectral_distance_scorer = SpectrumScorer(log_spectral_distance)
log_spectral_distance_scorer.__doc__ = """Scorer for the negated log-spectral distance.

See :func:`svlearn.metrics.log_spectral_distance`; works as :data:`nmse_scorer`.

Examples
--------
>>> from svlearn.metrics import log_spectral_distance_scorer
>>> log_spectral_distance_scorer
SpectrumScorer(log_spectral_distance, greater_is_better=False)
"""
