# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The torch module behind :class:`~svlearn.SingularValueRegressor`, and its predict.

:class:`SpectrumMLP` maps flattened matrices to spectra; :func:`equivariant_spectra`
runs a scale-equivariant module on one chunk of a predict call at any scale
(both estimators call it).
"""

import math
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils import assert_all_finite
from torch import nn

from ._linalg import leading_values_and_rest, power_of_two_scaled

# Matrices per forward pass in predict: large enough to amortise per-call
# overhead, small enough that the matrices stay in cache across the
# iteration's passes over them, and to bound the memory that predict adds to
# its input (memmaps stream through it).
PREDICT_CHUNK = 1024
# Frobenius norms (float32) inside which the fast path is exact to rounding:
# squares neither overflow nor lose digits to subnormals. Matrices outside are
# rescaled by a power of two (exact) in float64 first.
SAFE_NORMS = (2.0**-60, 2.0**60)

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
    hidden_layer_sizes : tuple of int or None
        Width of each hidden layer; each is followed by the activation and, if
        ``dropout > 0``, a dropout layer. None (the "ritz" head only) means no
        network: the base spectrum itself, the zero-learning estimator of
        :class:`~svlearn.MeanSpectrumRegressor`.
    activation : str
        One of "relu", "tanh", "gelu", "logistic".
    dropout : float
        Dropout probability after each hidden layer.
    head : {"raw", "frobenius", "subspace", "ritz"}
        "raw": the network outputs the singular values (the paper's model);
        at evaluation time they are clipped at 0 and sorted.
        "frobenius": the network sees the matrix divided by its Frobenius norm
        and by its canonical sign, and outputs a descending spectrum of unit
        norm, multiplied back by the norm.
        "subspace": as "frobenius", but the top ``n_components`` values come
        from ``n_iter`` steps of subspace iteration and the network shapes the
        rest of the spectrum, scaled to the exact leftover energy.
        "ritz": the network never sees the matrix. ``n_iter`` steps of block
        subspace iteration on ``n_components`` vectors give Ritz values; with
        the template (:meth:`set_template`) at the exact leftover energy they
        make a base spectrum, and the network maps the Ritz values, the
        leftover energy and the iteration's last gain (all invariant to the
        matrix's scale and sign) to a multiplicative correction of every
        value of the base. The result is scaled to the exact energy and
        sorted.
    n_components, n_iter : int
        Subspace iteration settings of the "subspace" and "ritz" heads.
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
        if head == "subspace":
            # At least one value is left to the network, so it always has a job.
            self.n_components = min(n_components, n_values - 1)
        else:
            self.n_components = min(n_components, n_values) if head == "ritz" else 0
        if head == "ritz":
            # The normalised Ritz values, the square roots of the leftover
            # energy and of the last step's gain.
            n_in = self.n_components + 2
            # The base spectrum's tail, unit norm; set from the training
            # targets by set_template (a buffer, so that it is saved).
            self.register_buffer("template", torch.zeros(n_values - self.n_components))
        else:
            n_in = math.prod(self.matrix_shape)
        layers = []
        if hidden_layer_sizes is None:
            if head != "ritz":
                raise ValueError("Only the 'ritz' head works without a network.")
            self.mlp = None
            return
        for width in hidden_layer_sizes:
            layers += [nn.Linear(n_in, width), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            n_in = width
        n_out = n_values if head == "ritz" else n_values - self.n_components
        layers.append(nn.Linear(n_in, n_out))
        self.mlp = nn.Sequential(*layers)
        if head == "ritz":
            # A zero correction: training starts from the base spectrum.
            nn.init.zeros_(self.mlp[-1].weight)
            nn.init.zeros_(self.mlp[-1].bias)
        # The subspace estimates enter the first layer through their own weights,
        # which saves concatenating them to the (much wider) flattened input.
        if self.n_components and head == "subspace":
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
        if self.head == "ritz":
            return self._ritz_spectra(X, norms)
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
        # The start block's first row is A times the constant vector: its sum
        # has the sign of the sum of A's entries, at no extra cost.
        sign = _canonical_sign(X, start[:, 0].sum(-1, keepdim=True)) * inv
        hidden = nn.functional.linear(X, first.weight) * sign + first.bias
        if self.n_components:
            hidden = hidden + self.features(top.to(X.dtype))
        shape = _descending_unit_spectrum(self.mlp[1:](hidden)).double()
        spectrum = _join_spectrum(top, shape, rest_sq)
        safe = torch.where(energy > 0, energy, 1.0)
        diagnostics = torch.cat([rest_sq / safe, gain / safe], dim=-1)
        return (spectrum * norms.double()).to(X.dtype), diagnostics

    def set_template(self, targets):
        """Set the base spectrum's tail from training spectra ("ritz" head).

        Parameters
        ----------
        targets : ndarray of shape (n_samples, min(m, n))
            Training spectra, descending (see :func:`tail_template`).
        """
        template = tail_template(np.asarray(targets), self.n_components)
        with torch.no_grad():
            self.template.copy_(torch.from_numpy(template))

    def _ritz_spectra(self, X, norms):
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if m < n:  # iterate in the smaller dimension; sigma(A) = sigma(A^T)
            A = A.mT
        k = self.n_components
        with torch.no_grad():
            top, rest_sq, energy, _, _, gain = leading_values_and_rest(
                A, k, self.n_iter, norms
            )
            # Normalised to unit energy. From here on float32 is enough: the
            # digits that cancel (in 1 - sum(top**2)) were kept in float64.
            safe = torch.where(energy > 0, energy, 1.0)
            values = (top / safe.sqrt()).to(X.dtype)
            rest, gain = (rest_sq / safe).to(X.dtype), (gain / safe).to(X.dtype)
            base = torch.cat([values, rest.sqrt() * self.template], -1)
            # Continuous in the rounding-level quantities (no logs), so that
            # float32 rounding of the input moves the output only by rounding.
            features = torch.cat([values, rest.sqrt(), gain.sqrt()], dim=-1)
        spectrum = base
        if self.mlp is not None:
            # exp of a clamped correction: positive, and finite in float32.
            spectrum = base * torch.exp(self.mlp(features).clamp(-30, 30))
        total = torch.linalg.vector_norm(spectrum, dim=-1, keepdim=True)
        scale = (energy.sqrt() * norms.double()).to(X.dtype)
        spectrum = spectrum * (scale / torch.where(total > 0, total, 1.0))
        spectrum = spectrum.sort(dim=-1, descending=True).values
        return spectrum, torch.cat([rest, gain], dim=-1).double()


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


def tail_template(spectra, k):
    """The mean shape of the spectra's tails: their values after the first ``k``.

    Each tail is scaled to unit norm, the tails are averaged, and the mean is
    scaled to unit norm (all-zero tails count as zeros).

    Parameters
    ----------
    spectra : ndarray of shape (n_samples, n_values)
        Descending spectra.
    k : int
        Leading values left out.

    Returns
    -------
    template : ndarray of shape (n_values - k,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._mlp import tail_template
    >>> tail_template(np.array([[4.0, 3.0, 0.0], [2.0, 1.0, 1.0]]), 1).round(3)
    array([0.924, 0.383])
    """
    tail = np.asarray(spectra, dtype=np.float64)[:, k:]
    norms = np.linalg.norm(tail, axis=1, keepdims=True)
    mean = (tail / np.where(norms > 0, norms, 1.0)).mean(axis=0)
    size = np.linalg.norm(mean)
    return mean / size if size > 0 else mean


class BlockSpectra(NamedTuple):
    """What :func:`equivariant_spectra` computed for one block of matrices."""

    pred: np.ndarray  # (n, n_values) float64 spectra of the block
    x: torch.Tensor  # the float32 rows the module saw (some rescaled)
    x_pred: np.ndarray  # (n, n_values) float64 spectra of the rows of x
    norms: np.ndarray  # (n,) float64 Frobenius norms of the rows of x
    diagnostics: np.ndarray | None  # (n, 2) float64, "subspace"/"ritz" heads


def to_tensor(block, device):
    """A float32 tensor on ``device``; a read-only block is copied first."""
    if not block.flags.writeable:  # e.g. a read-only memmap; torch warns
        block = block.astype(np.float32)
    return torch.from_numpy(block).to(device=device, dtype=torch.float32)


def equivariant_spectra(module, block, device):
    """Spectra of a block of flat matrices by a scale-equivariant head.

    Works at any finite scale: matrices whose float32 Frobenius norm lies
    outside :data:`SAFE_NORMS` (zero, tiny, huge, or float64 values beyond
    float32) are first rescaled exactly by a power of two, in place, so that
    float32 neither overflows nor loses digits, and their spectra scaled
    back. Call it under ``torch.inference_mode`` with the module in eval mode.

    Parameters
    ----------
    module : SpectrumMLP
        A module with a "frobenius", "subspace" or "ritz" head.
    block : ndarray of shape (n, m * n)
        Validated flat matrices (float32 or float64; non-finite values raise).
    device : torch.device
        Where the module's weights are.

    Returns
    -------
    BlockSpectra
    """
    x = to_tensor(block, device)
    norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    low, high = SAFE_NORMS
    outside = ~((norms >= low) & (norms <= high))[:, 0]
    exponents = None
    if outside.any():
        # Rescaled in place, so that every row goes through one call on a
        # batch of the same size: the kernels' rounding then depends on a
        # row's values only, and powers of two scale the output exactly.
        rows = outside.cpu().numpy()
        scaled, exponents = power_of_two_scaled(block[rows])
        assert_all_finite(scaled, input_name="X")
        x = x.clone()
        x[outside] = to_tensor(scaled, device)
        norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    spectra, diagnostics = module.spectra(x, norms)
    x_pred = spectra.double().cpu().numpy()
    if diagnostics is not None:
        diagnostics = diagnostics.cpu().numpy()
    norms = norms.double().cpu().numpy()[:, 0]
    pred = x_pred
    if exponents is not None:
        pred = x_pred.copy()
        pred[rows] = np.ldexp(x_pred[rows], exponents[:, None])
    return BlockSpectra(pred, x, x_pred, norms, diagnostics)
