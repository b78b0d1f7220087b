# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The torch module behind :class:`~svlearn.SingularValueRegressor`."""

import math

import torch
from torch import nn

from ._linalg import leading_values_and_rest

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
        "frobenius": the network sees the matrix divided by its Frobenius norm
        and by its canonical sign, and outputs a descending spectrum of unit
        norm, multiplied back by the norm.
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

    def forward(self, X, norms=None):
        """Spectra of a batch of flattened matrices.

        Parameters
        ----------
        X : Tensor of shape (batch, m * n)
        norms : Tensor of shape (batch, 1) or None, default=None
            Frobenius norms of the rows of ``X``, if the caller has them
            already (predict checks them for range); else computed here.
        """
        return self.spectra(X, norms)[0]

    def spectra(self, X, norms=None):
        """Spectra and the iteration's diagnostics (see :meth:`forward`).

        Returns
        -------
        spectra : Tensor of shape (batch, min(m, n)), in ``X``'s dtype
        diagnostics : Tensor of shape (batch, 2), float64, or None
            For the "subspace" head, per matrix: the energy fraction left to
            the network's tail (``1 - sum(top**2) / ||A||_F**2``) and the
            fraction that the last iteration step added (small once
            converged). None for the other heads.
        """
        if self.head == "raw":
            out = self.mlp(X)
            if not self.training:
                out = out.clamp_min(0).sort(dim=-1, descending=True).values
            return out, None
        # Scale-equivariant heads: sigma(cA) = |c| sigma(A). The network sees
        # s A / ||A||_F with a canonical sign s, so sigma(-A) = sigma(A) holds
        # exactly; dividing after the first layer's product instead of before
        # saves a pass over the wide input.
        if norms is None:
            norms = torch.linalg.vector_norm(X, dim=-1, keepdim=True)
        first = self.mlp[0]
        if self.head == "frobenius":
            inv = torch.where(norms > 0, 1 / norms, 0.0)
            sign = _canonical_sign(X, X.sum(-1, keepdim=True)) * inv
            hidden = nn.functional.linear(X, first.weight) * sign + first.bias
            return _descending_unit_spectrum(self.mlp[1:](hidden)) * norms, None
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if m < n:  # iterate in the smaller dimension; sigma(A) = sigma(A^T)
            A = A.mT
        with torch.no_grad():
            top, rest_sq, energy, inv, start, gain = leading_values_and_rest(
                A, self.n_components, self.n_iter, norms
            )
        # The start block's first column is A times the constant vector: its
        # sum has the sign of the sum of A's entries, at no extra cost.
        sign = _canonical_sign(X, start[..., 0].sum(-1, keepdim=True)) * inv
        hidden = nn.functional.linear(X, first.weight) * sign + first.bias
        if self.n_components:
            hidden = hidden + self.features(top.to(X.dtype))
        shape = _descending_unit_spectrum(self.mlp[1:](hidden)).double()
        spectrum = _join_spectrum(top, shape, rest_sq)
        safe = torch.where(energy > 0, energy, 1.0)
        diagnostics = torch.cat([rest_sq / safe, gain / safe], dim=-1)
        return (spectrum * norms.double()).to(X.dtype), diagnostics


def _canonical_sign(X, key):
    """+1 or -1 per row, flipping with the sign of X: ``s(-X) = -s(X)``.

    ``key`` is a quantity that changes sign with ``X`` (the sum of its
    entries); where it is zero, the sign of the row's first non-zero entry
    decides. A zero row gets +1.
    """
    sign = torch.where(key >= 0, 1.0, -1.0).to(X.dtype)
    ties = (key == 0)[:, 0]
    if ties.any():
        rows = X[ties]
        first = rows[torch.arange(len(rows)), (rows != 0).to(torch.uint8).argmax(-1)]
        sign[ties] = torch.where(first < 0, -1.0, 1.0).to(X.dtype)[:, None]
    return sign


def _join_spectrum(top, shape, rest_sq):
    """Spectrum from leading values and a unit-norm tail shape.

    The tail is ``shape`` scaled to the leftover energy ``rest_sq``, so the
    energy is exact. Where the tail's first value exceeds the last leading
    value (which, as a Ritz value, can only underestimate), the row is sorted.
    So the output is non-negative, descending and has the energy of the
    matrix, all by construction.
    """
    spectrum = torch.cat([top, shape * rest_sq.sqrt()], dim=-1)
    if top.shape[-1]:
        unordered = spectrum[:, top.shape[-1]] > top[:, -1]
        if unordered.any():
            spectrum = spectrum.clone()
            spectrum[unordered] = spectrum[unordered].sort(-1, descending=True)[0]
    return spectrum
