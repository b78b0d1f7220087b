# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Rank estimation from a (predicted or exact) singular value spectrum."""

from numbers import Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

_DEFAULT_THRESHOLDS = {"energy": 0.99, "relative": 0.01, "elbow": None}


@validate_params(
    {
        "singular_values": ["array-like"],
        "method": [StrOptions(set(_DEFAULT_THRESHOLDS))],
        "threshold": [Interval(Real, 0, 1, closed="both"), None],
    },
    prefer_skip_nested_validation=True,
)
def estimate_rank(singular_values, *, method="energy", threshold=None):
    """Estimate the rank of matrices from their singular values.

    The values may be exact or predicted: with a
    :class:`~svlearn.SingularValueRegressor`, the rank of many matrices is
    estimated without decomposing any of them. Three criteria are offered,
    from the energy kept by a truncated SVD to the paper's elbow.

    Parameters
    ----------
    singular_values : array-like of shape (n_samples, n_values)
        Non-negative singular values, one row per matrix, for example from
        :func:`svlearn.singular_values` or
        :meth:`svlearn.SingularValueRegressor.predict`. Each row is sorted in
        descending order before use. 1-D input is rejected: as in
        :mod:`svlearn.metrics` and scikit-learn, a 1-D array would mean
        ``n_samples`` one-value spectra, whose rank is trivially 0 or 1; pass
        one matrix's spectrum ``s`` as ``np.reshape(s, (1, -1))``.
    method : {"energy", "relative", "elbow"}, default="energy"
        Criterion, with ``s_1 >= s_2 >= ... >= s_p`` and
        ``E(r) = (s_1**2 + ... + s_r**2) / (s_1**2 + ... + s_p**2)``, the
        fraction of ``||M||_F**2`` kept by the best rank-``r`` approximation:

        - ``"energy"``: the smallest ``r`` with ``E(r) >= threshold``. The
          rank-``r`` truncated SVD then has relative Frobenius error
          ``sqrt(1 - E(r)) <= sqrt(1 - threshold)``.
        - ``"relative"``: the number of values ``s_i > threshold * s_1``
          (numerical rank, as :func:`numpy.linalg.matrix_rank` with a
          relative tolerance).
        - ``"elbow"``: where the reconstruction error levels off, the paper's
          criterion: the ``r`` that maximises the gap between the straight
          line from ``(0, 1)`` to ``(p, 0)`` and the relative error curve
          ``sqrt(1 - E(r))`` over ``r >= 1`` (the "Kneedle" knee point).
          Parameter-free; a flat spectrum gets full rank.
    threshold : float or None, default=None
        For ``"energy"``, the fraction of energy to keep, in ``(0, 1]``
        (``None`` means 0.99). For ``"relative"``, the tolerance relative to
        the largest value, in ``[0, 1)`` (``None`` means 0.01). Must be
        ``None`` for ``"elbow"``.

    Returns
    -------
    rank : ndarray of shape (n_samples,)
        Estimated rank of each matrix, in ``0..n_values`` (``0`` only for an
        all-zero spectrum).

    See Also
    --------
    svlearn.reconstruct : Rank-``k`` reconstruction from given singular values.

    Examples
    --------
    >>> from svlearn import estimate_rank
    >>> s = [10.0, 5.0, 1.0, 0.1, 0.0]
    >>> estimate_rank([s])
    array([2])
    >>> estimate_rank([s], method="energy", threshold=0.999)
    array([3])
    >>> estimate_rank([s], method="relative", threshold=0.05)
    array([3])
    >>> estimate_rank([s, [1.0, 1.0, 1.0, 1.0, 1.0]], method="elbow")
    array([2, 5])
    """
    # The allowed range of threshold depends on the method, which sklearn's
    # per-parameter constraints cannot express: checked here.
    if threshold is None:
        threshold = _DEFAULT_THRESHOLDS[method]
    elif method == "elbow":
        raise ValueError(
            f"threshold must be None for method='elbow'; got threshold={threshold!r}."
        )
    elif method == "energy" and not 0 < threshold <= 1:
        raise ValueError(
            "threshold must be in (0, 1] for method='energy'; "
            f"got threshold={threshold!r}."
        )
    elif method == "relative" and not 0 <= threshold < 1:
        raise ValueError(
            "threshold must be in [0, 1) for method='relative'; "
            f"got threshold={threshold!r}."
        )

    S = check_array(
        singular_values,
        ensure_2d=False,
        allow_nd=True,
        dtype=np.float64,
        input_name="singular_values",
    )
    if S.ndim != 2:
        hint = " For one spectrum s, pass np.reshape(s, (1, -1))." * (S.ndim == 1)
        raise ValueError(
            "singular_values must be 2-D, of shape (n_samples, n_values), one "
            f"spectrum per row; got shape {S.shape}.{hint}"
        )
    if (S < 0).any():
        raise ValueError("singular_values must be non-negative; got negative values.")
    S = -np.sort(-S, axis=1)
    p = S.shape[1]

    energy = S**2
    total = energy.sum(axis=1, keepdims=True)
    nonzero = total[:, 0] > 0
    # kept[:, r] = E(r) for r = 0..p; an all-zero spectrum keeps everything.
    kept = np.ones((S.shape[0], p + 1))
    kept[:, 0] = 0.0
    kept[nonzero, 1:] = np.cumsum(energy[nonzero], axis=1) / total[nonzero]

    if method == "energy":
        # Tolerate rounding in the cumulative sum when threshold == 1.
        rank = np.argmax(kept >= threshold - 1e-12, axis=1)
    elif method == "relative":
        rank = (S > threshold * S[:, :1]).sum(axis=1)
    else:
        error = np.sqrt(np.clip(1.0 - kept, 0.0, None))
        chord = 1.0 - np.arange(p + 1) / p
        # Search r >= 1 only: a flat spectrum (concave error curve, no knee)
        # then gets full rank rather than 0.
        rank = 1 + np.argmax((chord - error)[:, 1:], axis=1)
    return np.where(nonzero, rank, 0).astype(np.intp)
