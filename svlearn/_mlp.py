# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The torch module behind :class:`~svlearn.SingularValueRegressor`."""

import functools
import math

import torch
from torch import nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "logistic": nn.Sigmoid,
}


def _descending_unit_spectrum(logits):
    """Map logits to a non-negative, non-increasing vector of unit norm.

    Softplus increments summed from the end make every value at least the one
    after it, so the ordering holds by construction, not by a sort.
    """
    inc = nn.functional.softplus(logits)
    spectrum = inc.flip(-1).cumsum(-1).flip(-1)
    return spectrum / spectrum.norm(dim=-1, keepdim=True).clamp_min(1e-30)


@functools.lru_cache(maxsize=32)
def _start_vectors(n, k, dtype, device):
    """Orthonormal DCT-II vectors: a deterministic, smooth starting subspace.

    The first is the constant vector, which is close to the top right singular
    vector of any matrix with non-negative entries (Perron-Frobenius). Cached,
    as building them costs more than using them on a small batch; made outside
    inference mode so that training may use them too. Never modified in place.
    """
    with torch.inference_mode(False):
        i = torch.arange(n, dtype=torch.float64, device=device)
        cols = [torch.cos(math.pi * j * (i + 0.5) / n) for j in range(k)]
        V = torch.stack(cols, dim=-1)
        return (V / V.norm(dim=0, keepdim=True)).to(dtype)


def _orthonormalize(V):
    """Gram-Schmidt on the few columns of a batch of bases; cheaper than QR."""
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


class SpectrumMLP(nn.Module):
    """MLP from a flattened matrix to its singular values.

    Parameters
    ----------
    matrix_shape : tuple of two ints
        Shape ``(m, n)`` of the input matrices.
    hidden_layer_sizes : tuple of int
        Width of each hidden layer; each is followed by the activation and, if
        ``dropout > 0``, a dropout layer.
    activation : str
        One of "relu", "tanh", "gelu", "logistic".
    dropout : float
        Dropout probability after each hidden layer.
    head : {"raw", "frobenius", "subspace"}
        "raw": the network outputs the singular values (the paper's model);
        at evaluation time they are clipped at 0 and sorted.
        "frobenius": the input has unit Frobenius norm and the network outputs
        a descending spectrum of unit norm.
        "subspace": as "frobenius", but the top ``n_components`` values come
        from ``n_iter`` steps of subspace iteration and the network shapes the
        rest of the spectrum, scaled to the exact leftover energy.
    n_components, n_iter : int
        Subspace iteration settings of the "subspace" head.
    """

    # No defaults: SingularValueRegressor passes every setting, and its
    # constructor is the one place where the defaults live.
    def __init__(
        self,
        *,
        matrix_shape,
        hidden_layer_sizes,
        activation,
        dropout,
        head,
        n_components,
        n_iter,
    ):
        super().__init__()
        self.matrix_shape = tuple(matrix_shape)
        self.head = head
        self.n_iter = n_iter
        n_values = min(self.matrix_shape)
        # At least one value is left to the network, so it always has a job.
        self.n_components = min(n_components, n_values - 1) if head == "subspace" else 0
        n_in = math.prod(self.matrix_shape)
        layers = []
        for width in hidden_layer_sizes:
            layers += [nn.Linear(n_in, width), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            n_in = width
        layers.append(nn.Linear(n_in, n_values - self.n_components))
        self.mlp = nn.Sequential(*layers)
        # The subspace estimates enter the first layer through their own weights,
        # which saves concatenating them to the (much wider) flattened input.
        if self.n_components:
            self.features = nn.Linear(
                self.n_components, self.mlp[0].out_features, bias=False
            )

    def forward(self, X):
        if self.head == "raw":
            out = self.mlp(X)
            if not self.training:
                out = out.clamp_min(0).sort(dim=-1, descending=True).values
            return out
        # Scale-equivariant heads: sigma(cA) = |c| sigma(A). The network sees
        # A / ||A||_F; dividing after the first layer's product instead of
        # before saves a pass over the wide input.
        norms = torch.linalg.vector_norm(X, dim=-1, keepdim=True)
        safe = torch.where(norms > 0, norms, 1.0)
        first = self.mlp[0]
        hidden = nn.functional.linear(X, first.weight) / safe + first.bias
        if self.head == "frobenius":
            return _descending_unit_spectrum(self.mlp[1:](hidden)) * norms
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if m < n:  # iterate in the smaller dimension; sigma(A) = sigma(A^T)
            A = A.mT
        with torch.no_grad():
            top = top_singular_values(A, self.n_components, self.n_iter) / safe
        if self.n_components:
            hidden = hidden + self.features(top)
        logits = self.mlp[1:](hidden)
        # Leftover energy is exact: sum of sigma_i**2 = ||A||_F**2.
        rest = (1 - (top**2).sum(-1, keepdim=True)).clamp_min(0).sqrt()
        tail = _descending_unit_spectrum(logits) * rest
        if self.n_components:
            tail = torch.minimum(tail, top[..., -1:])
        return torch.cat([top, tail], dim=-1) * norms
