# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The trust layer of a fitted SingularValueRegressor.

What ``calibrate``, ``predict(return_error=True)``, ``max_error`` and
``predict_interval`` compute on a fitted model: the calibration of its error
estimates, intervals and refinement tier (:func:`calibration`), the certified
bounds of a prediction (:func:`certified`), and the guarded predict that sends
rows estimated above ``max_error`` through the tiers of :mod:`svlearn._tiers`
(:func:`guarded`, :func:`refine`, :func:`exact`). The numbers come from
:mod:`svlearn._calibration` (numpy only), the model's spectra from its
``_predict_all`` (:mod:`svlearn._route`).
"""

from typing import NamedTuple

import numpy as np

from . import _calibration, _tiers
from ._linalg import frobenius_norms, singular_values
from ._mlp import tail_template
from ._numerics import safe_divisor
from .metrics import nmse_per_matrix

# What calibrate fits; partial_fit forgets it.
CALIBRATED = (
    "error_coef_",
    "error_offset_",
    "n_calibration_",
    "error_feature_range_",
    "interval_multipliers_",
    "refine_template_",
    "refine_error_coef_",
    "refine_error_offset_",
    "refine_feature_range_",
    "refine_route_",
    "log_det_range_",
)


class Guarded(NamedTuple):
    """What the guarded predict returns for validated matrices."""

    pred: np.ndarray  # (n, n_values) float64
    error: np.ndarray  # (n,) estimated NMSE, 0 for exact rows
    tier: np.ndarray  # (n,) tier numbers of svlearn._tiers


def calibration(model, X, y):
    """The fitted state that ``calibrate`` sets, from held-out ``X`` and ``y``.

    Returns a dict of the attributes named in :data:`CALIBRATED`.
    """
    needed = _calibration.min_calibration(model.coverage)
    if len(X) < needed:
        raise ValueError(
            f"Calibrating error estimates at coverage={model.coverage} needs "
            f"at least {needed} held-out matrices, got {len(X)}; pass more "
            "matrices or lower coverage."
        )
    out = model._predict_all(X, with_features=True)
    lower, upper, _ = certified(X, out, model.n_outputs_)
    coef, offset = _calibration.fit_error_model(
        out.features, nmse_per_matrix(y, out.pred), model.coverage
    )
    multipliers = _calibration.fit_interval_model(
        out.pred, y, lower, upper, model.coverage
    )
    # The refinement tier of max_error: its tail is the mean tail of these
    # exact spectra, its estimate calibrated like the first one.
    route = _tiers.REFINE
    template = tail_template(y, _tiers.refine_components(model.n_outputs_, route))
    refined = _tiers.refined_spectra(X, model.matrix_shape_, template, route)
    refine_coef, refine_offset = _calibration.fit_error_model(
        refined.features, nmse_per_matrix(y, refined.pred), model.coverage
    )
    return {
        "error_coef_": coef,
        "error_offset_": offset,
        "n_calibration_": len(X),
        "error_feature_range_": _calibration.feature_range(out.features),
        "refine_feature_range_": _calibration.feature_range(refined.features),
        "interval_multipliers_": multipliers,
        "refine_template_": template,
        "refine_error_coef_": refine_coef,
        "refine_error_offset_": refine_offset,
        "refine_route_": route,
        "log_det_range_": _calibration.log_det_range(
            _calibration.log_det_gap(X, model.matrix_shape_, out.pred),
            model.coverage,
        ),
    }


def certified(X, out, n_values):
    """Certified bounds of a model's ``_predict_all(X)`` output, and the energies.

    The energies are None where the prediction has the matrix's energy.

    The raw head has no iteration: its bounds are the ones every matrix
    obeys, ``0 <= sigma_i <= ||A||_F / sqrt(i)``.
    """
    if out.lower is not None:
        # The prediction has the matrix's energy: certified_nmse takes it.
        return out.lower, out.upper, None
    energy = frobenius_norms(X) ** 2
    index = np.arange(1, n_values + 1)
    upper = np.sqrt(energy)[:, None] / np.sqrt(index)
    return np.zeros_like(upper), upper, energy


def guarded(model, X):
    """Spectra, NMSE estimates and tiers of validated flat ``X``.

    Each row's estimate is kept between what its certified bounds prove
    and allow. With ``max_error`` set, rows estimated above it take the
    refinement tier, and those still above it the exact SVD (tier numbers
    of :mod:`svlearn._tiers`); without it every row is tier 0.
    """
    out = model._predict_all(X, with_features=True)
    lower, upper, energy = certified(X, out, model.n_outputs_)
    least, most = _calibration.certified_nmse(out.pred, lower, upper, energy)
    error = _calibration.estimate_error(
        out.features,
        model.error_coef_,
        model.error_offset_,
        (least, most),
        getattr(model, "error_feature_range_", None),
    )
    _check_log_det(model, X, out.pred, error, most)
    pred = out.pred
    if model.max_error is None:
        return Guarded(pred, error, np.zeros(len(pred), dtype=np.int64))
    first = pred.copy()
    tiers = []
    # A model file saved before the refinement tier existed goes exact.
    if hasattr(model, "refine_error_coef_"):
        tiers.append((_tiers.REFINED, lambda rows: refine(model, X[rows], first[rows])))
    tiers.append((_tiers.EXACT, lambda rows: exact(model, X[rows])))
    return Guarded(*_tiers.tiered(pred, error, model.max_error, tiers))


def _check_log_det(model, X, pred, error, most):
    """Give the most the bounds allow to rows whose log-determinant is atypical.

    Changes ``error`` in place. Only the rows the check can change are
    factorised: those estimated below what their bounds allow and, with
    ``max_error``, accepted by the first tier (the others go on to the next
    tier, whose estimate replaces theirs). A model file saved before the
    check existed has no ``log_det_range_`` and skips it.
    """
    bounds = getattr(model, "log_det_range_", None)
    if bounds is None:
        return
    keep = error < most
    if model.max_error is not None:
        keep &= error <= model.max_error
    rows = np.flatnonzero(keep)
    gap = _calibration.log_det_gap(X[rows], model.matrix_shape_, pred[rows])
    atypical = rows[(gap < bounds[0]) | (gap > bounds[1])]
    error[atypical] = most[atypical]


def refine(model, X, first):
    """The refinement tier's spectra of flat ``X`` and their estimates.

    ``first`` holds the first tier's spectra of the same matrices. Where
    the two disagree by more than the refined estimate, at least one of
    them is wrong and the calibrated estimate, which cannot tell which,
    is not trusted: the estimate is at least their NMSE to each other,
    unless the certified bounds allow less.
    """
    # Models calibrated before the route was stored used the legacy one.
    route = getattr(model, "refine_route_", _tiers.LEGACY_REFINE)
    refined = _tiers.refined_spectra(
        X, model.matrix_shape_, model.refine_template_, route
    )
    certified = _calibration.certified_nmse(refined.pred, refined.lower, refined.upper)
    error = _calibration.estimate_error(
        refined.features,
        model.refine_error_coef_,
        model.refine_error_offset_,
        certified,
        model.refine_feature_range_,
    )
    unit = safe_divisor(refined.pred[:, :1])
    gap = (((refined.pred - first) / unit) ** 2).sum(axis=1)
    gap /= safe_divisor(((refined.pred / unit) ** 2).sum(axis=1))
    # Still never above what the certified bounds allow.
    return refined.pred, np.minimum(np.maximum(error, gap), certified[1])


def exact(model, X):
    """Exact spectra of flat ``X`` (LAPACK), with an estimate of 0."""
    return singular_values(X, matrix_shape=model.matrix_shape_), np.zeros(len(X))
