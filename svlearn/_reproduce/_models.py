# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The estimators that ``svlearn reproduce`` compares in Table I."""

# The trained networks; the others are zero-learning baselines.
NETWORKS = ("paper_net", "svlearn_default")
# The label of each compared estimator, in the logs, the report and the docs.
LABELS = {
    "paper_net": "SV-Learn network (paper-faithful)",
    "svlearn_default": "svlearn default (SingularValueRegressor)",
    "mean_spectrum": "mean training spectrum",
    "frobenius_template": "mean normalised spectrum x exact Frobenius norm",
    "power_template": "power-iteration s1 + exact leftover energy x template",
    "random": "random singular values (uniform in [0, max training s1], sorted)",
    "exact_svd": "exact SVD (numpy/LAPACK, float32)",
}
# Short labels of the networks, in the figures and the reconstruction table.
NET_LABELS = {"paper_net": "paper net", "svlearn_default": "svlearn"}


def models(
    *, matrix_shape, seed, device="cpu", verbose=0, max_iter=None,
    hidden_layer_sizes=None, batch_size=None,
):  # fmt: skip
    """The estimators compared in Table I, as ``{key: (name, estimator)}``.

    ``max_iter``, ``hidden_layer_sizes`` and ``batch_size``, when given,
    override both networks' settings.
    """
    from .._baselines import MeanSpectrumRegressor, RandomSpectrumBaseline
    from .._regressor import SingularValueRegressor, paper_regressor

    common = {
        "matrix_shape": matrix_shape,
        "random_state": seed,
        "device": device,
        "verbose": verbose,
    }
    overrides = {
        "max_iter": max_iter,
        "hidden_layer_sizes": hidden_layer_sizes,
        "batch_size": batch_size,
    }
    common.update({k: v for k, v in overrides.items() if v is not None})
    return {
        "paper_net": (LABELS["paper_net"], paper_regressor(**common)),
        "svlearn_default": (
            LABELS["svlearn_default"],
            SingularValueRegressor(**common),
        ),
        "mean_spectrum": (
            LABELS["mean_spectrum"],
            MeanSpectrumRegressor(matrix_shape=matrix_shape, scaling="none"),
        ),
        "frobenius_template": (
            LABELS["frobenius_template"],
            MeanSpectrumRegressor(matrix_shape=matrix_shape, scaling="frobenius"),
        ),
        "power_template": (
            LABELS["power_template"],
            MeanSpectrumRegressor(matrix_shape=matrix_shape, scaling="power"),
        ),
        "random": (
            LABELS["random"],
            RandomSpectrumBaseline(random_state=seed),
        ),
    }
