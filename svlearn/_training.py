# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Build, train and schedule the network: the only module that imports skorch.

:func:`build_net` turns a :class:`~svlearn.SingularValueRegressor`'s
parameters into an uninitialised skorch ``NeuralNetRegressor`` around
:class:`~svlearn._mlp.SpectrumMLP`; :func:`train` runs skorch's loop on
prepared (normalised, float32) data, seeded and scoped so that the user's
global torch RNG is left alone, with a fresh learning-rate schedule and fresh
callbacks for every call.
"""

import math
import time
from numbers import Integral

import numpy as np
import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from ._ends import LogSpectrumLoss
from ._mlp import SpectrumMLP

__all__ = [
    "LOSSES",
    "SCHEDULES",
    "TrainingRecord",
    "build_net",
    "hidden_sizes",
    "module_params",
    "net_for_weights",
    "train",
]

LOSSES = {
    "mse": torch.nn.MSELoss,
    "l1": torch.nn.L1Loss,
    "huber": torch.nn.SmoothL1Loss,
    "log": LogSpectrumLoss,
}
SCHEDULES = ("onecycle", "constant", "cosine")


def hidden_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a tuple of positive ints (an int is one layer).

    Kept bespoke, as MLPRegressor does: sklearn's constraints can say
    "array-like" but not "of positive ints".

    Examples
    --------
    >>> hidden_sizes(8), hidden_sizes([16, 4]), hidden_sizes(())
    ((8,), (16, 4), ())
    """
    sizes = hidden_layer_sizes
    if isinstance(sizes, Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if not all(
        isinstance(size, Integral) and not isinstance(size, bool) and size > 0
        for size in sizes
    ):
        raise ValueError(
            f"hidden_layer_sizes must hold positive ints, got {hidden_layer_sizes!r}."
        )
    return tuple(int(size) for size in sizes)


def module_params(est, matrix_shape):
    """The ``SpectrumMLP`` arguments of an estimator's parameters."""
    return dict(
        matrix_shape=tuple(matrix_shape),
        hidden_layer_sizes=hidden_sizes(est.hidden_layer_sizes),
        activation=est.activation,
        dropout=est.dropout,
        head=est.head,
        n_components=est.n_components,
        n_iter=est.n_iter,
    )


def build_net(est, matrix_shape, seed, device=None):
    """An uninitialised skorch net for the estimator's parameters.

    Parameters
    ----------
    est : SingularValueRegressor
        Its parameters set the module, loss, optimiser and loop.
    matrix_shape : tuple of two ints
        The matrices the module takes.
    seed : int
        Seeds the validation split and the loader's shuffling.
    device : str or torch.device, default=None
        Defaults to ``est.device``.

    Returns
    -------
    net : skorch.NeuralNetRegressor
    """
    train_split = (
        ValidSplit(est.validation_fraction, random_state=seed)
        if est.early_stopping
        else None
    )
    return NeuralNetRegressor(
        module=SpectrumMLP,
        **{f"module__{k}": v for k, v in module_params(est, matrix_shape).items()},
        criterion=LOSSES[est.loss],
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=est.alpha,
        lr=est.learning_rate_init,
        max_epochs=est.max_iter,
        batch_size=est.batch_size,
        train_split=train_split,
        callbacks=_callbacks(est, None),
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(seed),
        device=est.device if device is None else device,
        verbose=est.verbose,
        # Normalised spectra give losses around 1e-5: show significant digits.
        callbacks__print_log__floatfmt=".4g",
    )


def net_for_weights(est, matrix_shape, module_params):
    """An initialised net as fit builds it, around ``module_params``' module.

    Loss, optimizer, device and the other net settings come from the
    estimator's parameters, the module's settings from ``module_params`` (the
    architecture as fitted, which ``set_params`` may since have changed). The
    initial weights are drawn under a forked torch RNG, leaving the global one
    alone, and are meant to be replaced by ``net.module_.load_state_dict``.

    Parameters
    ----------
    est : SingularValueRegressor
    matrix_shape : tuple of two ints
    module_params : dict
        ``SpectrumMLP`` arguments (without the ``module__`` prefix).

    Returns
    -------
    net : skorch.NeuralNetRegressor
    """
    net = build_net(est, matrix_shape, 0)
    net.set_params(**{f"module__{k}": v for k, v in module_params.items()})
    with torch.random.fork_rng(devices=[]):
        net.initialize()
    return net


def restore_history(net, est):
    """Rebuild ``net``'s skorch history from ``est``'s training record.

    A model file keeps the record (``loss_curve_``, ``validation_scores_``)
    but not skorch's history; with the history rebuilt, training a loaded
    model continues the count of epochs (``n_iter_``, ``loss_curve_``) and
    the per-call seeds of :func:`train` as training the saved one would.
    """
    valid = getattr(est, "validation_scores_", None)
    for epoch, loss in enumerate(getattr(est, "loss_curve_", ()), start=1):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        net.history.record("train_loss", float(loss))
        if valid is not None and epoch <= len(valid):
            net.history.record("valid_loss", float(valid[epoch - 1]))


class TrainingRecord:
    """What one training call leaves on the estimator (MLPRegressor's names)."""

    def __init__(self, net, fit_time, early_stopping):
        history = net.history
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        self.validation_scores_ = (
            [float(v) for v in history[:, "valid_loss"]] if early_stopping else None
        )
        self.best_loss_ = min(self.validation_scores_ or self.loss_curve_)
        self.n_iter_ = len(history)
        self.fit_time_ = fit_time


def train(est, net, Xs, ys, *, matrix_shape, device, seed, epochs, schedule):
    """Train a new or fitted net on prepared data; return it and its record.

    Parameters
    ----------
    est : SingularValueRegressor
        Its parameters set the schedule, callbacks and learning rate.
    net : skorch.NeuralNetRegressor or None
        A fitted net to continue training (in place), or None for a new one.
    Xs, ys : ndarray of float32
        Matrices and targets at the scale the network trains at.
    matrix_shape : tuple of two ints
    device : torch.device
    seed : int
    epochs : int
    schedule : bool
        Whether ``est.learning_rate``'s schedule applies (``fit``; not
        ``partial_fit``).

    Returns
    -------
    net : skorch.NeuralNetRegressor
    record : TrainingRecord
    """
    if net is not None:
        # Every later call trains at the current learning_rate_init under a
        # fresh schedule sized to its own data, so warm starts work with any
        # schedule and any number of samples; the weights and Adam's moments
        # carry over. A seed per call keeps dropout masks and shuffles from
        # repeating.
        seed = (seed + len(net.history)) % np.iinfo(np.int32).max
        for group in net.optimizer_.param_groups:
            group["lr"] = est.learning_rate_init
    fork = [device] if device.type == "cuda" else []
    start = time.perf_counter()
    with torch.random.fork_rng(devices=fork, device_type=device.type):
        torch.manual_seed(seed)
        if net is None:
            net = build_net(est, matrix_shape, seed)
            net.initialize()
            if est.head == "ritz":
                net.module_.set_template(ys)
        scheduler = _lr_scheduler(est, Xs.shape[0], epochs) if schedule else None
        # Assigned, then initialised: skorch's set_params(callbacks=...)
        # initialises the old list before replacing it.
        net.callbacks = _callbacks(est, scheduler)
        net.initialize_callbacks()
        net.partial_fit(Xs, ys, epochs=epochs)
    return net, TrainingRecord(net, time.perf_counter() - start, est.early_stopping)


def _lr_scheduler(est, n_samples, epochs):
    if est.learning_rate == "onecycle":
        n_train = n_samples
        if est.early_stopping:
            n_train -= math.floor(n_samples * est.validation_fraction)
        steps = epochs * (math.ceil(n_train / est.batch_size) + 1)
        return LRScheduler(
            policy=torch.optim.lr_scheduler.OneCycleLR,
            max_lr=est.learning_rate_init,
            total_steps=steps,
            step_every="batch",
            # A fresh cycle each fit, not a continuation of the last one.
            last_epoch=-1,
        )
    if est.learning_rate == "cosine":
        return LRScheduler(
            policy=torch.optim.lr_scheduler.CosineAnnealingLR,
            T_max=epochs,
            last_epoch=-1,
        )
    return None


def _callbacks(est, scheduler):
    """skorch callbacks of one training call (reset by every call)."""
    callbacks = [] if scheduler is None else [("lr_scheduler", scheduler)]
    if est.early_stopping:
        callbacks.append(
            EarlyStopping(
                monitor="valid_loss",
                patience=est.n_iter_no_change,
                threshold=est.tol,
                threshold_mode="rel",
                load_best=True,
            )
        )
    if est.verbose >= 2:
        callbacks.append(ProgressBar())
    return callbacks
