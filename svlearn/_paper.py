# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Numbers quoted from the SV-Learn paper, in one place.

Used by ``svlearn reproduce`` (to print the paper's figures beside the measured
ones) and by the benchmarks. Values are as reported, not measured here.
"""

# Table I: mean +- standard deviation over the test matrices of the per-matrix
# NMSE (as a fraction; the paper prints percentages) and MAE. The paper reports
# no whole-spectrum metric, so the worst-index relative error and log-spectral
# distance columns of ``svlearn reproduce`` have no paper value.
PAPER_TABLE_I = {
    "cifar10": {"nmse_mean": 0.0159, "nmse_std": 0.0089, "mae_mean": 43.36,
                "mae_std": 11.95},
    "spambase": {"nmse_mean": 0.0404, "nmse_std": 0.0289, "mae_mean": 1.00,
                 "mae_std": 2.14},
}  # fmt: skip

# Rank of the SVD-LIGHT reconstructions of Figure 6.
SVDLIGHT_K = 5
