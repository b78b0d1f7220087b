"""
===========================
The accuracy-speed frontier
===========================

A learned model is useful when it gives spectra faster than an exact
decomposition at an error you can accept. This example times, on the same
float32 32x32 matrices:

* exact singular values, :func:`numpy.linalg.svd` with ``compute_uv=False``;
* the square roots of the eigenvalues of ``A^T A`` (:func:`numpy.linalg.eigvalsh`),
  faster but with the condition number squared;
* svlearn's default model and the paper's network;
* the zero-learning baselines of :class:`~svlearn.MeanSpectrumRegressor`.

Timings depend on the machine and its load: run it on yours. The measured
numbers for the documentation come from ``benchmarks/bench_performance.py``.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Data and models
# ---------------
import numpy as np

from svlearn import (
    MeanSpectrumRegressor,
    SingularValueRegressor,
    paper_regressor,
    singular_values,
)
from svlearn.datasets import load_sample_windows

# Train on a quarter of the windows of one photo, time on all windows of the
# other: larger batches amortise the per-call overhead of every method.
data = load_sample_windows(strides=(8, 8))
X_train, X_test = data.X_train[::4], data.X_test
X = X_test.reshape(-1, 32, 32)
S_true = singular_values(X_test)

models = {
    "svlearn default": SingularValueRegressor(max_iter=10, random_state=0),
    "paper network": paper_regressor(max_iter=20, random_state=0),
    "template x Frobenius norm": MeanSpectrumRegressor(scaling="frobenius"),
    "power iteration + template": MeanSpectrumRegressor(scaling="power"),
}
for model in models.values():
    model.fit(X_train)

# %%
# Timing
# ------
# Each method runs three times on the whole test set; the best time counts.
import time

from svlearn.metrics import nmse


def best_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def eig_values(A):
    w = np.linalg.eigvalsh(np.swapaxes(A, 1, 2) @ A)[:, ::-1]
    return np.sqrt(np.clip(w, 0, None))


methods = {
    "numpy SVD (exact)": lambda: np.linalg.svd(X, compute_uv=False),
    "eigvalsh(A^T A)": lambda: eig_values(X),
}
methods.update({n: (lambda m=m: m.predict(X_test)) for n, m in models.items()})

results = {}
for name, fn in methods.items():
    seconds, S = best_time(fn)
    results[name] = (len(X) / seconds, nmse(S_true, np.asarray(S, dtype=np.float64)))
    speed, err = results[name]
    print(f"{name:<28}{speed:>12,.0f} matrices/s   NMSE {100 * err:.2e} %")

# %%
# The frontier
# ------------
# Right is faster; down is more accurate. The methods on the lower-right
# envelope are the ones worth choosing; every other is beaten on both counts
# by one of them. The exact methods' NMSE is float32 rounding error (drawn at
# a floor of 1e-10 %). On a loaded or small machine, the networks' advantage
# over LAPACK shrinks or vanishes: measure on the hardware you will use.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (speed, err) in results.items():
    ax.scatter(speed, max(100 * err, 1e-10), s=40)
    ax.annotate(
        name,
        (speed, max(100 * err, 1e-10)),
        textcoords="offset points",
        xytext=(5, 4),
        fontsize="small",
    )
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("throughput (matrices / s, higher is faster)")
ax.set_ylabel("NMSE (%)")
fig.tight_layout()
plt.show()
