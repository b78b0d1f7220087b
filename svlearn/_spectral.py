# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Quantities of a matrix that its singular values determine: norms, condition
number, ranks and log-determinant.

Every function takes spectra, exact (:func:`svlearn.singular_values`) or
predicted (:meth:`svlearn.SingularValueRegressor.predict`): one spectrum of
shape ``(n_values,)`` gives a Python number, a stack of shape
``(n_samples, n_values)`` one number per row. Each quantity is a symmetric
function of the values, so their order does not matter.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Options, StrOptions, validate_params

from ._rank import estimate_rank
from ._validation import NonBoolInterval

_SPECTRA = {"singular_values": ["array-like"]}


def _check_spectra(singular_values):
    """Validated float64 spectra as 2-D, and whether the input was 1-D."""
    S = check_array(
        singular_values,
        ensure_2d=False,
        allow_nd=True,
        dtype=np.float64,
        input_name="singular_values",
    )
    if S.ndim not in (1, 2):
        raise ValueError(
            "singular_values must be one spectrum of shape (n_values,) or one "
            f"spectrum per row, of shape (n_samples, n_values); got shape {S.shape}."
        )
    if S.shape[-1] == 0:
        raise ValueError("singular_values must hold at least one value per spectrum.")
    if (S < 0).any():
        raise ValueError(
            f"singular_values must be non-negative; got a minimum of {S.min():.6g}."
        )
    return np.atleast_2d(S), S.ndim == 1


def _result(values, one, kind=float):
    """A Python number for one spectrum, else the array."""
    return kind(values[0]) if one else values


@validate_params(_SPECTRA, prefer_skip_nested_validation=True)
def spectral_norm(singular_values):
    """Spectral norm ``||A||_2``: the largest singular value.

    The largest factor by which ``A`` stretches a vector. It comes from the
    top of the spectrum, where a predicted spectrum is most accurate.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one matrix, or one matrix per row.

    Returns
    -------
    norm : float or ndarray of shape (n_samples,)
        ``sigma_1``, as ``numpy.linalg.norm(A, ord=2)``.

    See Also
    --------
    schatten_norm : The family it is the ``p = inf`` end of.

    Examples
    --------
    >>> from svlearn import spectral_norm
    >>> spectral_norm([3.0, 1.0, 0.0])
    3.0
    >>> spectral_norm([[3.0, 1.0], [2.0, 2.0]])
    array([3., 2.])
    """
    S, one = _check_spectra(singular_values)
    return _result(S.max(axis=1), one)


@validate_params(_SPECTRA, prefer_skip_nested_validation=True)
def condition_number(singular_values):
    """Condition number ``sigma_max / sigma_min`` in the 2-norm.

    How much solving ``A x = b`` can amplify relative errors in ``b``. It
    rests on the smallest singular value, so a predicted spectrum gives it
    only as well as it predicts the bottom end.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one matrix, or one matrix per row;
        all ``min(m, n)`` of them, as the smallest one matters.

    Returns
    -------
    cond : float or ndarray of shape (n_samples,)
        ``sigma_1 / sigma_min``, ``inf`` where ``sigma_min`` is 0 (a
        rank-deficient matrix, the zero matrix included), as
        :func:`numpy.linalg.cond`.

    See Also
    --------
    numerical_rank : How many values exceed a tolerance.
    log_abs_det : The sum of the logs of all values.

    Examples
    --------
    >>> from svlearn import condition_number
    >>> condition_number([4.0, 2.0, 0.5])
    8.0
    >>> condition_number([[1.0, 0.0], [2.0, 2.0]])
    array([inf,  1.])
    """
    S, one = _check_spectra(singular_values)
    low = S.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(low == 0, np.inf, S.max(axis=1) / low)
    return _result(cond, one)


@validate_params(_SPECTRA, prefer_skip_nested_validation=True)
def nuclear_norm(singular_values):
    """Nuclear (trace) norm ``||A||_*``: the sum of the singular values.

    The convex envelope of the rank, used in low-rank recovery. Every value
    counts with its size, so the tail weighs more than in the Frobenius
    norm.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one matrix, or one matrix per row.

    Returns
    -------
    norm : float or ndarray of shape (n_samples,)
        ``sum_i sigma_i``, as ``numpy.linalg.norm(A, ord="nuc")``.

    See Also
    --------
    schatten_norm : The family it is the ``p = 1`` member of.

    Examples
    --------
    >>> from svlearn import nuclear_norm
    >>> nuclear_norm([3.0, 1.0, 0.5])
    4.5
    """
    S, one = _check_spectra(singular_values)
    return _result(S.sum(axis=1), one)


@validate_params(
    {
        **_SPECTRA,
        "p": [NonBoolInterval(Real, 1, None, closed="left"), Options(Real, {np.inf})],
    },
    prefer_skip_nested_validation=True,
)
def schatten_norm(singular_values, p):
    """Schatten ``p``-norm: the ``p``-norm of the vector of singular values.

    It runs from the nuclear norm (``p = 1``) through the Frobenius norm
    (``p = 2``) to the spectral norm (``p = inf``); the smaller ``p``, the
    more the small singular values weigh.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one matrix, or one matrix per row.
    p : float
        Order, at least 1 (below 1 it is not a norm), or ``numpy.inf``.
        ``p = 1`` is the nuclear norm, ``p = 2`` the Frobenius norm,
        ``p = inf`` the spectral norm.

    Returns
    -------
    norm : float or ndarray of shape (n_samples,)
        ``(sum_i sigma_i**p)**(1/p)``.

    See Also
    --------
    nuclear_norm, spectral_norm : Its ``p = 1`` and ``p = inf`` members.

    Examples
    --------
    >>> from svlearn import schatten_norm
    >>> schatten_norm([3.0, 4.0], p=2)
    5.0
    >>> schatten_norm([3.0, 4.0], p=float("inf"))
    4.0
    """
    S, one = _check_spectra(singular_values)
    top = S.max(axis=1)
    if p == np.inf:
        return _result(top, one)
    # Scaled by sigma_1 so that sigma**p neither overflows nor underflows.
    scale = np.where(top > 0, top, 1.0)[:, None]
    norm = top * ((S / scale) ** p).sum(axis=1) ** (1.0 / p)
    return _result(norm, one)


@validate_params(
    {
        **_SPECTRA,
        "rtol": [NonBoolInterval(Real, 0, None, closed="left"), None],
        "tol": [NonBoolInterval(Real, 0, None, closed="left"), None],
        "matrix_shape": [tuple, list, None],
    },
    prefer_skip_nested_validation=True,
)
def numerical_rank(singular_values, *, rtol=None, tol=None, matrix_shape=None):
    """Numerical rank: how many singular values exceed a tolerance.

    The semantics of :func:`numpy.linalg.matrix_rank`, from the spectrum.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one matrix, or one matrix per row.
    rtol : float, default=None
        Tolerance relative to the largest value: values ``> rtol * sigma_1``
        count. ``None`` (with ``tol=None``) means numpy's default,
        ``max(m, n) * eps`` with ``eps`` the float64 machine epsilon; pass
        ``rtol`` yourself for float32 matrices or for predicted spectra,
        whose small values are never that precise.
    tol : float, default=None
        Absolute tolerance instead: values ``> tol`` count. At most one of
        ``rtol`` and ``tol`` may be given.
    matrix_shape : tuple of two ints, default=None
        ``(m, n)``, for the default ``rtol`` only; ``None`` takes
        ``max(m, n)`` to be ``n_values`` (exact for square matrices).

    Returns
    -------
    rank : int or ndarray of shape (n_samples,)
        The number of values above the tolerance, in ``0..n_values``.

    See Also
    --------
    estimate_rank : Rank by retained energy or by the elbow of the
        reconstruction error; its ``method="relative"`` is this function with
        an ``rtol`` (called ``threshold`` there) below 1.
    effective_rank : Continuous and energy-based measures of rank.

    Examples
    --------
    >>> from svlearn import numerical_rank
    >>> numerical_rank([10.0, 1.0, 1e-20])
    2
    >>> numerical_rank([10.0, 1.0, 1e-3], rtol=1e-3)
    2
    >>> numerical_rank([[10.0, 1.0, 1e-3], [1.0, 0.5, 0.5]], tol=0.6)
    array([2, 1])
    """
    if rtol is not None and tol is not None:
        raise ValueError(
            f"Give at most one of rtol and tol; got rtol={rtol!r} and tol={tol!r}."
        )
    S, one = _check_spectra(singular_values)
    n_values = S.shape[1]
    if matrix_shape is not None:
        if (
            len(matrix_shape) != 2
            or not all(
                isinstance(d, Integral) and not isinstance(d, bool) and d > 0
                for d in matrix_shape
            )
            or min(matrix_shape) < n_values
        ):
            raise ValueError(
                "matrix_shape must be a tuple (m, n) of positive ints with "
                f"min(m, n) >= n_values={n_values}; got matrix_shape="
                f"{matrix_shape!r}."
            )
    if tol is not None:
        rank = (S > tol).sum(axis=1)
    else:
        if rtol is None:
            size = max(matrix_shape) if matrix_shape is not None else n_values
            rtol = size * np.finfo(np.float64).eps
        rank = (S > rtol * S.max(axis=1, keepdims=True)).sum(axis=1)
    return _result(rank.astype(np.intp), one, int)


@validate_params(
    {
        **_SPECTRA,
        "method": [StrOptions({"entropy", "energy"})],
        "fraction": [NonBoolInterval(Real, 0, 1, closed="right"), None],
    },
    prefer_skip_nested_validation=True,
)
def effective_rank(singular_values, *, method="entropy", fraction=None):
    """Effective rank: how many singular values matter.

    Two continuous stand-ins for the rank of a matrix whose small singular
    values are noise: one from the entropy of the normalised spectrum, one
    from the share of energy held by the leading values.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one matrix, or one matrix per row.
    method : {"entropy", "energy"}, default="entropy"
        - ``"entropy"``: Roy and Vetterli's effective rank,
          ``exp(-sum_i p_i log p_i)`` with ``p_i = sigma_i / sum_j sigma_j``
          (and ``0 log 0 = 0``): a real number in ``[1, n_values]``, ``r`` for
          ``r`` equal nonzero values, lower the faster the spectrum decays.
        - ``"energy"``: the fewest values holding ``fraction`` of
          ``||A||_F**2 = sum_i sigma_i**2``, an integer; the rank of the
          smallest truncated SVD with relative Frobenius error at most
          ``sqrt(1 - fraction)``. This is
          ``estimate_rank(method="energy")``.
    fraction : float, default=None
        For ``"energy"``, the fraction of energy to hold, in ``(0, 1]``;
        ``None`` means 0.99. Must be ``None`` for ``"entropy"``.

    Returns
    -------
    rank : float, int or ndarray of shape (n_samples,)
        The effective rank of each matrix (floats for ``"entropy"``,
        ints for ``"energy"``); 0 for an all-zero spectrum.

    See Also
    --------
    estimate_rank : Also the elbow of the reconstruction error.
    numerical_rank : Values above a tolerance.

    References
    ----------
    O. Roy and M. Vetterli, "The effective rank: A measure of effective
    dimensionality", 15th European Signal Processing Conference, 2007.

    Examples
    --------
    >>> from svlearn import effective_rank
    >>> effective_rank([2.0, 2.0, 0.0])
    2.0
    >>> round(effective_rank([10.0, 1.0, 0.1]), 4)
    1.4237
    >>> effective_rank([10.0, 1.0, 0.1], method="energy", fraction=0.999)
    2
    """
    if method == "entropy" and fraction is not None:
        raise ValueError(
            f"fraction must be None for method='entropy'; got fraction={fraction!r}."
        )
    S, one = _check_spectra(singular_values)
    if method == "energy":
        rank = estimate_rank(S, method="energy", threshold=fraction)
        return _result(rank, one, int)
    total = S.sum(axis=1, keepdims=True)
    nonzero = total[:, 0] > 0
    P = S[nonzero] / total[nonzero]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * np.log(P), 0.0)
    rank = np.zeros(len(S))
    rank[nonzero] = np.exp(-terms.sum(axis=1))
    return _result(rank, one)


@validate_params(_SPECTRA, prefer_skip_nested_validation=True)
def log_abs_det(singular_values):
    """Natural log of ``|det A|``: the sum of the logs of the singular values.

    Computed from the spectrum, it stays finite where ``det A`` itself
    would overflow or underflow, as :func:`numpy.linalg.slogdet`'s second
    output does; every singular value enters, the smallest ones most.

    Parameters
    ----------
    singular_values : array-like of shape (n_values,) or (n_samples, n_values)
        Non-negative singular values of one square matrix, or one per row.
        For a rectangular ``A`` the result is ``log`` of the product of its
        singular values, ``0.5 * log det(A^T A)`` for a tall ``A``.

    Returns
    -------
    logdet : float or ndarray of shape (n_samples,)
        ``sum_i log sigma_i``: the second output of
        :func:`numpy.linalg.slogdet`, without overflow for large matrices;
        ``-inf`` where a value is 0.

    See Also
    --------
    condition_number : The ratio of the largest value to the smallest.
    numpy.linalg.slogdet : The same from an LU factorisation.

    Examples
    --------
    >>> from svlearn import log_abs_det
    >>> round(log_abs_det([4.0, 0.5]), 6)
    0.693147
    >>> log_abs_det([1.0, 0.0])
    -inf
    """
    S, one = _check_spectra(singular_values)
    with np.errstate(divide="ignore"):
        return _result(np.log(S).sum(axis=1), one)
