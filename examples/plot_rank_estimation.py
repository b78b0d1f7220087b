"""
===============================
Rank estimation from a spectrum
===============================

:func:`~svlearn.estimate_rank` turns spectra into ranks with three criteria:
the energy kept by the best rank-``r`` approximation (``"energy"``), a
tolerance relative to the largest value (``"relative"``, the numerical rank),
and the knee of the error curve (``"elbow"``). Applied to a *predicted*
spectrum, it estimates a matrix's rank without decomposing it.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Planted ranks, exact spectra
# ----------------------------
# Matrices ``A = B C`` with Gaussian ``B`` (32 x r) and ``C`` (r x 32) have
# rank exactly ``r``; a little noise makes the trailing singular values small
# but non-zero. All three criteria find the planted rank from the exact
# spectrum (the energy criterion needs a threshold close to 1, since a rank-r
# matrix's last values carry little energy).
import numpy as np

from svlearn import estimate_rank, singular_values

rng = np.random.RandomState(0)
ranks = rng.randint(1, 17, size=1000)
A = np.stack([rng.randn(32, r) @ rng.randn(r, 32) for r in ranks])
A += 0.01 * rng.randn(*A.shape)
S = singular_values(A)

criteria = [("relative", 0.01), ("energy", 0.999), ("energy", 0.99), ("elbow", None)]
for method, threshold in criteria:
    r = estimate_rank(S, method=method, threshold=threshold)
    share = np.mean(r == ranks)
    print(f"{method}={threshold}: equals the planted rank for {share:.1%}")

# %%
# Image windows, predicted spectra
# --------------------------------
# Natural image windows have full rank with decaying spectra: the question is
# how many values matter. Train on windows of ``china.jpg`` and compare the
# ranks that each criterion reads from the predicted and from the exact
# spectra of windows of ``flower.jpg``.
from svlearn import SingularValueRegressor
from svlearn.datasets import load_sample_windows

data = load_sample_windows(strides=(16, 16))
reg = SingularValueRegressor(max_iter=20, random_state=0).fit(data.X_train)
S_pred = reg.predict(data.X_test)
S_true = singular_values(data.X_test)

criteria = [("energy", 0.9), ("energy", 0.99), ("relative", 0.01), ("elbow", None)]
print(f"{'criterion':<16}{'equal':>8}{'within 1':>10}{'mean rank':>11}")
for method, threshold in criteria:
    r_true = estimate_rank(S_true, method=method, threshold=threshold)
    r_pred = estimate_rank(S_pred, method=method, threshold=threshold)
    print(
        f"{method + '=' + str(threshold):<16}{np.mean(r_pred == r_true):>8.1%}"
        f"{np.mean(np.abs(r_pred - r_true) <= 1):>10.1%}{r_true.mean():>11.2f}"
    )

# %%
# Criteria that depend on the leading values (energy) agree best; a relative
# tolerance of 1 % depends on small values, where the network's relative error
# is largest.
#
# The error curve behind the energy criterion
# -------------------------------------------
# ``sqrt(1 - E(r))`` is the relative Frobenius error of the rank-``r``
# truncated SVD; the energy criterion reads where it drops below
# ``sqrt(1 - threshold)`` (0.1 for 0.99). Exact and predicted curves for three
# test windows:
import matplotlib.pyplot as plt

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
r = np.arange(1, 33)
for i, color in zip([10, 300, 700], ["C0", "C1", "C2"]):
    for s, style in [(S_true[i], "-"), (S_pred[i], "--")]:
        err = np.sqrt(np.clip(1 - np.cumsum(s**2) / np.sum(s**2), 1e-12, None))
        ax1.semilogy(r, err, style, color=color)
ax1.axhline(0.1, color="gray", ls=":")
ax1.set_xlabel("rank r")
ax1.set_ylabel("relative error (solid exact, dashed predicted)")
ax1.set_ylim(1e-3, 1)

r_true = estimate_rank(S_true, method="energy", threshold=0.99)
r_pred = estimate_rank(S_pred, method="energy", threshold=0.99)
top = int(max(r_true.max(), r_pred.max())) + 1
counts = np.zeros((top, top))
np.add.at(counts, (r_true, r_pred), 1)
ax2.imshow(counts, origin="lower", cmap="Blues")
ax2.set_xlabel("rank from predicted spectrum")
ax2.set_ylabel("rank from exact spectrum")
ax2.set_title("energy=0.99", fontsize="medium")
fig.tight_layout()
plt.show()
