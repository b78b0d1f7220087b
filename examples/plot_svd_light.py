"""
==================================================
SVD-LIGHT and reconstruction from predicted values
==================================================

Two ways to use predicted singular values for a rank-``k`` approximation:

* :func:`~svlearn.reconstruct` pairs them with the **exact** singular vectors
  (the paper's Figures 5 and 6);
* :class:`~svlearn.SVDLight` is the paper's Algorithm 1: singular vectors from
  ``k`` sampled rows and columns, values from the network. Its ``method``
  option offers sign-aligned and projected variants beside the faithful one.

Both are compared with the truncated SVD, the best rank-``k`` approximation.
"""

# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# A regressor for 32x32 windows
# -----------------------------
import numpy as np

from svlearn import SingularValueRegressor, singular_values
from svlearn.datasets import load_sample_windows

data = load_sample_windows(strides=(16, 16))
reg = SingularValueRegressor(max_iter=20, random_state=0).fit(data.X_train)
X = data.X_test.astype(np.float64)
S_true, S_pred = singular_values(X), reg.predict(data.X_test)

# %%
# Relative Frobenius error at equal rank
# --------------------------------------
# ``||M - M_k||_F / ||M||_F``, averaged over the test windows. The truncated
# SVD is the optimum (Eckart-Young). ``SVDLight`` gets the fitted regressor and
# is only "fitted" to learn the matrix shape.
from svlearn import SVDLight, reconstruct


def rel_err(M, R):
    return np.mean(np.linalg.norm(M - R, axis=1) / np.linalg.norm(M, axis=1))


ks = [1, 2, 5, 8, 16]
errors = {name: [] for name in ["truncated SVD", "exact vectors + predicted values"]}
errors.update({f"SVD-LIGHT {m}": [] for m in ["faithful", "aligned", "projection"]})
for k in ks:
    errors["truncated SVD"].append(rel_err(X, reconstruct(X, S_true, k=k)))
    errors["exact vectors + predicted values"].append(
        rel_err(X, reconstruct(X, S_pred, k=k))
    )
    for method in ["faithful", "aligned", "projection"]:
        svdl = SVDLight(k=k, regressor=reg, method=method, random_state=0).fit(X)
        errors[f"SVD-LIGHT {method}"].append(rel_err(X, svdl.transform(X)))

print(f"{'method':<34}" + "".join(f"k={k:<6}" for k in ks))
for name, row in errors.items():
    print(f"{name:<34}" + "".join(f"{e:<8.3f}" for e in row))

# %%
# The predicted values with the exact vectors stay close to the optimum: the
# network's error on the values barely matters. SVD-LIGHT loses accuracy in
# the **vectors**: two independent SVDs of sampled rows and columns give
# bases with arbitrary signs and pairing. At ``k = 1`` the faithful variant
# returns about ``-M`` (error near 2), because LAPACK's sign conventions
# differ for one row and one column; ``aligned`` fixes the signs from the
# sampled rows, ``projection`` also fixes pairing and rotation but reads all of
# ``M``.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4))
for name, row in errors.items():
    ax.plot(ks, row, marker="o", label=name)
ax.set_xlabel("rank k")
ax.set_ylabel("mean relative Frobenius error")
ax.set_ylim(0, 1)
ax.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %%
# What the approximations look like
# ---------------------------------
# :class:`~svlearn.plotting.ReconstructionDisplay` shows one window rebuilt at
# several ranks from the predicted values and the exact vectors.
from svlearn.plotting import ReconstructionDisplay

ReconstructionDisplay.from_estimator(reg, data.X_test, ks=(1, 2, 5, 32), sample_index=7)
plt.show()

# %%
# SVD-LIGHT returns the factors too: ``U`` (m x k), the predicted values and
# ``Vt`` (k x n) per matrix.
U, S, Vt = (
    SVDLight(k=5, regressor=reg, method="projection", random_state=0)
    .fit(X)
    .decompose(X[:3])
)
print(U.shape, S.shape, Vt.shape)
