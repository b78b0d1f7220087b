# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Train, predict and time every model on each experiment; write the report."""

import sys
import time
from pathlib import Path

import numpy as np

from .._linalg import singular_values
from .._paper import PAPER_TABLE_I, SVDLIGHT_K
from .._timing import interleaved_times
from ._environment import environment
from ._evaluation import reconstruction_errors, spectrum_errors, torch_svdvals
from ._models import LABELS, NETWORKS, models


def _json_params(estimator):
    """An estimator's parameters as JSON-friendly values."""
    out = {}
    for key, value in estimator.get_params(deep=False).items():
        if isinstance(value, tuple):
            value = list(value)
        if value is None or isinstance(value, (bool, int, float, str, list)):
            out[key] = value
        else:
            out[key] = repr(value)
    return out


def _log(progress, message):
    if progress:
        print(f"[svlearn] {message}", file=sys.stderr, flush=True)


def _progress_bar(items, enabled, desc):
    # A bar redraws its line with carriage returns: only on a terminal, so a
    # log file gets the stage lines alone.
    if not (enabled and sys.stderr.isatty()):
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="step", leave=False, file=sys.stderr)


def _fit_all(estimators, X_train, y_train, exp_key, progress):
    """Fit each estimator on shared targets; one report row per model."""
    rows = []
    for key, (name, est) in estimators.items():
        _log(progress, f"{exp_key}: fitting {name} on {len(X_train)} matrices")
        # One fit, timed once: a fit is far too long to repeat.
        start = time.perf_counter()
        est.fit(X_train, y_train)
        rows.append(
            {"key": key, "name": name, "fit_time_s": time.perf_counter() - start}
        )
        if key in NETWORKS:
            rows[-1].update(
                params=_json_params(est),
                n_iter=int(est.n_iter_),
                final_train_loss=float(est.loss_curve_[-1]),
            )
    return rows


def _time_predictions(estimators, X_test, shape, device, repeats):
    """Best time of each model's predict and of the two exact routes.

    Interleaved rounds (see :func:`svlearn._timing.interleaved_times`) so that
    machine load drifting during the measurement hits every route alike, and
    the speed-ups against exact SVD compare like with like.
    """
    X3_test = X_test.reshape(-1, *shape)
    routes = {
        key: (lambda est=est: est.predict(X_test))
        for key, (_, est) in estimators.items()
    }
    routes["numpy"] = lambda: np.linalg.svd(X3_test, compute_uv=False)
    routes["torch"] = lambda: torch_svdvals(X3_test, device)
    return interleaved_times(routes, repeat=repeats)


def run_experiment(
    exp, *, out_dir, seed=0, device="cpu", verbose=1, repeats=3, progress=True,
    max_iter=None, hidden_layer_sizes=None, batch_size=None,
):  # fmt: skip
    """Train, evaluate and time every model on one experiment; draw its figures.

    Returns the experiment's entry of ``report.json``; writes
    ``predictions.npz`` and the figures into ``out_dir / exp.key``.
    """
    from ._figures import draw_figures

    folder = Path(out_dir) / exp.key
    folder.mkdir(parents=True, exist_ok=True)
    shape = tuple(exp.matrix_shape)
    X_train = np.ascontiguousarray(exp.X_train, dtype=np.float32)
    X_test = np.ascontiguousarray(exp.X_test, dtype=np.float32)

    # Targets once, in float64, shared by every model (so the networks' fit
    # times below exclude the exact SVD of the training set, reported apart).
    start = time.perf_counter()
    y_train = singular_values(X_train, matrix_shape=shape)
    t_targets = time.perf_counter() - start
    y_true = singular_values(X_test, matrix_shape=shape)
    estimators = models(
        matrix_shape=shape, seed=seed, device=device, verbose=verbose,
        max_iter=max_iter, hidden_layer_sizes=hidden_layer_sizes,
        batch_size=batch_size,
    )  # fmt: skip
    rows = _fit_all(estimators, X_train, y_train, exp.key, progress)

    preds = {}
    for row in _progress_bar(rows, progress, f"{exp.key}: evaluating"):
        y = estimators[row["key"]][1].predict(X_test)
        preds[row["key"]] = np.asarray(y, dtype=np.float64)
        row.update(spectrum_errors(y_true, preds[row["key"]]))
    rounds = f"best of {repeats} rounds" if repeats > 1 else "1 round"
    _log(progress, f"{exp.key}: timing predictions and exact SVD ({rounds})")
    times = _time_predictions(estimators, X_test, shape, device, repeats)

    n_test = len(X_test)
    # The exact route's errors are those of the truth against itself.
    exact_errors = spectrum_errors(y_true, y_true)
    for row in rows:
        row["predict_time_s"] = times[row["key"]]
        row["predict_time_per_matrix_s"] = row["predict_time_s"] / n_test
        row["speedup_vs_numpy"] = times["numpy"] / row["predict_time_s"]
        row["speedup_vs_torch"] = times["torch"] / row["predict_time_s"]
    rows.append(
        {
            "key": "exact_svd",
            "name": LABELS["exact_svd"],
            **exact_errors,
            "fit_time_s": 0.0,
            "predict_time_s": times["numpy"],
            "predict_time_per_matrix_s": times["numpy"] / n_test,
            "speedup_vs_numpy": 1.0,
            "speedup_vs_torch": times["torch"] / times["numpy"],
        }
    )  # fmt: skip

    np.savez_compressed(
        folder / "predictions.npz",
        y_true=y_true,
        **{f"y_pred__{key}": y for key, y in preds.items()},
    )
    _log(progress, f"{exp.key}: drawing figures")
    fitted = {key: est for key, (_, est) in estimators.items()}
    figures = draw_figures(
        exp, folder, X_test, y_true, preds, fitted, seed=seed, svdlight_k=SVDLIGHT_K
    )
    recon = reconstruction_errors(
        X_test, y_true, preds, fitted["paper_net"], shape, seed, SVDLIGHT_K
    )
    return {
        "key": exp.key,
        "title": exp.title,
        "protocol": exp.protocol,
        "notes": exp.notes,
        "matrix_shape": list(shape),
        "n_train": len(X_train),
        "n_test": n_test,
        "paper": PAPER_TABLE_I.get(exp.paper),
        "models": rows,
        "timing": {
            "target_svd_time_s": t_targets,
            "numpy_svd_time_s": times["numpy"],
            "torch_svdvals_time_s": times["torch"],
            "repeats": repeats,
            "device": device,
        },
        "reconstruction": recon,
        "figures": {k: str(Path(exp.key) / v) for k, v in figures.items()},
        "predictions": str(Path(exp.key) / "predictions.npz"),
    }


def reproduce(
    experiments, *, out_dir, seed=0, device="cpu", verbose=1, repeats=3,
    progress=True, command=None, dataset=None, **overrides,
):  # fmt: skip
    """Run every experiment and write ``report.md`` and ``report.json``.

    Parameters
    ----------
    experiments : list of Experiment
        From :func:`load_experiments`.
    out_dir : str or path
        Output folder, created if needed.
    seed : int, default=0
        Seeds the networks, the baselines and the figures' random choices.
    device : str, default="cpu"
        Torch device of the networks and of ``torch.linalg.svdvals``.
    verbose : int, default=1
        Passed to the networks (2 adds skorch's progress bar).
    repeats : int, default=3
        Timings are the best of this many interleaved rounds.
    progress : bool, default=True
        Log each stage on stderr, one line each, and show the evaluation
        progress bar when stderr is a terminal.
    command : str, default=None
        The command line, recorded in the report.
    dataset : str, default=None
        The data set as named by the user, recorded in the report.
    **overrides : dict
        ``max_iter``, ``hidden_layer_sizes`` and ``batch_size`` of both
        networks.

    Returns
    -------
    report : dict
        What ``report.json`` holds.
    """
    # Everything the run needs, imported now: a broken install fails here, not
    # after the training.
    from .. import _baselines, _regressor, _svd, plotting  # noqa: F401
    from ._report import write_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = environment()
    start = time.perf_counter()
    results = [
        run_experiment(
            exp, out_dir=out_dir, seed=seed, device=device, verbose=verbose,
            repeats=repeats, progress=progress, **overrides,
        )
        for exp in experiments
    ]  # fmt: skip
    report = {
        "command": command,
        "dataset": dataset,
        "config": {"seed": seed, "device": device, "repeats": repeats, **overrides},
        "environment": env,
        "total_time_s": time.perf_counter() - start,
        "paper_table_i": PAPER_TABLE_I,
        "experiments": results,
    }
    write_report(report, out_dir)
    _log(progress, f"wrote {out_dir / 'report.md'} and {out_dir / 'report.json'}")
    return report
