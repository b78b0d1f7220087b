# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The torch module behind :class:`~svlearn.SingularValueRegressor`."""

import math

import torch
from torch import nn

from ._linalg import top_singular_values

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
