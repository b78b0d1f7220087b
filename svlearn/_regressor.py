# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""SingularValueRegressor: a scikit-learn regressor that learns singular values."""

import math
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from ._lean import ritz_plan
from ._linalg import frobenius_norms, power_of_two_scaled, singular_values
from ._mlp import (
    _ACTIVATIONS,
    PREDICT_CHUNK,
    SpectrumMLP,
    equivariant_spectra,
    to_tensor,
)
from ._recording import record_prediction_input
from ._validation import (
    NonBoolInterval,
    check_targets,
    flatten_matrices,
    matrix_shape_of,
)
from .metrics import nmse_per_matrix

_LOSSES = {
    "mse": torch.nn.MSELoss,
    "l1": torch.nn.L1Loss,
    "huber": torch.nn.SmoothL1Loss,
}
_POSITIVE_INT = NonBoolInterval(Integral, 1, None, closed="left")
_NON_NEGATIVE_INT = NonBoolInterval(Integral, 0, None, closed="left")
# Floors inside the logs of the error model: NMSE below 1e-12 and features
# below 1e-9 are rounding.
_ERROR_FLOOR = 1e-12
_FEATURE_FLOOR = 1e-9
# Column of the error features holding log(leftover energy fraction), for the
# heads with iteration diagnostics (see _error_features).
_REST_COLUMN = 4
# The smallest error estimate: the NMSE of float32 rounding. A prediction is
# never exact, so max_error=0 recomputes every matrix.
_MIN_ESTIMATE = float(np.finfo(np.float32).eps) ** 2
# Most matrices that predict sends through the float64 numpy forward pass of
# the "ritz" head (svlearn._lean) instead of validation and torch. Measured on
# 32x32 matrices, one thread (benchmarks/bench_small_batch.py; the same two
# routes at 512 and 1024): 59 against 440 us at batch 1, 1.37 against 1.60 ms
# at 256; they break even near 512, and at 1024 torch is ~20% faster. Not pushed
# to the break-even: torch may use more threads on large batches, while
# numpy's small per-matrix products run on one.
LEAN_MAX_BATCH = 256


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
    head : {"ritz", "subspace", "frobenius", "raw"}, default="ritz"
        How the output is formed.

        - "ritz": ``n_iter`` steps of block subspace iteration on
          ``n_components`` vectors (``2 * n_components`` matrix-vector
          products per step and matrix, from a fixed start block) give Ritz
          values; with the mean training tail scaled to the exact leftover
          energy ``||A||_F^2 - sum(ritz**2)`` they form a base spectrum. The
          network never sees the matrix: it maps the normalised Ritz values,
          the leftover energy and the last step's energy gain to a
          multiplicative correction of every value of the base (the Ritz
          values are lower bounds, the tail a mean shape). The corrected
          spectrum is scaled to the exact energy and sorted. The cheapest and
          most accurate head (docs/performance.md).
        - "subspace": the top ``n_components`` singular values are the Ritz
          values of the iteration; the network sees the flattened matrix and
          predicts the shape of the remaining values, which are scaled to the
          exact leftover energy.
        - "frobenius": the network sees ``A / ||A||_F`` and predicts a
          descending spectrum of unit norm, multiplied by ``||A||_F``.
        - "raw": the paper's network: it sees ``A`` (divided by one global
          constant) and outputs the singular values directly; predictions are
          clipped at zero and sorted.
    n_components : int, default=4
        Number of vectors of the subspace iteration ("ritz" and "subspace"
        heads): the Ritz values it gives. Cost grows about linearly with it,
        accuracy fast (docs/performance.md has the frontier).
    n_iter : int, default=1
        Subspace iteration steps ("ritz" and "subspace" heads).
    loss : {"mse", "l1", "huber"}, default="mse"
        Training loss on the (normalised) spectra. With the "ritz",
        "subspace" and "frobenius" heads, "mse" is proportional to the NMSE of
        Eq. 1.
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
    calibration_fraction : float, default=0.1
        Fraction of the training matrices held out of training to calibrate
        the per-matrix error estimates (see :meth:`calibrate`). Nothing is
        held out, and nothing calibrated, when that is 0 or fewer matrices
        than ``coverage`` needs (197 at 0.99).
    coverage : float, default=0.99
        Target probability that a matrix's true NMSE is at most its estimate
        (split-conformal, for matrices like the calibration matrices).
    max_error : float or None, default=None
        If set, :meth:`predict` recomputes exactly (by LAPACK's SVD) every
        matrix whose estimated NMSE exceeds it; those get an estimate of 0.
        Other estimates are never below float32 rounding (``eps**2``, about
        1.4e-14), so ``max_error=0`` recomputes every matrix. Needs a
        calibrated model. It acts at predict time: unlike the other
        parameters, ``set_params(max_error=...)`` on a fitted model takes
        effect at once (it chooses which matrices to recompute, not the
        model).

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
    error_coef_ : ndarray of shape (n_error_features,)
        Log-linear model of the per-matrix NMSE from the diagnostics of the
        prediction (absent when not calibrated).
    error_offset_ : float
        Conformal offset added to the model's log-estimate for ``coverage``.
    n_calibration_ : int
        Matrices the error estimates were calibrated on.

    See Also
    --------
    MeanSpectrumRegressor : Zero-learning baselines.
    paper_regressor : The paper's configuration of this estimator.

    Notes
    -----
    Persist a fitted estimator (or a Pipeline holding it) with
    :func:`svlearn.save` / :func:`svlearn.load` (no pickle: loading executes
    nothing from the file) or with joblib. A net trained on CUDA loads on a
    CPU-only machine and predicts there.

    For the "ritz", "subspace" and "frobenius" heads the predicted spectra are
    non-negative, descending, scale-equivariant at any scale and invariant to
    negation, and their energy equals ``||A||_F**2``, all by construction;
    invariance to transposition is learned.

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

    _parameter_constraints = {
        # Its contents are checked against the data in fit (bespoke messages
        # that name the data's shape).
        "matrix_shape": [tuple, list, None],
        "hidden_layer_sizes": [
            "array-like",
            _POSITIVE_INT,
        ],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "head": [StrOptions({"ritz", "subspace", "frobenius", "raw"})],
        "n_components": [_POSITIVE_INT],
        "n_iter": [_NON_NEGATIVE_INT],
        "loss": [StrOptions(set(_LOSSES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [_POSITIVE_INT],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"onecycle", "constant", "cosine"})],
        "max_iter": [_POSITIVE_INT],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [_POSITIVE_INT],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        # Which strings torch parses is checked in fit (sklearn's constraint
        # types cannot express it).
        "device": [str, torch.device],
        "verbose": [_NON_NEGATIVE_INT],
        "warm_start": ["boolean"],
        "calibration_fraction": [Interval(Real, 0, 1, closed="left")],
        "coverage": [Interval(Real, 0, 1, closed="neither")],
        "max_error": [Interval(Real, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        matrix_shape=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        head="ritz",
        n_components=4,
        n_iter=1,
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
        calibration_fraction=0.1,
        coverage=0.99,
        max_error=None,
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
        self.calibration_fraction = calibration_fraction
        self.coverage = coverage
        self.max_error = max_error

    def _hidden_sizes(self):
        """``hidden_layer_sizes`` as a tuple of positive ints (an int is one layer)."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        # Kept bespoke, as MLPRegressor does: the constraints can say
        # "array-like" but not "of positive ints".
        if not all(
            isinstance(size, Integral) and not isinstance(size, bool) and size > 0
            for size in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must hold positive ints, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return tuple(int(size) for size in sizes)

    def _validate_X(self, X, reset, check_finite=True):
        """Flatten and validate ``X``.

        predict passes ``check_finite=False``: NaN or inf anywhere in a matrix
        makes its norm non-finite, which sends it to the rescaling path that
        names the problem, instead of a full pass over a possibly huge input.
        """
        X, shape3d = flatten_matrices(X)
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=(np.float64, np.float32),
            ensure_all_finite=check_finite,
        )
        return X, shape3d

    def _validate_new_X(self, X, check_finite):
        """Validate matrices for a fitted model (predict, calibrate)."""
        check_is_fitted(self)
        X, shape3d = self._validate_X(X, reset=False, check_finite=check_finite)
        if shape3d is not None and shape3d != self.matrix_shape_:
            raise ValueError(
                f"X holds {shape3d} matrices but the estimator was fitted on "
                f"{self.matrix_shape_} matrices."
            )
        return X

    def _prepare(self, X, y, warm):
        """Validate a fit's data and set the shape attributes.

        Returns ``X`` flat and ``y`` 2-D (computed exactly when None), and
        the per-matrix scales the network trains at.
        """
        X, shape3d = self._validate_X(X, reset=not warm)
        shape = matrix_shape_of(shape3d, self.matrix_shape, X.shape[1])
        if warm and shape != self.matrix_shape_:
            raise ValueError(
                f"X holds {shape} matrices while the fitted network takes "
                f"{self.matrix_shape_} matrices (warm_start or partial_fit)."
            )
        if y is None:
            y = singular_values(X, matrix_shape=shape)
            y_1d = False
        else:
            y, y_1d = check_targets(self, X, y, shape)
        if warm and y_1d != self._y_1d:
            raise ValueError(
                "y must have the same number of dimensions as in the first fit."
            )
        self._y_1d = y_1d
        self.matrix_shape_ = shape
        self.n_outputs_ = min(shape)
        norms = frobenius_norms(X)
        if not warm:
            # The raw head sees inputs and targets divided by one constant (the
            # RMS Frobenius norm), which keeps Adam's step sizes sensible.
            rms = np.sqrt(np.mean(norms**2)) if self.head == "raw" else 1.0
            self.scale_ = float(rms) if 0 < rms < np.inf else 1.0
        if (self.net_.module_.head if warm else self.head) == "raw":
            norms = np.full(X.shape[0], self.scale_)
        return X, y, np.where(norms > 0, norms, 1.0)

    @staticmethod
    def _scaled(X, y, norms):
        """Matrices and targets at the scale the network trains at, float32."""
        scale = norms[:, None]
        return (X / scale).astype(np.float32), (y / scale).astype(np.float32)

    def _min_calibration(self):
        """Fewest calibration matrices for a finite conformal offset."""
        # Half fit the model, the other n2 set the offset: the offset is the
        # ceil((n2 + 1) * coverage)-th smallest residual, which needs n2 >=
        # coverage / (1 - coverage).
        n2 = math.ceil(self.coverage / (1 - self.coverage) - 1e-9)
        return max(20, 2 * n2 - 1)

    def _calibration_split(self, n_samples):
        """Indices to train on and to calibrate on (None: no calibration).

        Too few held-out matrices for ``coverage`` hold none out: the model
        trains on everything and asking for error estimates says why.
        """
        n_cal = math.floor(n_samples * self.calibration_fraction)
        if n_cal < self._min_calibration():
            return np.arange(n_samples), None
        if n_samples - n_cal < 1:
            raise ValueError(
                f"calibration_fraction={self.calibration_fraction} leaves no "
                f"matrix to train on among n_samples={n_samples}."
            )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        order = np.random.default_rng(seed).permutation(n_samples)
        return np.sort(order[n_cal:]), np.sort(order[:n_cal])

    def _train(self, Xs, ys, *, epochs, schedule):
        """Run skorch's training loop on prepared data, seeded and scoped."""
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        fresh = not hasattr(self, "net_")
        if not fresh:
            # Every later call trains at the current learning_rate_init under a
            # fresh schedule sized to its own data, so warm starts work with
            # any schedule and any number of samples; the weights and Adam's
            # moments carry over. A seed per call keeps dropout masks and
            # shuffles from repeating.
            seed = (seed + len(self.net_.history)) % np.iinfo(np.int32).max
            for group in self.net_.optimizer_.param_groups:
                group["lr"] = self.learning_rate_init
        device = self._requested_device() if fresh else self._device()
        fork = [device] if device.type == "cuda" else []
        start = time.perf_counter()
        with torch.random.fork_rng(devices=fork, device_type=device.type):
            torch.manual_seed(seed)
            if fresh:
                self.net_ = self._build_net(seed)
                self.net_.initialize()
                if self.head == "ritz":
                    self.net_.module_.set_template(ys)
            scheduler = self._lr_scheduler(Xs.shape[0], epochs) if schedule else None
            # Assigned, then initialised: skorch's set_params(callbacks=...)
            # initialises the old list before replacing it.
            self.net_.callbacks = self._callbacks(scheduler)
            self.net_.initialize_callbacks()
            self.net_.partial_fit(Xs, ys, epochs=epochs)
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on matrices ``X`` and their singular values ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Training matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            Their singular values: non-negative, in descending order. ``None``
            computes them exactly (self-supervised training).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._hidden_sizes()
        warm = self.warm_start and hasattr(self, "net_")
        if not warm and hasattr(self, "net_"):
            del self.net_
        X, y, norms = self._prepare(X, y, warm)
        train, held_out = self._calibration_split(len(X))
        if self.early_stopping and len(train) * self.validation_fraction < 1:
            raise ValueError(
                f"early_stopping needs at least one validation matrix: "
                f"{len(train)} training matrices (n_samples={len(X)} less the "
                f"calibration matrices) with validation_fraction="
                f"{self.validation_fraction}."
            )
        Xs, ys = self._scaled(X[train], y[train], norms[train])
        self._train(Xs, ys, epochs=self.max_iter, schedule=True)
        self._forget_calibration()
        if held_out is not None:
            self._calibrate(X[held_out], y[held_out])
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, keeping what was learned before.

        The first call builds the network; later calls continue training it,
        as :meth:`sklearn.neural_network.MLPRegressor.partial_fit` does. Use it
        to train from data larger than memory, one chunk per call. Each call
        is one pass over the given matrices at ``learning_rate_init`` (the
        ``learning_rate`` schedule applies to :meth:`fit` only).

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Training matrices.
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            Their singular values; computed exactly when None.

        Returns
        -------
        self : object
            The estimator.
        """
        self._hidden_sizes()
        warm = hasattr(self, "net_")
        X, y, norms = self._prepare(X, y, warm)
        self._train(*self._scaled(X, y, norms), epochs=1, schedule=False)
        # Estimates calibrated before this step no longer describe the model.
        self._forget_calibration()
        return self

    def calibrate(self, X, y=None):
        """Calibrate the per-matrix error estimates on held-out matrices.

        :meth:`fit` calls it on its ``calibration_fraction`` of the data;
        call it yourself after :meth:`partial_fit`, or to recalibrate on
        matrices like those you will predict on. The estimate of a matrix's
        NMSE is a log-linear function of diagnostics that come with its
        prediction (the energy fraction left to the network's tail, the
        energy the last iteration step still added, the predicted tail share
        and any violation of the energy identity), fitted on half of the
        matrices; the other half sets a split-conformal offset so that the
        estimate covers the true NMSE with probability ``coverage`` for
        matrices exchangeable with these.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Held-out matrices, not used in training: at least 197 for the
            default coverage of 0.99 (``2 * ceil(c / (1 - c)) - 1``, and 20).
        y : array-like of shape (n_samples, min(m, n)) or None, default=None
            Their singular values; computed exactly when None.

        Returns
        -------
        self : object
            The estimator, with ``error_coef_`` and ``error_offset_``.
        """
        X = self._validate_new_X(X, check_finite=True)
        if y is None:
            y = singular_values(X, matrix_shape=self.matrix_shape_)
        else:
            y, _ = check_targets(self, X, y, self.matrix_shape_)
        return self._calibrate(X, y)

    def _calibrate(self, X, y):
        if len(X) < self._min_calibration():
            raise ValueError(
                f"Calibrating error estimates at coverage={self.coverage} needs "
                f"at least {self._min_calibration()} held-out matrices, got "
                f"{len(X)}; pass more matrices or lower coverage."
            )
        pred, features = self._predict_all(X, with_features=True)
        log_error = np.log(nmse_per_matrix(y, pred) + _ERROR_FLOOR)
        # Fit on one half, set the conformal offset on the other: the offset
        # is then a valid quantile of residuals the fit has not seen.
        order = np.random.default_rng(0).permutation(len(X))
        fit_rows, conformal_rows = order[: len(X) // 2], order[len(X) // 2 :]
        # With the iteration's diagnostics, the log of the leftover energy
        # fraction r (the energy outside the Ritz values) enters with slope
        # 1: the error of a spectrum whose tail holds a fraction r of the
        # energy scales with r, also on matrices unlike the calibration ones,
        # where a fitted slope would extrapolate too little or too much.
        fixed = np.zeros(features.shape[1])
        if features.shape[1] > _REST_COLUMN:
            fixed[_REST_COLUMN] = 1.0
        free = fixed == 0
        target = log_error - features @ fixed
        coef = fixed.copy()
        coef[free] = np.linalg.lstsq(
            features[fit_rows][:, free], target[fit_rows], rcond=None
        )[0]
        residuals = np.sort(log_error[conformal_rows] - features[conformal_rows] @ coef)
        rank = math.ceil((len(residuals) + 1) * self.coverage)
        offset = residuals[rank - 1]
        self.error_coef_ = coef
        self.error_offset_ = float(offset)
        self.n_calibration_ = len(X)
        return self

    def _forget_calibration(self):
        for name in ("error_coef_", "error_offset_", "n_calibration_"):
            self.__dict__.pop(name, None)

    def _requested_device(self):
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must name a torch device such as 'cpu' or 'cuda', got "
                f"{self.device!r}."
            ) from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but torch finds no CUDA device here."
            )
        return device

    def _device(self):
        """The device of the fitted net's weights, else the requested one."""
        if hasattr(self, "net_") and getattr(self.net_, "initialized_", False):
            return next(self.net_.module_.parameters()).device
        return self._requested_device()

    def _lr_scheduler(self, n_samples, epochs):
        if self.learning_rate == "onecycle":
            n_train = n_samples
            if self.early_stopping:
                n_train -= math.floor(n_samples * self.validation_fraction)
            steps = epochs * (math.ceil(n_train / self.batch_size) + 1)
            return LRScheduler(
                policy=torch.optim.lr_scheduler.OneCycleLR,
                max_lr=self.learning_rate_init,
                total_steps=steps,
                step_every="batch",
                # A fresh cycle each fit, not a continuation of the last one.
                last_epoch=-1,
            )
        if self.learning_rate == "cosine":
            return LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=epochs,
                last_epoch=-1,
            )
        return None

    def _callbacks(self, scheduler):
        """skorch callbacks of one training call (reset by every call)."""
        callbacks = [] if scheduler is None else [("lr_scheduler", scheduler)]
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
        if self.verbose >= 2:
            callbacks.append(ProgressBar())
        return callbacks

    def _build_net(self, seed):
        train_split = (
            ValidSplit(self.validation_fraction, random_state=seed)
            if self.early_stopping
            else None
        )
        return NeuralNetRegressor(
            module=SpectrumMLP,
            module__matrix_shape=self.matrix_shape_,
            module__hidden_layer_sizes=self._hidden_sizes(),
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
            callbacks=self._callbacks(None),
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            device=self.device,
            verbose=self.verbose,
            # Normalised spectra give losses around 1e-5: show significant digits.
            callbacks__print_log__floatfmt=".4g",
        )

    def predict(self, X, return_error=False):
        """Predict the singular values of each matrix.

        Works on any finite input: matrices of any scale (float32 or float64,
        also beyond float32's range) are predicted to float32 rounding, in
        chunks, so a memmap streams through with bounded extra memory. With
        ``max_error`` set, matrices whose estimated NMSE exceeds it are
        recomputed exactly. Small batches (up to 256 matrices) of a "ritz"
        head on the CPU skip torch: the same computation runs in float64
        numpy, without torch's per-call overhead, and agrees with the torch
        path to float32 rounding.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices of the shape seen in :meth:`fit`.
        return_error : bool, default=False
            Also return each matrix's estimated NMSE (paper Eq. 1, per
            matrix), calibrated to cover the true one with probability
            ``coverage`` (see :meth:`calibrate`); 0 for matrices recomputed
            exactly. Like ``return_std`` in scikit-learn's regressors.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, min(m, n))
            Non-negative singular values in descending order, float64. When
            fit got a 1-D ``y`` (1 x n or n x 1 matrices) the output is 1-D.
        error : ndarray of shape (n_samples,)
            Only with ``return_error=True``.
        """
        if not return_error and self.max_error is None:
            lean = self._lean_predict(X)
            if lean is not None:
                return lean
        X = self._validate_new_X(X, check_finite=False)
        record_prediction_input(self, X, self.matrix_shape_)
        estimate = return_error or self.max_error is not None
        if estimate and not hasattr(self, "error_coef_"):
            raise ValueError(
                "Error estimates (return_error=True or max_error) need a "
                "calibrated model: fit with calibration_fraction > 0 holding "
                f"out at least {self._min_calibration()} matrices (for "
                f"coverage={self.coverage}), or call calibrate() after "
                "partial_fit."
            )
        pred, features = self._predict_all(X, with_features=estimate)
        if estimate:
            error = self._error_estimate(features)
            if self.max_error is not None:
                redo = np.flatnonzero(error > self.max_error)
                if len(redo):
                    pred[redo] = singular_values(
                        X[redo], matrix_shape=self.matrix_shape_
                    )
                    error[redo] = 0.0
        pred = pred.ravel() if self._y_1d else pred
        return (pred, error) if return_error else pred

    def _lean_predict(self, X):
        """``predict(X)`` by the numpy forward pass, or None where it does not apply.

        It applies to a small C-contiguous float32 or float64 ndarray of the
        fitted shape (flat or 3-D) and a fitted "ritz" head on the CPU. Those
        are exactly the inputs that ``_validate_new_X`` passes unchanged (a
        view for 3-D), so skipping it skips nothing: the fit (``net_``), the
        number of features, the 3-D shape and the dtype are checked here, an
        estimator fitted with feature names takes the full path (which warns),
        and non-finite values raise in the forward pass as in the full path.
        Anything else returns None, and the full path validates (or raises
        ``NotFittedError``).
        """
        if (
            type(X) is not np.ndarray
            or X.ndim not in (2, 3)
            or not 0 < X.shape[0] <= LEAN_MAX_BATCH
            or (X.dtype != np.float32 and X.dtype != np.float64)
            or not X.flags.c_contiguous
            or not hasattr(self, "net_")
            or hasattr(self, "feature_names_in_")
        ):
            return None
        if X.ndim == 3:
            if X.shape[1:] != tuple(self.matrix_shape_):
                return None
            X = X.reshape(X.shape[0], -1)
        elif X.shape[1] != self.n_features_in_:
            return None
        module = getattr(self.net_, "module_", None)
        plan = None if module is None else ritz_plan(module)
        if plan is None:
            return None
        record_prediction_input(self, X, self.matrix_shape_)
        pred = plan.predict(X)
        return pred.ravel() if self._y_1d else pred

    def _predict_all(self, X, with_features=False):
        """Spectra of validated flat ``X`` in chunks; features if asked."""
        module = self.net_.module_
        if any(layer.training for layer in module.modules()):
            module.train(False)
        device = self._device()
        out = np.empty((X.shape[0], self.n_outputs_), dtype=np.float64)
        features = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], PREDICT_CHUNK):
                block = X[start : start + PREDICT_CHUNK]
                pred, block_features = self._predict_block(
                    module, block, device, with_features
                )
                out[start : start + len(block)] = pred
                features.append(block_features)
        return out, (np.vstack(features) if with_features else None)

    def _error_estimate(self, features):
        log_error = features @ self.error_coef_ + self.error_offset_
        return np.maximum(np.exp(log_error) - _ERROR_FLOOR, _MIN_ESTIMATE)

    def _predict_block(self, module, block, device, with_features):
        """Spectra of one chunk, and its error features if asked."""
        shape = self.matrix_shape_
        if module.head == "raw":
            pred = module(to_tensor(block / self.scale_, device)) * self.scale_
            pred = pred.double().cpu().numpy()
            if not np.isfinite(pred).all():
                assert_all_finite(block, input_name="X")
                raise ValueError(
                    "X holds values too large for the raw head, which computes "
                    "in float32 on X / scale_; use a scale-equivariant head."
                )
            if not with_features:
                return pred, None
            scaled, exponents = power_of_two_scaled(block)
            norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
            unit = np.ldexp(pred, -exponents[:, None]) / _safe(norms)[:, None]
            moment4 = _gram_moment(torch.from_numpy(scaled), shape, norms)
            return pred, _error_features(unit, moment4, None)
        out = equivariant_spectra(module, block, device)
        if not with_features:
            return out.pred, None
        # Features of the rows the module saw (rescaled ones included): they
        # are scale-free.
        with np.errstate(all="ignore"):
            unit = out.x_pred / _safe(out.norms)[:, None]
        moment4 = _gram_moment(out.x, shape, out.norms)
        return out.pred, _error_features(unit, moment4, out.diagnostics)

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
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.required = False
        tags.target_tags.positive_only = True
        # The scale-equivariant heads output a spectrum of the matrix's own
        # energy, so they cannot fit targets that are not its singular values;
        # the raw head is a free regressor.
        tags.regressor_tags.poor_score = self.head != "raw"
        return tags

    # Model files: svlearn.save / svlearn.load (svlearn/_persistence.py) store
    # the module's settings and weights and rebuild the net through this one
    # method; the rest of the fitted state is plain attributes.
    def _net_for_weights(self, module_params):
        """An initialised net as fit builds it, around ``module_params``' module.

        Loss, optimizer, device and the other net settings come from this
        estimator's parameters, the module's settings from ``module_params``
        (the architecture as fitted). The initial weights are drawn under a
        forked torch RNG, leaving the global one alone, and are meant to be
        replaced by ``net.module_.load_state_dict``.
        """
        net = self._build_net(0)
        net.set_params(**{f"module__{k}": v for k, v in module_params.items()})
        with torch.random.fork_rng(devices=[]):
            net.initialize()
        return net


def _safe(values):
    """Zeros replaced by ones, for divisions where 0 / 0 should be 0."""
    return np.where(values > 0, values, 1.0)


def _gram_moment(x, matrix_shape, norms):
    """``||A^T A||_F**2 / ||A||_F**4`` per matrix: the exact ``sum(s**4)``.

    The fourth moment of the normalised spectrum, from the Gram matrix of the
    smaller side (``n**2 m`` multiply-adds per matrix, paid only when error
    estimates are asked for). A wrong spectrum of the right energy usually
    has the wrong fourth moment.
    """
    A = x.reshape(-1, *matrix_shape)
    G = A.mT @ A if matrix_shape[0] >= matrix_shape[1] else A @ A.mT
    G = G.double().cpu().numpy() / _safe(norms**2)[:, None, None]
    return np.einsum("bij,bij->b", G, G)


def _error_features(unit, moment4, diagnostics):
    """Per-matrix features of the error model, from a normalised prediction.

    ``unit`` is the predicted spectrum divided by ``||A||_F``. The log of: the
    predicted tail share ``1 - p_1**2 / sum(p**2)``, the violation of the
    energy identity ``|sum(p**2) - 1|`` (rounding for the scale-equivariant
    heads), the violation of the fourth moment ``|sum(p**4) - sum(s**4)|``
    (exact ``sum(s**4)`` from the Gram matrix), and for the "ritz" and
    "subspace" heads the iteration's diagnostics (the energy left to the
    template or learned tail, the energy the last step added). All exact or
    computed, none learned.
    """
    total = (unit**2).sum(axis=1)
    columns = [
        1 - unit[:, 0] ** 2 / _safe(total),
        np.abs(total - 1),
        np.abs((unit**4).sum(axis=1) - moment4),
    ]
    if diagnostics is not None:
        columns += list(diagnostics.T)
    logs = np.log(np.clip(np.column_stack(columns), 0, None) + _FEATURE_FLOOR)
    return np.column_stack([np.ones(len(unit)), logs])


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
