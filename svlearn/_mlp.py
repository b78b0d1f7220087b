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

    def forward(self, X, sq_norms=None):
        """Spectra of a batch of flattened matrices.

        Parameters
        ----------
        X : Tensor of shape (batch, m * n)
        sq_norms : Tensor of shape (batch, 1) or None, default=None
            Squared Frobenius norms of the rows of ``X``, if the caller has
            them already (predict checks them for range); else computed here.
        """
        if self.head == "raw":
            out = self.mlp(X)
            if not self.training:
                out = out.clamp_min(0).sort(dim=-1, descending=True).values
            return out
        # Scale-equivariant heads: sigma(cA) = |c| sigma(A). The network sees
        # s A / ||A||_F with a canonical sign s, so sigma(-A) = sigma(A) holds
        # exactly; dividing after the first layer's product instead of before
        # saves a pass over the wide input.
        if sq_norms is None:
            sq_norms = (X * X).sum(-1, keepdim=True)
        norms = sq_norms.sqrt()
        inv = torch.where(sq_norms > 0, sq_norms.rsqrt(), 0.0)
        first = self.mlp[0]
        if self.head == "frobenius":
            sign = torch.where(X.sum(-1, keepdim=True) >= 0, inv, -inv)
            hidden = nn.functional.linear(X, first.weight) * sign + first.bias
            return _descending_unit_spectrum(self.mlp[1:](hidden)) * norms
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if m < n:  # iterate in the smaller dimension; sigma(A) = sigma(A^T)
            A = A.mT
        with torch.no_grad():
            top, start = top_singular_values(
                A, self.n_components, self.n_iter, inv_scale=inv, return_start=True
            )
        # The start block's first column is A times the constant vector: its
        # sum has the sign of the sum of A's entries, at no extra cost.
        sign = torch.where(start[..., 0].sum(-1, keepdim=True) >= 0, inv, -inv)
        hidden = nn.functional.linear(X, first.weight) * sign + first.bias
        if self.n_components:
            hidden = hidden + self.features(top)
        shape = _descending_unit_spectrum(self.mlp[1:](hidden))
        return _join_spectrum(top, shape) * norms


def _join_spectrum(top, shape):
    """Unit-energy spectrum from leading values and a unit-norm tail shape.

    The tail is ``shape`` scaled to the leftover energy ``1 - sum(top**2)``,
    but never above the last leading value; energy the tail cannot take goes
    to the largest value (the Ritz values are lower bounds). So the output is
    non-negative, descending and has unit energy, all by construction.
    """
    rest_sq = (1 - (top**2).sum(-1, keepdim=True)).clamp_min(0)
    if top.shape[-1] == 0:
        return shape * rest_sq.sqrt()
    cap = top[..., -1:] / shape[..., :1].clamp_min(1e-30)
    scale = torch.minimum(rest_sq.sqrt(), cap)
    first = (top[..., :1] ** 2 + (rest_sq - scale**2).clamp_min(0)).sqrt()
    return torch.cat([first, top[..., 1:], shape * scale], dim=-1)
