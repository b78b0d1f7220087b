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

from ._ends import INVERSE_STEPS, EndsHead
from ._linalg import (
    leading_values_and_rest,
    power_of_two_scaled,
    times_power_of_two,
)
from ._numerics import ACTIVATIONS, CORRECTION_CLAMP, PAD_ROWS


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
        ``dropout > 0``, a dropout layer. None (the "ritz" and "ends" heads
        only) means no network: the base spectrum itself, for "ritz" the
        zero-learning estimator of :class:`~svlearn.MeanSpectrumRegressor`.
    activation : str
        One of "relu", "tanh", "gelu", "logistic".
    dropout : float
        Dropout probability after each hidden layer (not the "ends" head).
    head : {"raw", "frobenius", "subspace", "ritz", "ends"}
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
        "ends": :class:`~svlearn._ends.EndsHead`: as "ritz" at the top, plus
        ``n_components`` values at the bottom by inverse iteration, the
        exact log-determinant and fourth moment, and a network for the
        middle.
    n_components, n_iter : int
        Subspace iteration settings of the "subspace", "ritz" and "ends"
        heads (for "ends", ``n_components`` vectors at each end).
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
        if head == "ends":
            # Both ends and the middle live in their own module.
            self.n_components = min(n_components, n_values)
            self.mlp = None
            self.ends = EndsHead(
                n_values,
                n_components,
                n_iter,
                n_components,
                INVERSE_STEPS,
                hidden_layer_sizes,
                getattr(nn, ACTIVATIONS[activation][0]),
            )
            return
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
            layers += [
                nn.Linear(n_in, width),
                getattr(nn, ACTIVATIONS[activation][0])(),
            ]
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
        return self.spectra(X, norms).spectra

    def spectra(self, X, norms=None):
        """Spectra, the iteration's diagnostics and its certificate.

        See :meth:`forward` for the parameters.

        Returns
        -------
        ModuleSpectra
            ``spectra`` (in ``X``'s dtype), ``diagnostics``, ``ritz`` and
            ``rest`` (float64, None for the "raw" head).
        """
        if self.head == "raw":
            out = self.mlp(X)
            if not self.training:
                out = out.clamp_min(0).sort(dim=-1, descending=True).values
            return ModuleSpectra(out, None, None, None)
        # Scale-equivariant heads: sigma(cA) = |c| sigma(A). The network sees
        # s A / ||A||_F with a canonical sign s, so sigma(-A) = sigma(A) holds
        # exactly; dividing after the first layer's product instead of before
        # saves a pass over the wide input.
        if norms is None:
            norms = torch.linalg.vector_norm(X, dim=-1, keepdim=True)
        if self.head == "ritz":
            return self._ritz_spectra(X, norms)
        if self.head == "ends":
            return self._ends_spectra(X, norms)
        first = self.mlp[0]
        if self.head == "frobenius":
            inv = torch.where(norms > 0, 1 / norms, 0.0)
            sign = _canonical_sign(X, X.sum(-1, keepdim=True)) * inv
            hidden = nn.functional.linear(X, first.weight) * sign + first.bias
            spectrum = _descending_unit_spectrum(self.mlp[1:](hidden)) * norms
            # No iteration: no Ritz values, all of the energy left over.
            norms64 = norms.double()
            return ModuleSpectra(
                spectrum, None, norms64.new_zeros(len(X), 0), norms64**2
            )
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
        ritz, rest = _in_units_of_x(top, rest_sq, inv)
        return ModuleSpectra(
            (spectrum * norms.double()).to(X.dtype), diagnostics, ritz, rest
        )

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
            top, rest_sq, energy, inv, _, gain = leading_values_and_rest(
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
            spectrum = base * torch.exp(
                self.mlp(features).clamp(-CORRECTION_CLAMP, CORRECTION_CLAMP)
            )
        total = torch.linalg.vector_norm(spectrum, dim=-1, keepdim=True)
        scale = (energy.sqrt() * norms.double()).to(X.dtype)
        spectrum = spectrum * (scale / torch.where(total > 0, total, 1.0))
        spectrum = spectrum.sort(dim=-1, descending=True).values
        ritz, rest_x = _in_units_of_x(top, rest_sq, inv)
        return ModuleSpectra(
            spectrum, torch.cat([rest, gain], dim=-1).double(), ritz, rest_x
        )

    def _ends_spectra(self, X, norms):
        m, n = self.matrix_shape
        A = X.reshape(-1, m, n)
        if m < n:  # sigma(A) = sigma(A^T); the Gram matrix of the smaller side
            A = A.mT
        nums = self.ends.numerics(A, norms)
        spectrum = self.ends(nums) * norms.double()
        # The certificate of the top end, in the units of A * inv like the
        # "ritz" head's (the numerics are normalised to unit energy).
        inv = torch.where(norms > 0, 1 / norms, 0.0)
        ritz, rest = _in_units_of_x(
            nums.top * nums.energy.sqrt(), nums.rest * nums.energy, inv
        )
        diagnostics = torch.cat([nums.rest, nums.gain], dim=-1)
        return ModuleSpectra(spectrum.to(X.dtype), diagnostics, ritz, rest)


class ModuleSpectra(NamedTuple):
    """What :meth:`SpectrumMLP.spectra` computes for a batch ``X``."""

    spectra: torch.Tensor  # (batch, n_values), in X's dtype
    diagnostics: torch.Tensor | None  # (batch, 2) float64: rest and gain fractions
    ritz: torch.Tensor | None  # (batch, k) float64 Ritz values, units of X
    rest: torch.Tensor | None  # (batch, 1) float64 leftover energy, units of X


def _in_units_of_x(top, rest_sq, inv):
    """Ritz values and leftover energy of ``A * inv`` back in the units of ``A``."""
    inv64 = inv.double()
    back = torch.where(inv64 > 0, 1 / inv64, 0.0)
    return top * back, rest_sq * back**2


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
    """What a predict route computed for one block of matrices.

    The route sees each matrix scaled by a power of two, ``x = X * 2**-e``
    (``exponents``, so that its largest entry lies in [0.5, 1)); fields named
    ``x_*`` are in those units, and the properties :attr:`ritz`, :attr:`rest`
    and :attr:`energy` give the certificate in the matrix's own units.
    """

    pred: np.ndarray  # (n, n_values) float64 spectra of the block
    x: np.ndarray | torch.Tensor  # the rows the route saw, (n, m * n)
    x_pred: np.ndarray  # (n, n_values) float64 spectra of the rows of x
    norms: np.ndarray  # (n,) float64 Frobenius norms of the rows of x
    diagnostics: np.ndarray | None  # (n, 2) float64, "subspace"/"ritz" heads
    x_ritz: np.ndarray | None  # (n, k) float64 Ritz values of x (k=0: none)
    x_rest: np.ndarray | None  # (n,) float64 leftover energy of x
    x_energy: np.ndarray | None  # (n,) float64 ||x||_F**2
    exponents: np.ndarray  # (n,) int: X = x * 2**exponents

    @property
    def ritz(self):
        """Ritz values, ndarray of shape (n, k) (None for the "raw" head)."""
        return None if self.x_ritz is None else self.unscaled(self.x_ritz)

    @property
    def rest(self):
        """Leftover energy ``||A||_F**2 - sum(ritz**2)``, shape (n,)."""
        return (
            None if self.x_rest is None else np.ldexp(self.x_rest, 2 * self.exponents)
        )

    @property
    def energy(self):
        """``||A||_F**2``, shape (n,)."""
        return (
            None
            if self.x_energy is None
            else np.ldexp(self.x_energy, 2 * self.exponents)
        )

    def unscaled(self, values):
        """Values in the units of x (one row per matrix) in the matrix's units."""
        return times_power_of_two(values, self.exponents[:, None])


def to_tensor(block, device):
    """A float32 tensor on ``device``; a read-only block is copied first."""
    if not block.flags.writeable:  # e.g. a read-only memmap; torch warns
        block = block.astype(np.float32)
    return torch.from_numpy(block).to(device=device, dtype=torch.float32)


def padded(x):
    """``x`` with zero rows appended up to a multiple of :data:`PAD_ROWS`.

    Matrix products of fewer rows take other kernels (matrix-vector ones),
    whose sums round differently; from a few rows on, a row of the product
    rounds the same whatever the number of rows, so that a matrix's
    prediction does not depend on the batch it came in.
    """
    extra = -len(x) % PAD_ROWS
    return x if not extra else torch.cat([x, x.new_zeros(extra, *x.shape[1:])])


def canonical_rows(block, device):
    """Rows scaled exactly by powers of two to peaks in [0.5, 1), as float32.

    Every row is scaled, so that ``X`` and ``2**j * X`` give the same float32
    rows and every computation after this one is bitwise scale-equivariant:
    neither float32 overflow nor subnormals can act differently at two scales.

    Returns
    -------
    x : Tensor of shape (n, m * n), float32, on ``device``
    exponents : ndarray of shape (n,) of int
        ``block == x * 2**exponents``, up to float32 rounding of float64 input.
    """
    if block.dtype != np.float32:
        # float64 values may lie beyond float32: scale before rounding.
        scaled, exponents = power_of_two_scaled(block)
        assert_all_finite(scaled, input_name="X")
        return to_tensor(scaled, device), exponents
    x = to_tensor(block, device)
    low, high = torch.aminmax(x, dim=-1) if x.shape[1] else (x[:, :1], x[:, :1])
    peak = torch.maximum(high, -low)
    if not torch.isfinite(peak).all():
        assert_all_finite(block, input_name="X")
    exponents = torch.frexp(peak).exponent
    # Two factors, each a normal float32, for exponents from -148 to 128.
    half = torch.div(exponents, 2, rounding_mode="floor")
    one = torch.ones((), dtype=x.dtype, device=x.device)
    first = torch.ldexp(one, (-half)[:, None].to(torch.float32))
    second = torch.ldexp(one, (half - exponents)[:, None].to(torch.float32))
    return x * first * second, exponents.cpu().numpy().astype(np.int64)


def equivariant_spectra(module, block, device):
    """Spectra of a block of flat matrices by a scale-equivariant head.

    Works at any finite scale: every matrix is scaled exactly by a power of
    two (:func:`canonical_rows`), so that float32 neither overflows nor loses
    digits, and its spectrum scaled back; the block is padded
    (:func:`padded`), so that each matrix's result depends on its values
    only. Call it under ``torch.inference_mode`` with the module in eval mode.

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
    n = len(block)
    x, exponents = canonical_rows(block, device)
    xp = padded(x)
    norms = torch.linalg.vector_norm(xp, dim=-1, keepdim=True)
    out = module.spectra(xp, norms)
    x_pred = out.spectra[:n].double().cpu().numpy()
    diagnostics = out.diagnostics
    if diagnostics is not None:
        diagnostics = diagnostics[:n].cpu().numpy()
    x64 = x.double()
    energy = (x64 * x64).sum(-1).cpu().numpy()
    return BlockSpectra(
        pred=times_power_of_two(x_pred, exponents[:, None]),
        x=x,
        x_pred=x_pred,
        norms=norms[:n, 0].double().cpu().numpy(),
        diagnostics=diagnostics,
        x_ritz=out.ritz[:n].cpu().numpy(),
        x_rest=out.rest[:n, 0].cpu().numpy(),
        x_energy=energy,
        exponents=exponents,
    )
