# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Numeric constants shared by the torch and numpy forms of the heads.

numpy only. :mod:`svlearn._mlp` (torch), :mod:`svlearn._linalg` (torch) and
:mod:`svlearn._lean` (numpy) read their settings from here, so that the two
forms of a head cannot drift apart.
"""

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "CORRECTION_CLAMP",
    "ENDS_FLOOR",
    "ENDS_LOG_SCALE",
    "ENDS_RETRY_SHIFT",
    "ENDS_SHIFT",
    "FLOAT64_MAX_ENTRIES",
    "INVERSE_STEPS",
    "PAD_ROWS",
    "PREDICT_CHUNK",
    "THIN_REST",
    "orthogonality_floor",
    "safe_divisor",
]

# Matrices per forward pass in predict: large enough to amortise per-call
# overhead, small enough that the matrices stay in cache across the
# iteration's passes over them, and to bound the memory that predict adds to
# its input (memmaps stream through it).
PREDICT_CHUNK = 1024

# Rows of a block of the torch route are padded to a multiple of this: matrix
# products of fewer rows take matrix-vector kernels, whose sums round
# differently, while from a few rows on a row of a product rounds the same
# whatever the number of rows.
PAD_ROWS = 16

# Leftover energy fraction below which float32 keeps too few digits of it (its
# absolute error is up to ~4e-7): such matrices are redone in float64.
THIN_REST = 3e-3
# Matrices of at most this many entries iterate in float64 from the start:
# float32 saves little on them, and smooth ones (image windows of 8 x 8 or
# 16 x 16) nearly all fall below THIN_REST and would be computed twice.
FLOAT64_MAX_ENTRIES = 256

# The "ritz" head's log-correction is clamped to +-30 before exp, which keeps
# the corrected spectrum positive and finite in float32.
CORRECTION_CLAMP = 30.0

# The "ends" head (svlearn._ends, and its numpy form svlearn._ends_numpy).
# Shift of the Gram matrix, relative to its trace (``||A||_F**2``): above the
# float64 backward error of its Cholesky factor (about ``n eps``), so that the
# factorisation succeeds on every matrix, rank-deficient ones included. It
# sets the resolution of the small end: singular values below about
# ``sqrt(ENDS_SHIFT) ||A||_F`` come out as zero.
ENDS_SHIFT = 1e-14
# Shift used for the rows whose Cholesky factorisation still fails (rounding
# of nearly singular Gram matrices of larger sizes).
ENDS_RETRY_SHIFT = 1e-10
# Inverse iteration steps: after three, the smallest of four values of a CIFAR
# matrix is within about 1e-7 and the fourth within about 1 %.
INVERSE_STEPS = 3
# Smallest normalised value the network's logarithms see; the resolution of
# the shift.
ENDS_FLOOR = 1e-9
# Logarithms enter the network divided by this, to be of order one.
ENDS_LOG_SCALE = 10.0


def orthogonality_floor(eps):
    """Squared share of its norm below which a Gram-Schmidt vector becomes zero.

    A vector that keeps less than ``8 eps`` of its norm after projection on
    the ones before it is dependent to within rounding; normalising its
    rounding noise would give a spurious direction.

    Parameters
    ----------
    eps : float
        Machine epsilon of the computation's dtype.

    Returns
    -------
    floor : float
        ``(8 * eps) ** 2``.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._numerics import orthogonality_floor
    >>> float(orthogonality_floor(np.finfo(np.float32).eps))
    9.094947017729282e-13
    """
    return (8 * eps) ** 2


def _relu(h):
    return np.maximum(h, 0.0, out=h)


def _tanh(h):
    return np.tanh(h, out=h)


def _logistic(h):
    from scipy.special import expit

    return expit(h, out=h)


def _gelu(h):
    from scipy.special import erf

    return 0.5 * h * (1 + erf(h / np.sqrt(2)))


# The hidden layers' activations: the name a user passes, the torch module
# (an attribute of torch.nn) and the numpy function (in place where it can be).
ACTIVATIONS = {
    "relu": ("ReLU", _relu),
    "tanh": ("Tanh", _tanh),
    "gelu": ("GELU", _gelu),
    "logistic": ("Sigmoid", _logistic),
}


def safe_divisor(values):
    """``values`` with zeros (and negatives) replaced by ones.

    For divisions where ``0 / 0`` should be 0: a zero matrix's normalised
    spectrum, energy fractions of an all-zero row.
    """
    return np.where(values > 0, values, 1.0)
