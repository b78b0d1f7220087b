# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""SingularValueRegressor: a scikit-learn regressor that learns singular values.

The public surface. It validates, then delegates: :mod:`svlearn._training`
builds and trains the skorch net, :mod:`svlearn._route` runs the fitted
module's predict in chunks, :mod:`svlearn._trust` calibrates and applies the
error estimates, intervals and ``max_error``'s tiers, and
:class:`~svlearn._base.BaseSpectrumRegressor` holds the input contract,
``score`` and the tags shared with :class:`MeanSpectrumRegressor`.
"""

import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from . import _calibration, _training, _trust
from ._base import BaseSpectrumRegressor
from ._linalg import frobenius_norms, singular_values
from ._numerics import ACTIVATIONS, safe_divisor
from ._recording import record_prediction_input
from ._route import predict_spectra
from ._validation import NON_NEGATIVE_INT, POSITIVE_INT, check_targets


class SingularValueRegressor(BaseSpectrumRegressor):
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
    head : {"ritz", "ends", "subspace", "frobenius", "raw"}, default="ritz"
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
          most accurate head (:ref:`performance`).
        - "ends": the whole spectrum, at both ends and in between. The top
          as for "ritz"; the bottom ``n_components`` values by three steps of
          inverse subspace iteration with a shifted float64 Cholesky factor
          of ``A^T A``, which also gives the exact ``log|det|`` (with the
          shift) and ``sum(sigma**4)``; the network corrects the logarithms
          of the top and middle values from those quantities, the middle is
          shifted to the exact log-determinant, and the spectrum is scaled to
          the exact energy. Values below about ``1e-7 ||A||_F`` come out as
          rounding, so rank-deficient matrices show as such. Train it with
          ``loss="log"``, which counts every value. Costs several times
          "ritz" (the factorisation runs one matrix at a time);
          ``dropout`` does not apply.
        - "subspace": the top ``n_components`` singular values are the Ritz
          values of the iteration; the network sees the flattened matrix and
          predicts the shape of the remaining values, which are scaled to the
          exact leftover energy.
        - "frobenius": the network sees ``A / ||A||_F`` and predicts a
          descending spectrum of unit norm, multiplied by ``||A||_F``.

          .. deprecated:: 0.1
             ``head="frobenius"`` will be removed in 0.3.
        - "raw": the paper's network: it sees ``A`` (divided by one global
          constant) and outputs the singular values directly; predictions are
          clipped at zero and sorted.
    n_components : int, default=4
        Number of vectors of the subspace iteration ("ritz", "ends" and
        "subspace" heads; "ends" uses as many again at the bottom): the Ritz
        values it gives. Cost grows about linearly with it,
        accuracy fast (:ref:`choosing` has measured settings).
    n_iter : int, default=1
        Subspace iteration steps ("ritz", "ends" and "subspace" heads).
    loss : {"mse", "l1", "huber", "log"}, default="mse"
        Training loss on the (normalised) spectra. With the "ritz",
        "subspace" and "frobenius" heads, "mse" is proportional to the NMSE of
        Eq. 1. "log" adds the mean squared log-ratio of every value (floored
        at ``1e-6 sigma_1``) to 1e4 times the squared error, so that small
        values count as much as large ones.
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
        If set, :meth:`predict` replaces every matrix whose estimated NMSE
        exceeds it, in tiers: first by a more accurate cheap route (block
        subspace iteration with 8 vectors and one step, clamped into its
        certified bounds, with its own calibrated estimate, raised to its
        NMSE to the first spectrum where they disagree), then, where that
        estimate still exceeds it, by LAPACK's exact SVD (estimate 0).
        Estimates are never below float32 rounding (``eps**2``, about
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
    error_feature_range_ : ndarray of shape (2, n_error_features)
        Range of each error feature on the calibration matrices. A matrix
        with a feature outside it is unlike them: its estimate is the most
        its certified bounds allow.
    interval_multipliers_ : ndarray of shape (min(m, n),)
        Split-conformal half-widths of :meth:`predict_interval`'s calibrated
        intervals, per value, in units of the certified widths.
    refine_template_ : ndarray of shape (min(m, n) - min(8, m, n),)
        Tail shape of ``max_error``'s refinement tier (the mean tail of the
        calibration spectra after their first 8 values).
    refine_error_coef_ : ndarray of shape (n_refine_features,)
        Log-linear error model of the refinement tier.
    refine_error_offset_ : float
        Its conformal offset for ``coverage``.
    refine_feature_range_ : ndarray of shape (2, n_refine_features)
        Range of its features on the calibration matrices.
    refine_route_ : tuple of two ints
        Vectors and steps of the refinement tier's iteration, as calibrated.
    log_det_range_ : ndarray of shape (2,)
        Central ``coverage`` of the calibration matrices' log-determinant
        gap (mean log ratio of predicted to true singular values, from the
        exact ``log|det A|``). A matrix outside it is unlike them: its
        estimate is the most its certified bounds allow.

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
            POSITIVE_INT,
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "head": [StrOptions({"ritz", "ends", "subspace", "frobenius", "raw"})],
        "n_components": [POSITIVE_INT],
        "n_iter": [NON_NEGATIVE_INT],
        "loss": [StrOptions(set(_training.LOSSES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [POSITIVE_INT],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions(set(_training.SCHEDULES))],
        "max_iter": [POSITIVE_INT],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [POSITIVE_INT],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        # Which strings torch parses is checked in fit (sklearn's constraint
        # types cannot express it).
        "device": [str, torch.device],
        "verbose": [NON_NEGATIVE_INT],
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

    # -- fitting ---------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on matrices ``X`` and their singular values ``y``.

        Everything is validated before the model changes; a fit that raises
        leaves a fitted model exactly as it was.

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
        self._warn_deprecated_head()
        warm = self.warm_start and hasattr(self, "net_")
        with self._fitting(keep=("net_",) if warm else ()):
            data = self._prepare(X, y, warm)
            train, held_out = self._calibration_split(len(data.X))
            if self.early_stopping and len(train) * self.validation_fraction < 1:
                raise ValueError(
                    f"early_stopping needs at least one validation matrix: "
                    f"{len(train)} training matrices (n_samples={len(data.X)} less "
                    f"the calibration matrices) with validation_fraction="
                    f"{self.validation_fraction}."
                )
            self._train(data, train, epochs=self.max_iter, schedule=True, warm=warm)
            if held_out is not None:
                self._calibrate(data.X[held_out], data.y[held_out])
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, keeping what was learned before.

        The first call builds the network; later calls continue training it,
        as :meth:`sklearn.neural_network.MLPRegressor.partial_fit` does. Use it
        to train from data larger than memory, one chunk per call. Each call
        is one pass over the given matrices at ``learning_rate_init`` (the
        ``learning_rate`` schedule applies to :meth:`fit` only). A call that
        raises leaves the model as it was.

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
        self._warn_deprecated_head()
        warm = hasattr(self, "net_")
        with self._fitting(keep=("net_",)):
            data = self._prepare(X, y, warm)
            rows = np.arange(len(data.X))
            self._train(data, rows, epochs=1, schedule=False, warm=warm)
        return self

    def _prepare(self, X, y, warm):
        """Validate a fit's data; nothing of the model changes but its checks.

        Returns the flat matrices, 2-D targets, matrix shape, the per-matrix
        scales the network trains at and the raw head's global scale.
        """
        _training.hidden_sizes(self.hidden_layer_sizes)
        device = self._device() if warm else self._requested_device()
        X, y, shape, y_1d = self._validate_fit_data(
            X, y, reset=not warm, shape=self.matrix_shape_ if warm else None
        )
        if warm and y_1d != self._y_1d:
            raise ValueError(
                "y must have the same number of dimensions as in the first fit."
            )
        norms = frobenius_norms(X)
        head = self.net_.module_.head if warm else self.head
        if warm:
            scale = self.scale_
        else:
            # The raw head sees inputs and targets divided by one constant (the
            # RMS Frobenius norm), which keeps Adam's step sizes sensible.
            rms = np.sqrt(np.mean(norms**2)) if head == "raw" else 1.0
            scale = float(rms) if 0 < rms < np.inf else 1.0
        if head == "raw":
            norms = np.full(X.shape[0], scale)
        return _FitData(X, y, shape, y_1d, safe_divisor(norms), scale, device)

    def _train(self, data, rows, *, epochs, schedule, warm):
        """Train on ``data``'s ``rows``; set the fitted attributes on success."""
        scale = data.norms[rows, None]
        Xs = (data.X[rows] / scale).astype(np.float32)
        ys = (data.y[rows] / scale).astype(np.float32)
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        net, record = _training.train(
            self,
            self.net_ if warm else None,
            Xs,
            ys,
            matrix_shape=data.shape,
            device=data.device,
            seed=seed,
            epochs=epochs,
            schedule=schedule,
        )
        self.net_ = net
        self.matrix_shape_ = data.shape
        self.n_outputs_ = min(data.shape)
        self._y_1d = data.y_1d
        self.scale_ = data.scale
        vars(self).update(vars(record))
        # Estimates calibrated before this step no longer describe the model.
        self._forget_calibration()

    def _warn_deprecated_head(self):
        if self.head == "frobenius":
            # stacklevel: the user's call, past fit and sklearn's _fit_context.
            warnings.warn(
                'head="frobenius" is deprecated in 0.1 and will be removed in '
                "0.3: it is the most accurate head on none of the benchmark "
                'datasets. Use head="ritz" (the default) or "subspace".',
                FutureWarning,
                stacklevel=4,
            )

    def _calibration_split(self, n_samples):
        """Indices to train on and to calibrate on (None: no calibration).

        Too few held-out matrices for ``coverage`` hold none out: the model
        trains on everything, with a warning that says how many it needs.
        """
        n_cal = int(n_samples * self.calibration_fraction)
        needed = _calibration.min_calibration(self.coverage)
        if n_cal < needed:
            if self.calibration_fraction > 0:
                warnings.warn(
                    f"calibration_fraction={self.calibration_fraction} of "
                    f"{n_samples} matrices holds out {n_cal}, fewer than the "
                    f"{needed} that error estimates at coverage={self.coverage} "
                    f"need (at least {_min_samples(needed, self.calibration_fraction)}"
                    " matrices at this fraction). The model trains on all of "
                    "them and is not calibrated: return_error and max_error "
                    "will raise until calibrate() is called on held-out "
                    "matrices. Set calibration_fraction=0 to silence this.",
                    UserWarning,
                    stacklevel=4,
                )
            return np.arange(n_samples), None
        if n_samples - n_cal < 1:
            raise ValueError(
                f"calibration_fraction={self.calibration_fraction} leaves no "
                f"matrix to train on among n_samples={n_samples}."
            )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        order = np.random.default_rng(seed).permutation(n_samples)
        return np.sort(order[n_cal:]), np.sort(order[:n_cal])

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

    # -- error estimates -------------------------------------------------------
    def calibrate(self, X, y=None):
        """Calibrate the per-matrix error estimates on held-out matrices.

        :meth:`fit` calls it on its ``calibration_fraction`` of the data;
        call it yourself after :meth:`partial_fit`, or to recalibrate on
        matrices like those you will predict on. The estimate of a matrix's
        NMSE is a log-linear function of diagnostics that come with its
        prediction (the energy fraction left to the network's tail, the
        energy the last iteration step still added, the predicted tail share,
        and any violation of the energy identity or of the exact fourth
        moment), fitted on half of the matrices; the other half sets a
        split-conformal offset so that the estimate covers the true NMSE
        with probability ``coverage`` for matrices exchangeable with these.
        The estimate never sits below what the certified bounds prove nor
        above what they allow, and a matrix whose diagnostics lie outside
        their range on these matrices, or whose predicted spectrum misses
        the exact ``log|det A|`` by more than the central ``coverage`` of
        these matrices do, gets the most the bounds allow. The same
        matrices calibrate the per-value intervals of :meth:`predict_interval`
        and the estimate of ``max_error``'s refinement tier.

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
            The estimator, with its error model (``error_coef_``,
            ``error_offset_``, ``error_feature_range_``), its intervals
            (``interval_multipliers_``) and the refinement tier's
            (``refine_template_``, ``refine_error_coef_``,
            ``refine_error_offset_``, ``refine_feature_range_``) and the
            log-determinant check's (``log_det_range_``).
        """
        X = self._validate_new_X(X, check_finite=True)
        if y is None:
            y = singular_values(X, matrix_shape=self.matrix_shape_)
        else:
            y, _ = check_targets(self, X, y, self.matrix_shape_)
        return self._calibrate(X, y)

    def _calibrate(self, X, y):
        vars(self).update(_trust.calibration(self, X, y))
        return self

    def _forget_calibration(self):
        for name in _trust.CALIBRATED:
            self.__dict__.pop(name, None)

    # -- predicting ------------------------------------------------------------
    def predict(self, X, return_error=False):
        """Predict the singular values of each matrix.

        Works on any finite input: matrices of any scale (float32 or float64,
        also beyond float32's range) are predicted to float32 rounding, in
        chunks, so a memmap streams through with bounded extra memory. With
        ``max_error`` set, matrices whose estimated NMSE exceeds it are
        refined, and those still above it recomputed exactly. Each prediction
        lies inside its certified interval (see :meth:`predict_interval`), so
        a matrix of rank at most ``n_components`` comes out exact. The route
        depends on the device only, never on the batch: on the CPU the "ritz"
        and "ends" heads run their numpy forms, everything else the torch
        module, and a matrix gets the same answer in every batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices of the shape seen in :meth:`fit`.
        return_error : bool, default=False
            Also return each matrix's estimated NMSE (paper Eq. 1, per
            matrix), calibrated to cover the true one with probability
            ``coverage`` (see :meth:`calibrate`) and kept within what the
            certified bounds prove and allow; 0 for matrices recomputed
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
                f"out at least {_calibration.min_calibration(self.coverage)} "
                f"matrices (for coverage={self.coverage}), or call calibrate() "
                "after partial_fit."
            )
        if not estimate:
            return self._output(self._predict_all(X).pred)
        guarded = _trust.guarded(self, X)
        pred = self._output(guarded.pred)
        return (pred, guarded.error) if return_error else pred

    def predict_interval(self, X, certified=False):
        """Bound each singular value of each matrix by an interval.

        ``certified=True`` gives bounds that hold for every input, up to
        floating-point rounding (from the Ritz values and the leftover energy
        of the iteration the prediction ran: see Notes). ``certified=False``
        gives split-conformal intervals per value, calibrated by
        :meth:`calibrate` on held-out matrices so that each covers the true
        value with probability ``coverage`` for matrices exchangeable with
        them, and intersected with the certified ones: they are never wider,
        and still hold where the calibration does not (for instance an exact
        point for a matrix of rank at most ``n_components``).

        Parameters
        ----------
        X : array-like of shape (n_samples, m * n) or (n_samples, m, n)
            Matrices of the shape seen in :meth:`fit`.
        certified : bool, default=False
            Return the certified bounds instead of the calibrated intervals.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples, min(m, n))
            Descending in their certified form; of :meth:`predict`'s shape
            (1-D when fit got a 1-D ``y``). ``max_error`` does not change
            them: they describe the model's prediction route.

        Notes
        -----
        With ``k = n_components`` Ritz values ``theta`` and leftover energy
        ``r = ||A||_F**2 - sum(theta**2)``, ``theta_i <= sigma_i <=
        sqrt(theta_i**2 + r)`` for ``i <= k`` and ``sigma_i <= sqrt(r / (i -
        k))`` after; the "raw" head, which does not iterate, gets ``0 <=
        sigma_i <= ||A||_F / sqrt(i)``.

        Intervals of quantities derived from a spectrum follow, with ``[l_i,
        u_i]`` the interval of ``sigma_i``:

        - largest value ``sigma_1``: ``[l_1, u_1]``; smallest ``sigma_n``:
          ``[l_n, u_n]``;
        - condition number ``sigma_1 / sigma_n``: ``[l_1 / u_n, u_1 / l_n]``
          (unbounded above when ``l_n = 0``);
        - nuclear norm ``sum(sigma)``: ``[sum(l), sum(u)]``;
        - rank at tolerance ``tol``: at least ``sum(l > tol)`` and at most
          ``sum(u > tol)``.

        For certified bounds they hold for every matrix. A calibrated
        interval covers its value with probability ``coverage``, so one
        derived from ``j`` values holds with probability at least ``1 - j
        (1 - coverage)`` (a union bound): useful for ``sigma_1`` and the
        condition number, weak for the nuclear norm and the rank, where the
        certified form is the one to use.

        Examples
        --------
        >>> import numpy as np
        >>> from svlearn import SingularValueRegressor
        >>> X = np.random.default_rng(0).random((400, 16))  # 4 x 4 matrices
        >>> reg = SingularValueRegressor(hidden_layer_sizes=(16,), max_iter=2,
        ...                              calibration_fraction=0.5,
        ...                              random_state=0).fit(X)
        >>> lower, upper = reg.predict_interval(X[:3], certified=True)
        >>> S = np.linalg.svd(X[:3].reshape(-1, 4, 4), compute_uv=False)
        >>> bool(((lower <= S) & (S <= upper)).all())
        True
        >>> low, high = reg.predict_interval(X[:3])
        >>> bool(((lower <= low) & (high <= upper)).all())
        True
        """
        if not isinstance(certified, (bool, np.bool_)):
            raise TypeError(f"certified must be a bool, got {certified!r}.")
        X = self._validate_new_X(X, check_finite=False)
        if not certified and not hasattr(self, "interval_multipliers_"):
            raise ValueError(
                "Calibrated intervals (predict_interval with certified=False) "
                "need a calibrated model: fit with calibration_fraction > 0 "
                f"holding out at least {_calibration.min_calibration(self.coverage)}"
                f" matrices (for coverage={self.coverage}), or call calibrate(); "
                "certified=True needs no calibration."
            )
        out = self._predict_all(X)
        lower, upper, _ = _trust.certified(X, out, self.n_outputs_)
        if not certified:
            lower, upper = _calibration.conformal_intervals(
                out.pred, lower, upper, self.interval_multipliers_
            )
        return self._output(lower), self._output(upper)

    def _lean_predict(self, X):
        """``predict(X)`` without validation, or None where that does not apply.

        It applies to a C-contiguous float32 or float64 ndarray of the fitted
        shape (flat or 3-D). Those are exactly the inputs that
        ``_validate_new_X`` passes unchanged (a view for 3-D), so skipping it
        skips nothing: the fit (``net_``), the number of features, the 3-D
        shape and the dtype are checked here, an estimator fitted with
        feature names takes the full path (which warns), and non-finite values
        raise in every route as in the full path. Anything else returns None,
        and the full path validates (or raises ``NotFittedError``). The
        numbers are those of the full path: only validation is skipped, which
        on a few matrices costs more than predicting them.
        """
        if (
            type(X) is not np.ndarray
            or X.ndim not in (2, 3)
            or X.shape[0] == 0
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
        if getattr(self.net_, "module_", None) is None:
            return None
        record_prediction_input(self, X, self.matrix_shape_)
        return self._output(self._predict_all(X).pred)

    def _predict_all(self, X, with_features=False):
        """:func:`svlearn._route.predict_spectra` of validated flat ``X``."""
        return predict_spectra(
            self.net_.module_,
            X,
            matrix_shape=self.matrix_shape_,
            n_values=self.n_outputs_,
            scale=self.scale_,
            with_features=with_features,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The scale-equivariant heads output a spectrum of the matrix's own
        # energy, so they cannot fit targets that are not its singular values;
        # the raw head is a free regressor.
        tags.regressor_tags.poor_score = self.head != "raw"
        return tags

    # Model files: svlearn.save / svlearn.load store the module's settings and
    # weights (svlearn/_regressor_format.py rebuilds the net through
    # svlearn._training.net_for_weights); the rest of the fitted state is
    # plain attributes.


class _FitData:
    """A fit's validated data, held until training succeeds."""

    def __init__(self, X, y, shape, y_1d, norms, scale, device):
        self.X, self.y, self.shape, self.y_1d = X, y, shape, y_1d
        self.norms, self.scale, self.device = norms, scale, device


def _min_samples(needed, fraction):
    """Fewest matrices whose ``fraction`` holds out ``needed``."""
    n = int(np.ceil(needed / fraction))
    while int(n * fraction) < needed:
        n += 1
    return n


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
        An unfitted regressor with the paper's settings and ``params``.

    See Also
    --------
    SingularValueRegressor : The estimator it configures, svlearn's default.

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
