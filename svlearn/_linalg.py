# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Batched linear algebra: exact singular values and cheap iterative estimates.

The exact route (:func:`singular_values`) is numpy's LAPACK SVD. The iterative
estimates (subspace iteration with closed-form small Ritz problems) are written
once in torch and serve both the network's front end and the zero-learning
baselines; torch is imported on first use so that metrics and windowing load
without it.
"""

import functools
import math

import numpy as np

from ._numerics import FLOAT64_MAX_ENTRIES, THIN_REST, orthogonality_floor
from ._validation import check_matrices


def singular_values(X, *, matrix_shape=None, batch_size=4096):
    """Exact singular values of every matrix in ``X``, in descending order.

    The ground truth of svlearn's metrics and the targets of its regressors:
    LAPACK's SVD (``numpy.linalg.svd(..., compute_uv=False)``) in float64,
    ``batch_size`` matrices at a time.

    Parameters
    ----------
    X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
        Matrices, flattened in row-major order, or stacked.
    matrix_shape : tuple of two ints or None, default=None
        Shape ``(m, n)`` of each matrix for flattened ``X``; ``None`` means
        square. Ignored for a 3-D ``X``, except that it must agree.
    batch_size : int, default=4096
        Matrices decomposed per LAPACK call, to bound the float64 copy.

    Returns
    -------
    S : ndarray of shape (n_samples, min(m, n)), dtype float64
        The singular values of each matrix, largest first.

    See Also
    --------
    SingularValueRegressor : Predicts them, without a decomposition.
    estimate_rank : The rank of matrices from their singular values.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import singular_values
    >>> singular_values(np.diag([3.0, 1.0, 2.0]).reshape(1, -1))
    array([[3., 2., 1.]])
    """
    X, shape = check_matrices(X, matrix_shape)
    out = np.empty((X.shape[0], min(shape)), dtype=np.float64)
    for start in range(0, X.shape[0], batch_size):
        block = X[start : start + batch_size].astype(np.float64, copy=False)
        out[start : start + batch_size] = np.linalg.svd(
            block.reshape(-1, *shape), compute_uv=False
        )
    return out


@functools.lru_cache(maxsize=32)
def start_vectors(n, k, dtype, device):
    """A deterministic, smooth starting subspace: perturbed DCT-II vectors.

    Returned as rows, shape ``(k, n)``. The first DCT vector is the constant
    one, which is close to the top right singular vector of any matrix with
    non-negative entries (Perron-Frobenius). A small fixed pseudo-random
    perturbation keeps the subspace from being exactly orthogonal to a
    singular vector of a structured matrix (a constant block, a symmetric
    pattern), which iteration could then never find. The first row stays the
    constant vector: its product with a matrix holds the row sums. Cached, as
    building the vectors costs more than using them on a small batch; made
    outside inference mode so that training may use them too. Never modified
    in place.
    """
    import torch

    i = np.arange(n)
    V = np.stack([np.cos(np.pi * j * (i + 0.5) / n) for j in range(k)], axis=-1)
    V[:, 1:] += 0.05 * np.random.default_rng(n).standard_normal((n, k - 1))
    V = np.linalg.qr(V)[0]
    V *= np.sign(V[0])  # QR's signs: the constant column stays positive
    with torch.inference_mode(False):
        return torch.from_numpy(np.ascontiguousarray(V.T)).to(
            dtype=dtype, device=device
        )


def orthonormalize_rows(M):
    """Gram-Schmidt on the few rows of a batch of bases; cheaper than QR.

    ``M`` has shape (batch, k, n): each basis vector is a contiguous row,
    which keeps the vector operations fast. Each row is projected out twice
    ("twice is enough"), so the basis is orthonormal to float precision even
    for nearly dependent vectors. A vector that keeps less than ``8 eps`` of
    its norm (float32: 1e-6) is dependent to within rounding (a rank-deficient
    matrix, or in float32 a direction with singular value below 1e-3 of the
    largest) and becomes zero: normalising its rounding noise would give a
    spurious direction and Ritz values above the true ones.
    """
    import torch

    floor = orthogonality_floor(torch.finfo(M.dtype).eps)  # 1e-12 in float32
    tiny = torch.finfo(M.dtype).tiny
    rows = []
    for j in range(M.shape[1]):
        v = M[:, j]
        # rsqrt of a sum: torch's vector_norm is slower on these short rows.
        sq_before = (v * v).sum(-1, keepdim=True)
        for _ in range(2 if rows else 0):
            for u in rows:
                v = torch.addcmul(v, (u * v).sum(-1, keepdim=True), u, value=-1)
        sq = (v * v).sum(-1, keepdim=True) if rows else sq_before
        inv = torch.where(sq > floor * sq_before, sq.clamp_min(tiny).rsqrt(), 0.0)
        rows.append(v * inv)
    return torch.stack(rows, dim=1)


def top_singular_values(A, k, n_iter, *, inv_scale=None, details=False, fast=True):
    """Estimate the top ``k`` singular values of a batch by subspace iteration.

    ``n_iter`` steps of ``V <- orth(A^T A V)`` from a fixed DCT subspace, then
    Rayleigh-Ritz on the ``k``-dimensional subspace. Each step costs ``2 k``
    matrix-vector products per matrix; the only decomposition is of a ``k x k``
    Gram matrix (in closed form for ``k <= 3``). The estimates are lower bounds
    that converge to the exact values.

    The blocks are kept as rows, ``(batch, k, n)`` and ``(batch, k, m)``, so
    that every product is a batch of row blocks times a matrix (``W A`` and
    ``V A^T``), the form that batched GEMM runs fastest on small matrices.

    Parameters
    ----------
    A : Tensor of shape (batch, m, n)
        The matrices; iterating is cheapest with ``m >= n``.
    k : int
        Number of leading values, ``0 <= k <= n``.
    n_iter : int
        Subspace iteration steps; 0 gives the Ritz values of the start
        subspace.
    inv_scale : Tensor of shape (batch,) or None, default=None
        Reciprocal per-matrix scales, typically ``1 / ||A||_F`` (0 for a zero
        matrix). The iteration then runs on ``A * inv_scale`` without forming
        it: every intermediate is of order one whatever the scale of ``A``, so
        float32 neither overflows nor underflows, and the returned values are
        those of the scaled matrices.
    details : bool, default=False
        Also return the first product ``V0 A^T`` (scaled), whose first row
        holds the row sums of each matrix divided by ``sqrt(n)``, and the
        energy that the last step added to the subspace (how far from
        converged the iteration still is; 0 for ``n_iter=0``).
    fast : bool, default=True
        Solve the ``k x k`` Ritz problem in closed form for ``k <= 3`` (for
        ``k = 3`` the eigenvalues of a nearly repeated pair lose half their
        digits, up to ``sqrt(eps)`` of the largest) rather than by LAPACK
        (float64, as for ``k > 3``). The leftover energy
        ``1 - sum(values**2)`` does not depend on it: it is the trace of the
        Gram matrix, summed in float64.

    Returns
    -------
    values : Tensor of shape (batch, k)
        Descending estimates, float64.
    start : Tensor of shape (batch, max(k, 1), m)
        Only with ``details=True``.
    gain : Tensor of shape (batch, 1), float64
        Only with ``details=True``: ``||W||_F^2`` after the last step minus
        before it, for the scaled matrices.
    captured : Tensor of shape (batch, 1), float64
        Only with ``details=True``: ``||W||_F^2 = sum(values**2)``, exactly
        (the trace of the Gram matrix, whatever the eigensolver).
    """

    import torch

    b, m, n = A.shape
    scale = 1.0 if inv_scale is None else inv_scale.reshape(b, 1, 1)
    At = A.mT
    # The start block is shared: one broadcast product for the whole batch.
    start = (start_vectors(n, max(k, 1), A.dtype, A.device) @ At) * scale
    W = before_last = start[:, :k]
    for _ in range(n_iter if k else 0):
        before_last = W
        V = orthonormalize_rows(torch.bmm(W, A) * scale)
        W = torch.bmm(V, At) * scale
    # Ritz values: eigenvalues of the small Gram matrix W W^T. The captured
    # energy is its trace, summed in float64: the leftover energy 1 - captured
    # of a normalised matrix cancels most digits when the leading values hold
    # most of the energy.
    W64 = W.double()
    captured = (W64 * W64).sum((-2, -1))[:, None]
    if k == 0:
        values = W64.new_zeros(b, 0)
    elif k == 1:
        values = captured.sqrt()
    else:
        # float64 products of the float32 block: the small Ritz values keep
        # their digits next to the largest.
        C = W64 @ W64.mT
        if fast and k <= 3:
            eig = _small_eigvalsh(C)
        else:
            # Non-finite rows (of non-finite input) are rejected by the
            # callers; zeros keep LAPACK from failing on them first.
            eig = torch.linalg.eigvalsh(torch.nan_to_num(C, 0.0, 0.0, 0.0)).flip(-1)
        values = eig.clamp_min(0).sqrt()
    if not details:
        return values
    before = before_last.double()
    gain = captured - (before * before).sum((-2, -1))[:, None]
    return values, start, gain.clamp_min(0), captured


def leading_values_and_rest(A, k, n_iter, norms):
    """Leading singular values and leftover energy of normalised matrices.

    Runs :func:`top_singular_values` on ``A / ||A||_F`` and returns the
    leftover energy ``1 - sum(values**2)`` (up to the rounding of the norm)
    that the rest of the spectrum holds. Where the leading values hold all but
    3e-3 of the energy, that difference would keep few digits of a float32
    computation, so those matrices are redone in float64 (a small share of
    natural images; all matrices of rank at most ``k``). Matrices of at most
    256 entries iterate in float64 from the start.

    Parameters
    ----------
    A : Tensor of shape (batch, m, n)
        The matrices, ``m >= n`` preferably.
    k : int
        Number of leading values.
    n_iter : int
        Subspace iteration steps.
    norms : Tensor of shape (batch, 1)
        Frobenius norms of the matrices, in ``A``'s dtype.

    Returns
    -------
    values : Tensor of shape (batch, k), float64
        Leading values of ``A * inv``, descending.
    rest_sq : Tensor of shape (batch, 1), float64
        Energy of ``A * inv`` outside them, ``energy - sum(values**2) >= 0``.
    energy : Tensor of shape (batch, 1), float64
        ``||A * inv||_F**2``, 1 up to the rounding of ``inv``.
    inv : Tensor of shape (batch, 1)
        ``1 / ||A||_F`` in ``A``'s dtype (0 for a zero matrix).
    start : Tensor of shape (batch, max(k, 1), m)
        The first product, as :func:`top_singular_values` returns it.
    gain : Tensor of shape (batch, 1), float64
        Energy added by the last iteration step, as it returns it.
    """
    import torch

    inv = torch.where(norms > 0, 1 / norms, 0.0)
    if A.shape[-2] * A.shape[-1] <= FLOAT64_MAX_ENTRIES and A.dtype != torch.float64:
        values, rest_sq, energy, start, gain = _in_float64(A, k, n_iter, inv)
        return values, rest_sq.clamp_min(0), energy, inv, start, gain
    values, start, gain, captured = top_singular_values(
        A, k, n_iter, inv_scale=inv, details=True
    )
    energy = (norms.double() * inv.double()) ** 2
    rest_sq = energy - captured
    thin = (rest_sq < THIN_REST * energy)[:, 0] if k else rest_sq.new_zeros(0)
    if thin.any():
        refined, refined_rest, refined_energy, _, _ = _in_float64(
            A[thin], k, n_iter, inv[thin]
        )
        values, energy, rest_sq = values.clone(), energy.clone(), rest_sq.clone()
        values[thin], energy[thin], rest_sq[thin] = (
            refined,
            refined_energy,
            refined_rest,
        )
    return values, rest_sq.clamp_min(0), energy, inv, start, gain


def _in_float64(A, k, n_iter, inv):
    """:func:`leading_values_and_rest`'s outputs, computed in float64.

    The iteration runs on ``A / ||A||_F`` with the norm exact in float64 and
    LAPACK for the Ritz problem; the results are returned in the
    normalisation by the float32 ``inv`` that the float32 route uses, so
    both routes' outputs can be mixed row by row.
    """
    import torch

    A64 = A.double()
    sq64 = (A64 * A64).sum((-2, -1))[:, None]
    exact_inv = torch.where(sq64 > 0, sq64.rsqrt(), 0.0)
    values, start, gain, captured = top_singular_values(
        A64, k, n_iter, inv_scale=exact_inv, details=True, fast=False
    )
    energy = sq64 * inv.double() ** 2
    rest_sq = (sq64 * exact_inv**2 - captured) * energy
    return values * energy.sqrt(), rest_sq, energy, start, gain * energy


def power_of_two_scaled(X):
    """Rows of ``X`` scaled exactly by powers of two to peaks in [0.5, 1).

    Squares of the scaled values can neither overflow nor vanish, so norms
    and products computed from them keep their digits at any input scale.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Finite values.

    Returns
    -------
    scaled : ndarray of shape (n_rows, n_features), float64
    exponents : ndarray of shape (n_rows,) of int
        ``X == np.ldexp(scaled, exponents[:, None])``; 0 for all-zero rows.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._linalg import power_of_two_scaled
    >>> power_of_two_scaled(np.array([[1e300, -3e300], [0.0, 0.0]]))[1]
    array([999,   0], dtype=int32)
    """
    X = np.asarray(X, dtype=np.float64)
    peak = np.abs(X).max(axis=1) if X.shape[1] else np.zeros(len(X))
    exponents = np.frexp(peak)[1]
    return np.ldexp(X, -exponents[:, None]), exponents


def times_power_of_two(values, exponents):
    """``values * 2**exponents``, exactly.

    A product with the power where it is a normal float64 number (faster than
    ``np.ldexp``), else ``np.ldexp``.

    Parameters
    ----------
    values : ndarray
    exponents : ndarray of int
        Broadcast against ``values``.

    Returns
    -------
    scaled : ndarray, float64

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._linalg import times_power_of_two
    >>> times_power_of_two(np.array([3.0, 3.0]), np.array([2, -3]))
    array([12.   ,  0.375])
    """
    exponents = np.asarray(exponents)
    if exponents.size and np.abs(exponents).max() < 1000:
        return values * np.ldexp(1.0, exponents)
    return np.ldexp(values, exponents)


def frobenius_norms(X):
    """Frobenius norms of flattened matrices, without overflow or underflow.

    Parameters
    ----------
    X : ndarray of shape (n_samples, m * n)
        Finite values.

    Returns
    -------
    norms : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._linalg import frobenius_norms
    >>> frobenius_norms(np.array([[3e200, 4e200], [3e-200, 4e-200]]))
    array([5.e+200, 5.e-200])
    """
    scaled, exponents = power_of_two_scaled(X)
    return np.ldexp(np.sqrt(np.einsum("ij,ij->i", scaled, scaled)), exponents)


def _small_eigvalsh(C):
    """Descending eigenvalues of a batch of small symmetric matrices.

    Closed forms for 2 x 2 and 3 x 3 (the trigonometric solution of the
    characteristic cubic) are vectorised over the batch; LAPACK's per-matrix
    calls cost more than the rest of the estimate.
    """
    import torch

    k = C.shape[-1]
    if k == 2:
        a, b, c = C[:, 0, 0], C[:, 0, 1], C[:, 1, 1]
        half_trace, radius = (a + c) / 2, torch.hypot((a - c) / 2, b)
        return torch.stack([half_trace + radius, half_trace - radius], dim=-1)
    if k == 3:
        q = C.diagonal(dim1=-2, dim2=-1).sum(-1) / 3
        off = C[:, 0, 1] ** 2 + C[:, 0, 2] ** 2 + C[:, 1, 2] ** 2
        shifted = C.clone()
        shifted.diagonal(dim1=-2, dim2=-1).sub_(q[:, None])
        p = torch.sqrt(
            ((shifted.diagonal(dim1=-2, dim2=-1) ** 2).sum(-1) + 2 * off) / 6
        )
        safe = torch.where(p > 0, p, 1.0)
        B = shifted / safe[:, None, None]
        det = (
            B[:, 0, 0] * (B[:, 1, 1] * B[:, 2, 2] - B[:, 1, 2] ** 2)
            - B[:, 0, 1] * (B[:, 0, 1] * B[:, 2, 2] - B[:, 1, 2] * B[:, 0, 2])
            + B[:, 0, 2] * (B[:, 0, 1] * B[:, 1, 2] - B[:, 1, 1] * B[:, 0, 2])
        )
        r = det / 2
        phi = torch.acos(r.clamp(-1, 1)) / 3
        largest = q + 2 * p * torch.cos(phi)
        smallest = q + 2 * p * torch.cos(phi + 2 * math.pi / 3)
        return torch.stack([largest, 3 * q - largest - smallest, smallest], dim=-1)
    return torch.linalg.eigvalsh(C).flip(-1)
