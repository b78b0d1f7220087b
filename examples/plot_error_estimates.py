"""
======================================
Error estimates and the exact fallback
======================================

Every prediction of :class:`~svlearn.SingularValueRegressor` can come with an
estimate of its own error: ``predict(X, return_error=True)`` returns, per
matrix, a bound on its NMSE that holds with probability ``coverage`` for
matrices like those the model was calibrated on. With ``max_error`` set,
``predict`` recomputes exactly (by LAPACK's SVD) only the matrices whose
estimate exceeds it. This example checks the estimates against the true errors,
on windows of a photo and on matrices of another kind, and measures what the
fallback costs and buys.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Train and calibrate
# -------------------
# ``fit`` holds out ``calibration_fraction`` (default 10 %) of the training
# matrices and calibrates the error estimates on them (split-conformal). At
# the default ``coverage=0.99`` that needs at least 197 held-out matrices:
# the 3,850 windows of ``china.jpg`` at stride 8 give 385.
import numpy as np

from svlearn import SingularValueRegressor, singular_values
from svlearn.datasets import load_sample_windows
from svlearn.metrics import nmse_per_matrix

data = load_sample_windows(strides=(8, 8))
reg = SingularValueRegressor(max_iter=20, random_state=0).fit(data.X_train)
print(
    f"trained on {len(data.X_train) - reg.n_calibration_} windows, "
    f"calibrated on {reg.n_calibration_}, coverage {reg.coverage}"
)

# %%
# Estimated against true error, in distribution
# ---------------------------------------------
# The windows of the other photo (``flower.jpg``) are of the same kind as the
# calibration windows. The estimate should be above the true per-matrix NMSE
# for about 99 % of them; it is a bound, so it is typically larger than the
# error by some factor.
S_test = singular_values(data.X_test)
pred, estimate = reg.predict(data.X_test, return_error=True)
true = nmse_per_matrix(S_test, pred)


def summary(name, true, estimate):
    covered = 100 * np.mean(true <= estimate)
    ratio = np.median(estimate / np.maximum(true, 1e-12))
    print(
        f"{name:<8} mean NMSE {true.mean():.2e}  covered {covered:5.1f} %  "
        f"estimate / true {ratio:.1f} (median)"
    )


summary("flower", true, estimate)

# %%
# Shifted matrices
# ----------------
# Gaussian random matrices are nothing like photo windows: their spectrum is
# flat, so the four values that subspace iteration computes carry little of
# the energy and the rest of the spectrum is much harder to predict. The
# calibration does not promise anything for them, but the diagnostics the
# estimate is built on (how much energy the iteration leaves outside its Ritz
# values, how much the last iteration step still changed) see the shift.
rng = np.random.default_rng(0)
X_gauss = rng.standard_normal((2000, 32 * 32)).astype(np.float32)
pred_gauss, estimate_gauss = reg.predict(X_gauss, return_error=True)
true_gauss = nmse_per_matrix(singular_values(X_gauss), pred_gauss)
summary("Gaussian", true_gauss, estimate_gauss)

# %%
# Points on or above the diagonal are covered: the estimate is at least the
# true error.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 5))
ax.loglog(true, estimate, ".", ms=3, alpha=0.4, label="flower")
ax.loglog(true_gauss, estimate_gauss, ".", ms=3, alpha=0.4, label="Gaussian")
low = min(true.min(), estimate.min())
high = max(true_gauss.max(), estimate_gauss.max())
lims = [low, high]
ax.loglog(lims, lims, "k--", lw=1, label="estimate = true")
ax.set_xlabel("true per-matrix NMSE")
ax.set_ylabel("estimated NMSE (coverage 0.99)")
ax.legend()
ax.set_title("Error estimates against the true errors")
plt.show()

# %%
# The exact fallback: ``max_error``
# ---------------------------------
# ``max_error`` acts at predict time, so ``set_params`` on the fitted model is
# enough. Each matrix whose estimate exceeds it is recomputed exactly (its
# estimate becomes 0); the others keep the network's prediction. A lower
# threshold recomputes more matrices and leaves a smaller error.
thresholds = [1e-2, 1e-3, 3e-4, 1e-4]
S_gauss = singular_values(X_gauss)
cases = [("flower", data.X_test, S_test), ("Gaussian", X_gauss, S_gauss)]
rows = []
print("max_error  data      recomputed  mean NMSE   max NMSE  <= max_error")
for threshold in thresholds:
    reg.set_params(max_error=threshold)
    for name, X, S in cases:
        pred, estimate = reg.predict(X, return_error=True)
        error = nmse_per_matrix(S, pred)
        recomputed = 100 * np.mean(estimate == 0)
        rows.append((threshold, name, recomputed, error))
        print(
            f"{threshold:9.0e}  {name:<8} {recomputed:9.1f} %  "
            f"{error.mean():9.2e}  {error.max():9.2e}  "
            f"{100 * np.mean(error <= threshold):9.1f} %"
        )
reg.max_error = None  # back to no fallback

# %%
# On the photo windows the fallback trades speed for accuracy gradually: most
# windows are easy and stay with the network, and the largest error left falls
# with the threshold. In this run every Gaussian matrix is flagged at every
# threshold above, so all of them are recomputed exactly (their error is 0):
# the model falls back to the exact SVD rather than return errors it cannot
# vouch for.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for name, marker in [("flower", "o"), ("Gaussian", "s")]:
    mine = [r[2] for r in rows if r[1] == name]
    left.semilogx(thresholds, mine, marker=marker, label=name)
flower = [r for r in rows if r[1] == "flower"]
right.loglog(thresholds, [r[3].max() for r in flower], "o-", label="largest")
right.loglog(thresholds, [r[3].mean() for r in flower], "o:", label="mean")
right.loglog(thresholds, thresholds, "k--", lw=1, label="max_error")
left.set_xlabel("max_error")
left.set_ylabel("matrices recomputed exactly (%)")
left.legend()
right.set_xlabel("max_error")
right.set_ylabel("true NMSE after the fallback")
right.set_title("flower.jpg windows", fontsize=10)
right.legend()
fig.tight_layout()
plt.show()
