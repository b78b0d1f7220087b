# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pretrained models shipped with the package, and the synthetic matrix families.

The files in ``svlearn/_pretrained_files/`` are fitted, calibrated
:class:`~svlearn.SingularValueRegressor` models in the :func:`svlearn.save`
format (safetensors and JSON: loading runs no code from them), one per square
shape, each beside a JSON manifest that says what it was trained on, with
which seeds, commit and library versions, the file's SHA-256 digest and its
measured accuracy per family. ``benchmarks/build_pretrained.py`` rebuilds
them.

:func:`synthetic_matrices` generates the synthetic families of the training
mixture (and of the tests and the benchmark, from other seeds); the
real-data parts of the mixture are read by the build script.
"""

import json
import warnings
from importlib import resources
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "FAMILIES",
    "SHAPES",
    "pretrained",
    "pretrained_models",
    "synthetic_matrices",
]

# Square sides with a shipped model.
SHAPES = (8, 16, 32, 64)

# The synthetic families: name -> what a matrix of it is.
FAMILIES = {
    "gaussian": "i.i.d. standard normal entries",
    "uniform": "i.i.d. uniform entries in [0, 1)",
    "low_rank": "rank 5: product of n x 5 and 5 x n Gaussian factors",
    "low_rank_noise": (
        "rank r (uniform in 1..n/2) Gaussian product plus Gaussian noise of "
        "relative level 10**u, u uniform in [-4, -1]"
    ),
    "power_law": (
        "random orthogonal U, V (Haar) and singular values i**-a, a uniform in [0.5, 3]"
    ),
    "exponential": (
        "random orthogonal U, V (Haar) and singular values exp(-c i / n), c "
        "uniform in [1, 30]"
    ),
    "toeplitz": (
        "Toeplitz: half with i.i.d. Gaussian diagonals, half the kernel "
        "rho**|i - j| (rho uniform in [0, 0.99]) plus 1% Gaussian noise"
    ),
    "sparse": "Gaussian entries kept with probability p, p uniform in [0.02, 0.3]",
    "heavy_tailed": "i.i.d. Student t entries with 2 degrees of freedom",
}


def _haar(rng, n_matrices, n):
    """Random orthogonal matrices, Haar-distributed (QR with the sign fixed)."""
    Q, R = np.linalg.qr(rng.standard_normal((n_matrices, n, n)))
    signs = np.sign(np.diagonal(R, axis1=1, axis2=2))
    return Q * np.where(signs == 0, 1.0, signs)[:, None, :]


def random_with_spectra(rng, spectra):
    """Matrices ``U diag(s) V^T``, Haar-random ``U, V``, one per row of ``spectra``."""
    n_matrices, n = spectra.shape
    U, V = _haar(rng, n_matrices, n), _haar(rng, n_matrices, n)
    return (U * spectra[:, None, :]) @ np.swapaxes(V, 1, 2)


def synthetic_matrices(family, n_matrices, n, random_state=None):
    """Generate square matrices of one synthetic family.

    Parameters
    ----------
    family : str
        A key of :data:`FAMILIES`: ``"gaussian"``, ``"uniform"``,
        ``"low_rank"``, ``"low_rank_noise"``, ``"power_law"``,
        ``"exponential"``, ``"toeplitz"``, ``"sparse"`` or ``"heavy_tailed"``.
    n_matrices : int
        Number of matrices.
    n : int
        Side of each matrix, at least 2.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw.

    Returns
    -------
    X : ndarray of shape (n_matrices, n * n)
        Flattened float32 matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from svlearn._pretrained import synthetic_matrices
    >>> X = synthetic_matrices("low_rank", 3, 8, random_state=0)
    >>> X.shape
    (3, 64)
    >>> s = np.linalg.svd(X.reshape(3, 8, 8).astype(float), compute_uv=False)
    >>> (s > 1e-4 * s[:, :1]).sum(axis=1)
    array([5, 5, 5])
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}.")
    if not isinstance(n, Integral) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    size = (n_matrices, n, n)
    if family == "gaussian":
        A = rng.standard_normal(size)
    elif family == "uniform":
        A = rng.random(size)
    elif family == "low_rank":
        A = rng.standard_normal((n_matrices, n, 5)) @ rng.standard_normal(
            (n_matrices, 5, n)
        )
    elif family == "low_rank_noise":
        ranks = rng.integers(1, n // 2 + 1, n_matrices)
        mask = np.arange(n)[None, :] < ranks[:, None]
        left = rng.standard_normal(size) * mask[:, None, :]
        A = left @ rng.standard_normal(size)
        level = 10.0 ** rng.uniform(-4, -1, n_matrices) * np.sqrt(ranks)
        A += level[:, None, None] * rng.standard_normal(size)
    elif family == "power_law":
        a = rng.uniform(0.5, 3, n_matrices)
        A = random_with_spectra(rng, np.arange(1, n + 1)[None, :] ** -a[:, None])
    elif family == "exponential":
        c = rng.uniform(1, 30, n_matrices)
        A = random_with_spectra(rng, np.exp(-c[:, None] * np.arange(n)[None, :] / n))
    elif family == "toeplitz":
        lags = np.arange(n)[:, None] - np.arange(n)[None, :]
        diagonals = rng.standard_normal((n_matrices, 2 * n - 1))
        A = diagonals[:, lags + n - 1]
        rho = rng.uniform(0, 0.99, n_matrices)
        kernel = rho[:, None, None] ** np.abs(lags)[None]
        kernel += 0.01 * rng.standard_normal(size)
        A = np.where((rng.random(n_matrices) < 0.5)[:, None, None], A, kernel)
    elif family == "sparse":
        density = rng.uniform(0.02, 0.3, n_matrices)
        keep = rng.random(size) < density[:, None, None]
        A = rng.standard_normal(size) * keep
    else:  # heavy_tailed
        A = rng.standard_t(2, size)
    return A.reshape(n_matrices, n * n).astype(np.float32)


def model_folder():
    """The folder of the shipped files, inside the installed package."""
    # Not named "pretrained": a folder of that name is importable as a
    # namespace package, and ``import svlearn.pretrained`` would then replace
    # the function on the package.
    return resources.files("svlearn") / "_pretrained_files"


def read_manifest(n):
    """The JSON manifest of the shipped ``n x n`` model, as a dict."""
    return json.loads((model_folder() / f"svlearn-{n}x{n}.json").read_text())


def _check_shape(shape):
    """The side of a square ``shape`` with a shipped model; clear errors else."""
    available = ", ".join(f"{n} (or ({n}, {n}))" for n in SHAPES)
    if isinstance(shape, Integral) and not isinstance(shape, bool):
        side = (int(shape), int(shape))
    elif (
        isinstance(shape, (tuple, list))
        and len(shape) == 2
        and all(isinstance(s, Integral) and not isinstance(s, bool) for s in shape)
    ):
        side = (int(shape[0]), int(shape[1]))
    else:
        raise TypeError(
            f"shape must be an int or a tuple of two ints (n, n), got {shape!r}; "
            f"pretrained models exist for {available}."
        )
    if side[0] != side[1]:
        raise ValueError(
            f"shape={tuple(shape)!r} is not square; pretrained models exist for the "
            f"square shapes {available}. For other shapes, fit a "
            "SingularValueRegressor on your matrices."
        )
    if side[0] not in SHAPES:
        raise ValueError(
            f"There is no pretrained model for {side[0]} x {side[0]} matrices; "
            f"pretrained models exist for {available}. For other shapes, fit a "
            "SingularValueRegressor on your matrices."
        )
    return side[0]


def pretrained(shape):
    """A fitted, calibrated :class:`~svlearn.SingularValueRegressor` for a shape.

    The model was trained on a broad mixture of matrices of this shape:
    windows of natural images, windows of a table and synthetic families of
    varied spectral decay (:func:`pretrained_models` lists them), and its
    error estimates were calibrated on a held-out part of that mixture, so
    ``predict(X, return_error=True)`` and ``max_error`` work at once. Each
    call loads a fresh object from a file shipped inside the package (no
    network, no pickle): changing or refitting it (``partial_fit`` on your
    matrices continues its training) leaves the next call's model untouched.

    Read more in ``docs/pretrained.md``.

    Parameters
    ----------
    shape : int or tuple of two ints
        Side ``n`` of the square matrices, or ``(n, n)``: 8, 16, 32 or 64.

    Returns
    -------
    regressor : SingularValueRegressor
        The fitted model, with ``matrix_shape_ == (n, n)``.

    Raises
    ------
    TypeError
        If ``shape`` is not an int or a pair of ints.
    ValueError
        If ``shape`` is not square, or no model exists for it; the message
        names the shapes that exist.

    See Also
    --------
    pretrained_models : What each shipped model was trained on.
    SingularValueRegressor : Train your own.

    Notes
    -----
    The files record the library versions they were saved with;
    :func:`svlearn.load` would warn with
    :class:`~svlearn.InconsistentVersionWarning` on any difference, which
    for a file shipped with the package is not the user's to fix, so that
    warning is silenced here. The package's tests check each shipped model's
    accuracy against its manifest.

    Examples
    --------
    >>> import numpy as np
    >>> import svlearn
    >>> reg = svlearn.pretrained(16)
    >>> X = np.random.default_rng(0).standard_normal((5, 16, 16))
    >>> pred = reg.predict(X)
    >>> pred.shape
    (5, 16)
    >>> from svlearn.metrics import nmse
    >>> bool(nmse(svlearn.singular_values(X), pred) < 0.01)
    True
    """
    from ._persistence import InconsistentVersionWarning, load

    n = _check_shape(shape)
    with resources.as_file(model_folder() / f"svlearn-{n}x{n}.safetensors") as path:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            return load(path)


def pretrained_models():
    """The shipped pretrained models: shape, file, size and training data.

    One entry per model that :func:`pretrained` loads, read from the JSON
    manifests shipped beside the files (no model is loaded): what each was
    trained on and how accurate it measured, per family of test matrices.

    Returns
    -------
    models : list of dict
        One dict per model, smallest shape first, with keys ``shape`` (a
        tuple ``(n, n)``), ``file`` (its name in ``svlearn/_pretrained_files/``),
        ``size_bytes``, ``sha256`` (of the file), ``n_train`` and
        ``n_calibration`` (matrices trained and calibrated on), ``trained_on``
        (the mixture's parts: source name to number of matrices) and
        ``nmse`` (measured mean NMSE per test family). The full record is the
        model's JSON manifest beside the file.

    See Also
    --------
    pretrained : Load one.

    Examples
    --------
    >>> from svlearn import pretrained_models
    >>> [m["shape"] for m in pretrained_models()]
    [(8, 8), (16, 16), (32, 32), (64, 64)]
    >>> sorted(pretrained_models()[0])  # doctest: +NORMALIZE_WHITESPACE
    ['file', 'n_calibration', 'n_train', 'nmse', 'sha256', 'shape', 'size_bytes',
     'trained_on']
    """
    models = []
    for n in SHAPES:
        manifest = read_manifest(n)
        models.append(
            {
                "shape": (n, n),
                "file": manifest["file"],
                "size_bytes": manifest["size_bytes"],
                "sha256": manifest["sha256"],
                "n_train": manifest["n_train"],
                "n_calibration": manifest["n_calibration"],
                "trained_on": {
                    name: part["n"] for name, part in manifest["mixture"].items()
                },
                "nmse": {
                    name: row["nmse_mean"] for name, row in manifest["metrics"].items()
                },
            }
        )
    return models
