# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import os

import numpy as np
import pytest
import torch
from hypothesis import settings

# CI runs hypothesis derandomized, so that a commit fails only for what it
# changed; local runs keep drawing new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Tests run on two cores next to other work; one thread keeps timings stable and
# avoids oversubscription when pytest and torch both parallelise.
torch.set_num_threads(1)


# BLAS libraries may round a float64 product differently with another number
# of threads (OpenBLAS 0.3.21, numpy 1.24's, does for 100 x 64 times 64 x 64).
# Tests that compare predictions across processes bit for bit run both sides
# on one BLAS thread: ``with one_blas_thread():`` here, ``ONE_BLAS_THREAD`` in
# the child's environment.
ONE_BLAS_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def one_blas_thread():
    """A context in which numpy's BLAS runs on one thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def pytest_configure(config):
    # Tests that still cover the deprecated head; test_regressor checks the
    # warning itself with pytest.warns, which sees it whatever the filters.
    config.addinivalue_line(
        "filterwarnings", "ignore:head=.frobenius. is deprecated:FutureWarning"
    )


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    torch.manual_seed(0)


def _planted(n, m, k, rng):
    """Random matrices with a shared normalised spectrum and random scales."""
    s = np.linspace(1.0, 0.1, min(m, k)) ** 2
    out = np.empty((n, m, k))
    for i in range(n):
        u, _ = np.linalg.qr(rng.standard_normal((m, m)))
        v, _ = np.linalg.qr(rng.standard_normal((k, k)))
        diag = np.zeros((m, k))
        np.fill_diagonal(diag, s * rng.uniform(0.5, 2.0))
        out[i] = u @ diag @ v.T
    return out


@pytest.fixture(scope="session")
def matrices():
    """300 random 6 x 6 matrices with non-negative entries, flattened, float32."""
    rng = np.random.default_rng(0)
    return rng.random((300, 36)).astype(np.float32)


@pytest.fixture(scope="session")
def planted():
    """Matrices whose normalised spectrum is known: (X 3-D, singular values)."""
    rng = np.random.default_rng(1)
    X = _planted(400, 5, 5, rng)
    return X, np.linalg.svd(X, compute_uv=False)


@pytest.fixture(scope="session")
def fitted(matrices):
    """A small fitted regressor; tests must not refit it."""
    from svlearn import SingularValueRegressor

    return SingularValueRegressor(
        hidden_layer_sizes=(16,), max_iter=3, batch_size=64, random_state=0
    ).fit(matrices)
