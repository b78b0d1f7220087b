# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Predict's route: a fitted module's spectra of a batch, with certificates.

:func:`predict_spectra` runs a fitted :class:`~svlearn._mlp.SpectrumMLP` on
validated flat matrices in chunks of ``PREDICT_CHUNK`` rows. The route depends
on the device only, never on the batch: on the CPU a module with a numpy form
(the "ritz" and "ends" heads: :func:`svlearn._lean.ritz_plan`) runs it,
everything else the torch module
(:func:`svlearn._mlp.equivariant_spectra`). Each chunk's
:class:`~svlearn._mlp.BlockSpectra` becomes a :class:`Prediction`: the spectra
clamped into their certified intervals (:mod:`svlearn._bounds`), the bounds,
and on request the error features of :mod:`svlearn._calibration`.
"""

from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils import assert_all_finite

from . import _calibration
from ._bounds import certified_bounds, clamp_to_bounds
from ._lean import ritz_plan
from ._linalg import power_of_two_scaled
from ._mlp import equivariant_spectra, padded, to_tensor
from ._numerics import PREDICT_CHUNK, safe_divisor


class Prediction(NamedTuple):
    """Spectra of a batch of matrices, with what the trust layer needs.

    ``lower <= sigma <= upper`` holds for every singular value, up to rounding
    (:func:`svlearn._bounds.certified_bounds`); ``pred`` lies inside.
    """

    pred: np.ndarray  # (n, n_values) float64
    features: np.ndarray | None  # (n, n_error_features) when asked for
    lower: np.ndarray | None  # (n, n_values) float64; None for the "raw" head
    upper: np.ndarray | None


def predict_spectra(module, X, *, matrix_shape, n_values, scale, with_features=False):
    """Spectra of validated flat ``X`` in chunks, with their certificates.

    Parameters
    ----------
    module : SpectrumMLP
        A fitted module.
    X : ndarray of shape (n_samples, m * n)
        Validated flat matrices of shape ``matrix_shape`` (float32 or
        float64; non-finite values raise).
    matrix_shape : tuple of int
        ``(m, n)``.
    n_values : int
        ``min(m, n)``.
    scale : float
        The "raw" head's input scale (the regressor's ``scale_``).
    with_features : bool, default=False
        Also compute the error features of :mod:`svlearn._calibration`.

    Returns
    -------
    Prediction
        ``pred`` (clamped into the certified intervals), the error
        ``features`` if asked (else None), and the certified ``lower`` and
        ``upper`` bounds (None for the "raw" head).
    """
    plan = ritz_plan(module)
    if plan is None:
        if any(layer.training for layer in module.modules()):
            module.train(False)
        # The torch route runs where the module's weights are.
        device = next(module.parameters()).device
    pred = np.empty((X.shape[0], n_values), dtype=np.float64)
    bounded = module.head != "raw"
    lower = np.empty_like(pred) if bounded else None
    upper = np.empty_like(pred) if bounded else None
    features = []
    for start in range(0, X.shape[0], PREDICT_CHUNK):
        rows = slice(start, start + PREDICT_CHUNK)
        if plan is not None:
            out = plan.spectra(X[rows])
            block = _from_block(out, matrix_shape, n_values, with_features)
        else:
            with torch.inference_mode():
                block = _torch_block(
                    module,
                    X[rows],
                    matrix_shape,
                    n_values,
                    scale,
                    device,
                    with_features,
                )
        pred[rows] = block.pred
        if bounded:
            lower[rows], upper[rows] = block.lower, block.upper
        features.append(block.features)
    features = np.vstack(features) if with_features else None
    return Prediction(pred, features, lower, upper)


def _torch_block(module, block, matrix_shape, n_values, scale, device, with_features):
    """One chunk's :class:`Prediction` by the torch module."""
    if module.head != "raw":
        out = equivariant_spectra(module, block, device)
        return _from_block(out, matrix_shape, n_values, with_features)
    x = padded(to_tensor(block / scale, device))
    pred = (module(x)[: len(block)] * scale).double().cpu().numpy()
    if not np.isfinite(pred).all():
        assert_all_finite(block, input_name="X")
        raise ValueError(
            "X holds values too large for the raw head, which computes in "
            "float32 on X / scale_; use a scale-equivariant head."
        )
    if not with_features:
        return Prediction(pred, None, None, None)
    scaled, exponents = power_of_two_scaled(block)
    norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    unit = np.ldexp(pred, -exponents[:, None]) / safe_divisor(norms)[:, None]
    moment4 = _calibration.gram_moment(scaled, matrix_shape, norms)
    features = _calibration.error_features(unit, moment4, None)
    return Prediction(pred, features, None, None)


def _from_block(out, matrix_shape, n_values, with_features):
    """A chunk's :class:`Prediction` from a route's :class:`BlockSpectra`."""
    # Clamped in the units the route computed in (powers of two away from
    # the matrix's), where neither the energy nor the bounds overflow.
    lower, upper = certified_bounds(out.x_ritz, out.x_rest, out.x_energy, n_values)
    x_pred = clamp_to_bounds(out.x_pred, lower, upper, out.x_energy)
    pred, lower, upper = (out.unscaled(a) for a in (x_pred, lower, upper))
    if not with_features:
        return Prediction(pred, None, lower, upper)
    # Features of the rows the route saw: they are scale-free.
    with np.errstate(all="ignore"):
        unit = x_pred / safe_divisor(out.norms)[:, None]
    x = out.x.cpu().numpy() if isinstance(out.x, torch.Tensor) else out.x
    moment4 = _calibration.gram_moment(x, matrix_shape, out.norms)
    features = _calibration.error_features(unit, moment4, out.diagnostics)
    return Prediction(pred, features, lower, upper)
