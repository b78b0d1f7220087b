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

from ._validation import check_matrices


def singular_values(X, *, matrix_shape=None, batch_size=4096):
    """Exact singular values of every matrix in ``X``, in descending order.

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
def _start_vectors(n, k, dtype, device):
    """Orthonormal DCT-II vectors: a deterministic, smooth starting subspace.

    The first is the constant vector, which is close to the top right singular
    vector of any matrix with non-negative entries (Perron-Frobenius). Cached,
    as building them costs more than using them on a small batch; made outside
    inference mode so that training may use them too. Never modified in place.
    """
    import torch

    with torch.inference_mode(False):
        i = torch.arange(n, dtype=torch.float64, device=device)
        cols = [torch.cos(math.pi * j * (i + 0.5) / n) for j in range(k)]
        V = torch.stack(cols, dim=-1)
        return (V / V.norm(dim=0, keepdim=True)).to(dtype)


def _orthonormalize(V):
    """Gram-Schmidt on the few columns of a batch of bases; cheaper than QR."""
    import torch

    cols = []
    for j in range(V.shape[-1]):
        v = V[..., j]
        for u in cols:
            v = v - (u * v).sum(-1, keepdim=True) * u
        # rsqrt of a sum: torch's vector_norm is several times slower here.
        cols.append(v * (v * v).sum(-1, keepdim=True).clamp_min(1e-30).rsqrt())
    return torch.stack(cols, dim=-1)


def top_singular_values(A, k, n_iter):
    """Estimate the top ``k`` singular values of a batch by subspace iteration.

    ``n_iter`` steps of ``V <- orth(A^T A V)`` from a fixed DCT subspace, then
    Rayleigh-Ritz on the ``k``-dimensional subspace. Each step costs ``2 k``
    matrix-vector products per matrix; the only decomposition is of a ``k x k``
    Gram matrix (in closed form for ``k <= 2``). The estimates are lower bounds
    that converge to the exact values.

    Parameters
    ----------
    A : Tensor of shape (batch, m, n)
    k : int
    n_iter : int

    Returns
    -------
    Tensor of shape (batch, k), descending.
    """

    b, m, n = A.shape
    if k == 0:
        return A.new_zeros(b, 0)
    V0 = _start_vectors(n, k, A.dtype, A.device)
    # The start subspace is shared, so the first product is one large GEMM.
    W = (A.reshape(b * m, n) @ V0).reshape(b, m, k)
    for _ in range(n_iter):
        V = _orthonormalize(A.mT @ W)
        W = A @ V
    if k == 1:
        return W.norm(dim=-2)
    # Ritz values: eigenvalues of the small Gram matrix, in float64 so that
    # the smaller ones keep their digits next to the largest.
    W = W.double()
    C = W.mT @ W
    return _small_eigvalsh(C).clamp_min(0).sqrt().to(A.dtype)


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
