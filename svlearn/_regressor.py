# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""SingularValueRegressor: a scikit-learn regressor that learns singular values."""

import math
import numbers
import time

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from ._linalg import singular_values
from ._mlp import _ACTIVATIONS, SpectrumMLP
from ._recording import record_prediction_input
from ._validation import (
    check_targets,
    flatten_matrices,
    matrix_shape_of,
)

_LOSSES = {
    "mse": torch.nn.MSELoss,
    "l1": torch.nn.L1Loss,
    "huber": torch.nn.SmoothL1Loss,
}
_HEADS = ("raw", "frobenius", "subspace")
_SCHEDULES = ("constant", "onecycle", "cosine")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Matrices per forward pass in predict: large enough to amortise per-call
# overhead, small enough to keep intermediates in cache.
_PREDICT_CHUNK = 4096


def _is_int(value, low):
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= low
    )


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class SingularValueRegressor(RegressorMixin, BaseEstimator):
    """Predict the singular values of fixed-size matrices with a neural network.

    Each row of ``X`` is one ``m x n`` matrix flattened in row-major order (a 3-D
    stack ``(n_samples, m, n)`` is accepted too). The targets are its
    ``min(m, n)`` singular values; with ``y=None`` they are computed exactly in
    :meth:`fit`, so the model trains self-supervised. Predictions are
    non-negative and in descending order. The network is a PyTorch MLP trained
    through skorch.

    Parameters
    ----------
    matrix_shape : tuple of two ints or None, default=None
        Shape ``(m, n)`` of each matrix. ``None`` means square, inferred from
        ``n_features``; one entry may be ``-1`` and is then inferred.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Width of each hidden layer; ``()`` gives a linear map.
    activation : {"relu", "tanh", "gelu", "logistic"}, default="relu"
        Activation after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer, in ``[0, 1)``.
    head : {"subspace", "frobenius", "raw"}, default="subspace"
        How the output is formed.

        - "subspace": the top ``n_components`` singular values are estimated by
          ``n_iter`` steps of subspace iteration (``2 * n_components``
          matrix-vector products per step and matrix, no decomposition of the
          input); the network predicts the shape of the remaining values, which
          are scaled to the exact leftover energy ``||A||_F^2 - sum(top**2)``.
        - "frobenius": the network sees ``A / ||A||_F`` and predicts a
          descending spectrum of unit norm, multiplied by ``||A||_F``.
        - "raw": the paper's network: it sees ``A`` (divided by one global
          constant) and outputs the singular values directly; predictions are
          clipped at zero and sorted.
    n_components : int, default=3
        Number of leading singular values estimated by subspace iteration
        (``head="subspace"`` only).
    n_iter : int, default=2
        Subspace iteration steps (``head="subspace"`` only).
    loss : {"mse", "l1", "huber"}, default="mse"
        Training loss on the (normalised) spectra. With the "frobenius" and
        "subspace" heads, "mse" is proportional to the NMSE of Eq. 1.
    alpha : float, default=0.0
        L2 penalty (weight decay of Adam).
    batch_size : int, default=256
        Minibatch size.
    learning_rate_init : float, default=3e-3
        Initial (for "onecycle": peak) learning rate of Adam.
    learning_rate : {"onecycle", "constant", "cosine"}, default="onecycle"
        Learning-rate schedule over ``max_iter`` epochs.
    max_iter : int, default=30
        Number of epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the
        validation loss has not improved by ``tol`` (relative) for
        ``n_iter_no_change`` epochs; the best weights are restored.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Relative improvement that resets the patience.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split. Two fits with the same int give bit-identical predictions on
        CPU. The global RNGs of numpy and torch are left untouched.
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    verbose : int, default=0
        0 is silent, 1 prints skorch's epoch log, 2 adds a progress bar.
    warm_start : bool, default=False
        Continue training the fitted network on the next call to :meth:`fit`.

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The trained skorch net; ``net_.module_`` is the torch module.
    matrix_shape_ : tuple of two ints
        Shape of the matrices seen in fit.
    n_features_in_ : int
        ``m * n``.
    n_outputs_ : int
        ``min(m, n)``, the number of singular values predicted.
    scale_ : float
        Global input scale of the "raw" head (1.0 for the other heads).
    loss_curve_ : list of float
        Training loss of each epoch.
    validation_scores_ : list of float or None
        Validation loss of each epoch with early stopping, else None.
    best_loss_ : float
        Smallest training loss, or validation loss with early stopping.
    n_iter_ : int
        Epochs run so far.
    fit_time_ : float
        Seconds spent in the last fit.

    See Also
    --------
    MeanSpectrumRegressor : Zero-learning baselines.
    paper_regressor : The paper's configuration of this estimator.

    Notes
    -----
    Persist a fitted estimator (or a Pipeline holding it) with
    :func:`joblib.dump`; ``net_.save_params`` saves the weights alone. A net
    trained on CUDA loads on a CPU-only machine with skorch's ``DeviceWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn import SingularValueRegressor
    >>> X = np.random.default_rng(0).random((200, 16))  # 200 matrices, 4 x 4
    >>> reg = SingularValueRegressor(hidden_layer_sizes=(16,), max_iter=2,
    ...                              random_state=0).fit(X)
    >>> reg.predict(X[:3]).shape
    (3, 4)
    """

    def __init__(
        self,
        *,
        matrix_shape=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        head="subspace",
        n_components=3,
        n_iter=2,
        loss="mse",
        alpha=0.0,
        batch_size=256,
        learning_rate_init=3e-3,
        learning_rate="onecycle",
        max_iter=30,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="cpu",
        verbose=0,
        warm_start=False,
    ):
        self.matrix_shape = matrix_shape
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.head = head
        self.n_components = n_components
        self.n_iter = n_iter
        self.loss = loss
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _check_params(self):
        """Raise one ValueError that lists every invalid hyper-parameter."""
        bad = []
        sizes = self.hidden_layer_sizes
        if _is_int(sizes, 1):
            sizes = (sizes,)
        if not isinstance(sizes, (tuple, list)) or not all(
            _is_int(s, 1) for s in sizes
        ):
            bad.append(
                "hidden_layer_sizes must be a tuple of positive ints, got "
                f"{self.hidden_layer_sizes!r}"
            )
        choices = {
            "activation": (self.activation, tuple(_ACTIVATIONS)),
            "head": (self.head, _HEADS),
            "loss": (self.loss, tuple(_LOSSES)),
            "learning_rate": (self.learning_rate, _SCHEDULES),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                bad.append(f"{name} must be one of {allowed}, got {value!r}")
        if not (_is_real(self.dropout) and 0 <= self.dropout < 1):
            bad.append(f"dropout must be in [0, 1), got {self.dropout!r}")
        ints = {
            "n_components": (self.n_components, 1),
            "n_iter": (self.n_iter, 0),
            "batch_size": (self.batch_size, 1),
            "max_iter": (self.max_iter, 1),
            "n_iter_no_change": (self.n_iter_no_change, 1),
            "verbose": (self.verbose, 0),
        }
        for name, (value, low) in ints.items():
            if not _is_int(value, low):
                bad.append(f"{name} must be an int >= {low}, got {value!r}")
        if not (_is_real(self.learning_rate_init) and self.learning_rate_init > 0):
            bad.append(
                f"learning_rate_init must be > 0, got {self.learning_rate_init!r}"
            )
        for name in ("alpha", "tol"):
            value = getattr(self, name)
            if not (_is_real(value) and value >= 0):
                bad.append(f"{name} must be >= 0, got {value!r}")
        vf = self.validation_fraction
        if not (_is_real(vf) and 0 < vf < 1):
            bad.append(f"validation_fraction must be in (0, 1), got {vf!r}")
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            bad.append(f"early_stopping must be a bool, got {self.early_stopping!r}")
        if not isinstance(self.warm_start, (bool, np.bool_)):
            bad.append(f"warm_start must be a bool, got {self.warm_start!r}")
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError):
            bad.append(f"device must name a torch device, got {self.device!r}")
        if bad:
            raise ValueError("Invalid parameters: " + "; ".join(bad) + ".")
        return tuple(sizes)

    def _validate_X(self, X, reset, ensure_all_finite=True):
        X, shape3d = flatten_matrices(X)
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=(np.float64, np.float32),
            ensure_all_finite=ensure_all_finite,
        )
        if X.dtype == np.float64 and X.size and np.abs(X).max() > _FLOAT32_MAX:
            raise ValueError(
                f"X holds values up to {np.abs(X).max():.3g}, beyond float32's "
                f"range ({_FLOAT32_MAX:.3g}) in which the network computes; "
                "rescale X (singular values scale linearly)."
            )
        return X, shape3d

    def _matrix_norms(self, X):
        """Per-matrix input scale: Frobenius norms, or the global ``scale_``."""
        if self.head == "raw":
            return np.full(X.shape[0], self.scale_)
        norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
        return np.where(norms > 0, norms, 1.0)

    def fit(self, X, y=None):
        """Train the network on matrices ``X`` and their singular values ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Training matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            Their singular values in descending order. ``None`` computes them
            exactly (self-supervised training).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        sizes = self._check_params()
        warm = self.warm_start and hasattr(self, "net_")
        X, shape3d = self._validate_X(X, reset=not warm)
        shape = matrix_shape_of(shape3d, self.matrix_shape, X.shape[1])
        if warm and shape != self.matrix_shape_:
            raise ValueError(
                f"warm_start=True but X holds {shape} matrices while the fitted "
                f"network takes {self.matrix_shape_}."
            )
        n_values = min(shape)
        if y is None:
            y = singular_values(X, matrix_shape=shape)
            self._y_1d = False
        else:
            y, self._y_1d = check_targets(self, X, y, shape)
        if self.early_stopping and X.shape[0] * self.validation_fraction < 1:
            raise ValueError(
                f"early_stopping needs at least one validation matrix: n_samples="
                f"{X.shape[0]} with validation_fraction={self.validation_fraction}."
            )

        self.matrix_shape_ = shape
        self.n_outputs_ = n_values
        if not warm:
            # The raw head sees inputs and targets divided by one constant (the
            # RMS Frobenius norm), which keeps Adam's step sizes sensible.
            self.scale_ = 1.0
            if self.head == "raw":
                rms = np.sqrt(np.mean(np.einsum("ij,ij->i", X, X, dtype=np.float64)))
                self.scale_ = float(rms) if rms > 0 else 1.0
        norms = self._matrix_norms(X)
        Xs = (X / norms[:, None]).astype(np.float32)
        ys = (y / norms[:, None]).astype(np.float32)

        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        device = torch.device(self.device)
        fork = [device] if device.type == "cuda" else []
        start = time.perf_counter()
        with torch.random.fork_rng(devices=fork, device_type=device.type):
            torch.manual_seed(seed)
            if warm:
                self.net_.partial_fit(Xs, ys)
            else:
                self.net_ = self._build_net(sizes, shape, seed, X.shape[0])
                self.net_.fit(Xs, ys)
        self.fit_time_ = time.perf_counter() - start

        history = self.net_.history
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        self.validation_scores_ = (
            [float(v) for v in history[:, "valid_loss"]]
            if self.early_stopping
            else None
        )
        self.best_loss_ = min(self.validation_scores_ or self.loss_curve_)
        self.n_iter_ = len(history)
        return self

    def _build_net(self, sizes, shape, seed, n_samples):
        callbacks = []
        if self.early_stopping:
            callbacks.append(
                EarlyStopping(
                    monitor="valid_loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="rel",
                    load_best=True,
                )
            )
        if self.learning_rate == "onecycle":
            n_train = n_samples
            if self.early_stopping:
                n_train -= math.floor(n_samples * self.validation_fraction)
            steps = self.max_iter * (math.ceil(n_train / self.batch_size) + 1)
            callbacks.append(
                LRScheduler(
                    policy=torch.optim.lr_scheduler.OneCycleLR,
                    max_lr=self.learning_rate_init,
                    total_steps=steps,
                    step_every="batch",
                )
            )
        elif self.learning_rate == "cosine":
            callbacks.append(
                LRScheduler(
                    policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                    T_max=self.max_iter,
                )
            )
        if self.verbose >= 2:
            callbacks.append(ProgressBar())
        train_split = (
            ValidSplit(self.validation_fraction, random_state=seed)
            if self.early_stopping
            else None
        )
        return NeuralNetRegressor(
            module=SpectrumMLP,
            module__matrix_shape=shape,
            module__hidden_layer_sizes=sizes,
            module__activation=self.activation,
            module__dropout=self.dropout,
            module__head=self.head,
            module__n_components=self.n_components,
            module__n_iter=self.n_iter,
            criterion=_LOSSES[self.loss],
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.alpha,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            device=self.device,
            verbose=self.verbose,
            # Normalised spectra give losses around 1e-5: show significant digits.
            callbacks__print_log__floatfmt=".4g",
        )

    def predict(self, X):
        """Predict the singular values of each matrix.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices of the shape seen in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, min(m, n))
            Non-negative singular values in descending order, float64. When
            fit got a 1-D ``y`` (1 x n or n x 1 matrices) the output is 1-D.
        """
        check_is_fitted(self)
        # NaN or inf anywhere in a matrix makes its norm, and so its whole
        # prediction, non-finite: checking the small output instead of the
        # input saves a pass over X; the input check then names the problem.
        X, shape3d = self._validate_X(X, reset=False, ensure_all_finite=False)
        if shape3d is not None and shape3d != self.matrix_shape_:
            raise ValueError(
                f"X holds {shape3d} matrices but the estimator was fitted on "
                f"{self.matrix_shape_} matrices."
            )
        record_prediction_input(self, X, self.matrix_shape_)
        module = self.net_.module_
        module.train(False)
        out = np.empty((X.shape[0], self.n_outputs_), dtype=np.float64)
        chunk = _PREDICT_CHUNK
        with torch.inference_mode():
            for start in range(0, X.shape[0], chunk):
                block = X[start : start + chunk]
                if self.head == "raw":
                    pred = module(self._to_tensor(block / self.scale_)) * self.scale_
                else:
                    # The module is scale-equivariant and takes raw matrices.
                    pred = module(self._to_tensor(block))
                    if not torch.isfinite(pred).all():
                        # float32 norms overflow past ~1e19: rescale by the rows'
                        # largest entries in float64 and scale back.
                        with np.errstate(invalid="ignore", over="ignore"):
                            peak = np.abs(block).max(axis=1, keepdims=True)
                            peak = np.where(peak > 0, peak, 1.0)
                            scaled = block / peak
                        pred = module(self._to_tensor(scaled)).double()
                        pred *= torch.from_numpy(peak).to(pred.device)
                out[start : start + chunk] = pred.cpu().numpy()
        if not np.isfinite(out).all():
            assert_all_finite(X, input_name="X")
            raise ValueError("The network returned non-finite values for finite X.")
        return out.ravel() if self._y_1d else out

    def _to_tensor(self, block):
        if not block.flags.writeable:  # e.g. a read-only memmap; torch warns
            block = block.astype(np.float32)
        return torch.from_numpy(block).to(device=self.device, dtype=torch.float32)

    def score(self, X, y=None, sample_weight=None):
        """R² of the predicted singular values; ``y=None`` uses the exact ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Test matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            True singular values; computed exactly when None.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        if y is None:
            check_is_fitted(self)
            y = singular_values(X, matrix_shape=self.matrix_shape_)
        return r2_score(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.required = False
        tags.regressor_tags.poor_score = True
        return tags


def paper_regressor(**params):
    """The SV-Learn paper's network: two hidden layers with dropout, L1 loss.

    The paper does not state widths, dropout rate or optimiser settings; these
    defaults (512-wide layers, dropout 0.2, Adam at 1e-3) are ours.

    Parameters
    ----------
    **params : dict
        Overrides of any :class:`SingularValueRegressor` parameter.

    Returns
    -------
    regressor : SingularValueRegressor

    Examples
    --------
    >>> from svlearn import paper_regressor
    >>> paper_regressor(max_iter=5).head
    'raw'
    """
    config = dict(
        head="raw",
        hidden_layer_sizes=(512, 512),
        dropout=0.2,
        loss="l1",
        learning_rate_init=1e-3,
        learning_rate="constant",
    )
    config.update(params)
    return SingularValueRegressor(**config)
