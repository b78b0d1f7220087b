# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Dask integration: blockwise prediction, spectral maps and chunked training.

Requires the optional dependency ``dask[array]`` (``pip install 'sv-learn-mlp[dask]'``);
``distributed`` adds clusters. Everything here is lazy: the functions build
dask graphs, and ``.compute()`` (or ``.persist()``, ``.to_zarr(...)``) runs them
on the current scheduler, a local thread pool or a ``distributed`` cluster.

Read more in the :ref:`scale-out user guide <scale-out>`
(``docs/scale-out.md``).
"""

import numpy as np
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "svlearn.dask needs dask: pip install 'sv-learn-mlp[dask]' (or 'dask[array]')."
    ) from exc

from ._validation import POSITIVE_INT
from ._windows import SIZE_PAIR, extract_windows, positive_pairs

__all__ = ["predict", "spectral_map", "partial_fit"]

# Windows predicted per call inside one task of spectral_map: bounds the
# windows' temporary copy (4096 float32 32x32 windows are 16 MiB).
_BATCH_WINDOWS = 4096

# Checked by direct calls, not the ``validate_params`` decorator: the decorator
# rewrites every parameter error raised inside the function, here by the
# user's estimator, to name this function instead of its real source.
_SPECTRAL_MAP_PARAMS = {
    "window_shape": SIZE_PAIR,
    "strides": SIZE_PAIR,
    "max_block_windows": [POSITIVE_INT],
}
_PARTIAL_FIT_PARAMS = {"n_epochs": [POSITIVE_INT], "chunk_size": [POSITIVE_INT]}


def _as_dask(X, name, ndims):
    if not isinstance(X, da.Array):
        X = da.asarray(X)
    if X.ndim not in ndims:
        raise ValueError(
            f"{name} must be a dask array with {' or '.join(map(str, ndims))} "
            f"dimensions, got shape {X.shape}."
        )
    return X


def _check_method(estimator, method):
    if not isinstance(method, str) or not callable(getattr(estimator, method, None)):
        raise ValueError(
            f"method must name a method of the estimator, such as 'predict'; "
            f"{type(estimator).__name__} has no method {method!r}."
        )
    check_is_fitted(estimator)


def _probe(estimator, method, shape, dtype):
    """Output of ``method`` on one all-zero sample: its rows, tail shape, dtype."""
    try:
        out = getattr(estimator, method)(np.zeros((1, *shape), dtype=dtype))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{type(estimator).__name__}.{method} failed on one all-zero sample "
            f"of shape {shape} (the input of each task): {exc}"
        ) from exc
    out = np.asarray(out)
    if out.ndim == 0:
        raise ValueError(f"{method} returned a scalar for one sample.")
    return out.shape[0], out.shape[1:], out.dtype


def _predict_block(block, estimator, method, rows_per_sample):
    out = np.asarray(getattr(estimator, method)(block))
    if out.shape[0] != block.shape[0] * rows_per_sample:
        raise ValueError(
            f"{method} returned {out.shape[0]} rows for {block.shape[0]} samples; "
            f"expected {rows_per_sample} per sample."
        )
    return out


def _axes(in_ndim, out_ndim):
    """map_blocks arguments that turn ``in_ndim`` blocks into ``out_ndim`` ones."""
    if out_ndim < in_ndim:
        return {"drop_axis": list(range(out_ndim, in_ndim))}
    if out_ndim > in_ndim:
        return {"new_axis": list(range(in_ndim, out_ndim))}
    return {}


def predict(estimator, X, *, method="predict"):
    """Map a fitted estimator over a dask array of matrices, block by block.

    Each block of rows of ``X`` becomes one task that calls
    ``estimator.predict`` (or ``method``) on an in-memory block; the estimator
    enters the graph once. Nothing is computed until the result is.

    Parameters
    ----------
    estimator : estimator object
        A fitted estimator or :class:`~sklearn.pipeline.Pipeline`, such as
        :class:`~svlearn.SingularValueRegressor`. A pipeline that starts with
        :class:`~svlearn.MatrixWindowTransformer` works on a 3-D stack of
        images: its windows are predicted block by block.
    X : dask.array.Array of shape (n_samples, m * n) or (n_samples, m, n)
        Matrices, one per row (flattened) or stacked. A numpy array or memmap
        is wrapped with :func:`dask.array.asarray`. Chunks along the matrix
        axes are merged, so each task sees whole matrices.
    method : str, default="predict"
        Method to map, e.g. "transform" for a transformer.

    Returns
    -------
    y : dask.array.Array of shape (n_samples, min(m, n))
        Lazy predictions, chunked like the rows of ``X`` (times the windows
        per matrix for a windowing pipeline).

    See Also
    --------
    spectral_map : Spectra of the windows of one large 2-D array.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import svlearn.dask
    >>> from svlearn import MeanSpectrumRegressor
    >>> X = np.random.default_rng(0).random((100, 16))
    >>> reg = MeanSpectrumRegressor().fit(X)
    >>> S = svlearn.dask.predict(reg, da.from_array(X, chunks=25))
    >>> S
    dask.array<_predict_block, shape=(100, 4), dtype=float64, chunksize=(25, 4), ...>
    >>> np.array_equal(S.compute(), reg.predict(X))
    True
    """
    _check_method(estimator, method)
    X = _as_dask(X, "X", (2, 3))
    X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    rows, tail, dtype = _probe(estimator, method, X.shape[1:], X.dtype)
    chunks = (tuple(c * rows for c in X.chunks[0]), *((d,) for d in tail))
    return X.map_blocks(
        _predict_block,
        # One graph node holds the estimator; every task refers to it.
        dask.delayed(estimator, pure=False),
        method,
        rows,
        chunks=chunks,
        meta=np.empty((0,) * len(chunks), dtype=dtype),
        **_axes(X.ndim, len(chunks)),
    )


def _windows_block(sub, estimator, method, window_shape, strides, grid, tail, dtype):
    """Predictions for every window of ``sub``, as a (rows, cols, ...) block."""
    (m, _), (sr, _) = window_shape, strides
    n_r, n_c = grid
    out = np.empty((n_r, n_c, *tail), dtype=dtype)
    step = max(1, _BATCH_WINDOWS // n_c)  # rows of windows per batch
    for a in range(0, n_r, step):
        b = min(n_r, a + step)
        windows = extract_windows(
            sub[a * sr : (b - 1) * sr + m], window_shape, strides=strides
        )
        pred = np.asarray(getattr(estimator, method)(windows))
        out[a:b] = pred.reshape(b - a, n_c, *tail)
    return out


def _spans(n_windows, per_block, stride, size):
    """(first window, end window, first input index, end input index) per block."""
    for i0 in range(0, n_windows, per_block):
        i1 = min(n_windows, i0 + per_block)
        yield i0, i1, i0 * stride, (i1 - 1) * stride + size


def spectral_map(
    estimator,
    A,
    *,
    window_shape=(32, 32),
    strides=(1, 1),
    method="predict",
    max_block_windows=65536,
    return_origins=False,
):
    """Spectra of the windows of one large 2-D dask array, chunk by chunk.

    The windows are those of :class:`~svlearn.MatrixWindowTransformer` on
    ``A`` (same ``window_shape``, ``strides`` and order); entry ``[i, j]`` of
    the result is the prediction for the window whose top-left entry is
    ``A[i * strides[0], j * strides[1]]``. The grid of windows is cut into
    blocks aligned with ``A``'s chunks; each block becomes one task that reads
    the part of ``A`` its windows cover (its chunk plus the overlap the
    windows need from neighbouring chunks) and predicts its windows in
    batches. No task ever holds all windows.

    Parameters
    ----------
    estimator : estimator object
        Fitted estimator or Pipeline that takes flattened ``m x n`` windows
        (``(n_windows, m * n)``), e.g. :class:`~svlearn.SingularValueRegressor`.
    A : dask.array.Array of shape (n_rows, n_cols)
        The large matrix; a numpy array or memmap is wrapped with
        :func:`dask.array.asarray`.
    window_shape : int or tuple of int (m, n), default=(32, 32)
        Rows and columns of each window.
    strides : int or tuple of int, default=(1, 1)
        Step between consecutive windows along rows and columns.
    method : str, default="predict"
        Method of ``estimator`` to apply to the windows.
    max_block_windows : int, default=65536
        Most windows per task; blocks aligned with ``A``'s chunks are split
        further to respect it (this bounds each task's output).
    return_origins : bool, default=False
        Whether to also return the origins of the windows, as
        :meth:`~svlearn.MatrixWindowTransformer.window_origins` does.

    Returns
    -------
    spectra : dask.array.Array of shape (n_window_rows, n_window_cols, k)
        Lazy predictions on the grid of windows, with ``n_window_rows =
        (n_rows - m) // strides[0] + 1`` (likewise for columns) and ``k`` the
        estimator's outputs per window. ``spectra.reshape(-1, k)`` lists them
        in :class:`~svlearn.MatrixWindowTransformer`'s order.
    origins : ndarray of shape (n_window_rows * n_window_cols, 3)
        Only if ``return_origins``: matrix index (always 0), row and column of
        each window's top-left entry.

    See Also
    --------
    predict : Map an estimator over a dask array of matrices.
    svlearn.MatrixWindowTransformer : The in-memory windowing.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import svlearn.dask
    >>> from svlearn import MatrixWindowTransformer, MeanSpectrumRegressor
    >>> A = np.random.default_rng(0).random((100, 90))
    >>> windows = MatrixWindowTransformer(window_shape=8, strides=4).transform(A)
    >>> reg = MeanSpectrumRegressor().fit(windows)
    >>> S = svlearn.dask.spectral_map(
    ...     reg, da.from_array(A, chunks=40), window_shape=8, strides=4
    ... )
    >>> S.shape
    (24, 21, 8)
    >>> np.array_equal(S.compute().reshape(-1, 8), reg.predict(windows))
    True
    """
    validate_parameter_constraints(
        _SPECTRAL_MAP_PARAMS,
        {
            "window_shape": window_shape,
            "strides": strides,
            "max_block_windows": max_block_windows,
        },
        caller_name="spectral_map",
    )
    window_shape, strides = positive_pairs(window_shape=window_shape, strides=strides)
    _check_method(estimator, method)
    A = _as_dask(A, "A", (2,))
    (m, n), (sr, sc) = window_shape, strides
    if m > A.shape[0] or n > A.shape[1]:
        raise ValueError(
            f"window_shape={window_shape} is larger than A, of shape {A.shape}."
        )
    n_r, n_c = (A.shape[0] - m) // sr + 1, (A.shape[1] - n) // sc + 1
    rows, tail, dtype = _probe(estimator, method, (m * n,), A.dtype)
    if rows != 1:
        raise ValueError(
            f"{method} must return one row per window; it returned {rows} rows "
            "for one window (a windowing step inside the estimator?)."
        )
    # Window blocks about as large as A's chunks, so each task reads mostly
    # one chunk, then halved until they respect max_block_windows.
    br = min(n_r, max(1, max(A.chunks[0]) // sr))
    bc = min(n_c, max(1, max(A.chunks[1]) // sc))
    while br * bc > max_block_windows:
        if br >= bc:
            br = (br + 1) // 2
        else:
            bc = (bc + 1) // 2
    est = dask.delayed(estimator, pure=False)
    meta = np.empty((0,) * (2 + len(tail)), dtype=dtype)
    blocks = []
    for i0, i1, r0, r1 in _spans(n_r, br, sr, m):
        row = []
        for j0, j1, c0, c1 in _spans(n_c, bc, sc, n):
            grid = (i1 - i0, j1 - j0)
            row.append(
                A[r0:r1, c0:c1]
                .rechunk(-1)
                .map_blocks(
                    _windows_block,
                    est,
                    method,
                    window_shape,
                    strides,
                    grid,
                    tail,
                    dtype,
                    chunks=tuple((d,) for d in (*grid, *tail)),
                    meta=meta,
                    **_axes(2, 2 + len(tail)),
                )
            )
        blocks.append(da.concatenate(row, axis=1))
    spectra = da.concatenate(blocks, axis=0)
    if not return_origins:
        return spectra
    i, j = np.meshgrid(np.arange(n_r), np.arange(n_c), indexing="ij")
    origins = np.column_stack(
        [np.zeros(i.size, dtype=np.int64), i.ravel() * sr, j.ravel() * sc]
    )
    return spectra, origins


def partial_fit(estimator, X, y=None, *, n_epochs=1, chunk_size=4096):
    """Train on data larger than memory by ``partial_fit`` on consecutive chunks.

    Each epoch passes once over ``X`` in order, loading one chunk at a time
    (a block of rows of a dask array, or ``chunk_size`` rows of a numpy array
    or memmap) and calling ``estimator.partial_fit(X_chunk)`` or
    ``estimator.partial_fit(X_chunk, y_chunk)``. The result is that of the same
    sequence of ``partial_fit`` calls on in-memory chunks.

    Parameters
    ----------
    estimator : estimator object
        An estimator with ``partial_fit``, such as
        :class:`~svlearn.SingularValueRegressor`; the first call initialises it
        unless it is already fitted.
    X : dask.array.Array, ndarray or memmap of shape (n_samples, m * n) or \
            (n_samples, m, n)
        Training matrices.
    y : dask.array.Array, ndarray or None, default=None
        Targets with ``n_samples`` rows, or None when the estimator computes
        its own (self-supervised).
    n_epochs : int, default=1
        Passes over the data.
    chunk_size : int, default=4096
        Rows per chunk for numpy input; a dask array uses its own row chunks.

    Returns
    -------
    estimator : estimator object
        The trained estimator.

    See Also
    --------
    predict : Predict on a dask array, block by block.
    svlearn.SingularValueRegressor.partial_fit : One step of the training.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> import svlearn.dask
    >>> X = np.random.default_rng(0).random((1000, 4))
    >>> y = X @ np.arange(4.0)
    >>> sgd = svlearn.dask.partial_fit(
    ...     SGDRegressor(random_state=0), da.from_array(X, chunks=250), y,
    ...     n_epochs=20,
    ... )
    >>> bool(sgd.score(X, y) > 0.95)
    True
    """
    if not callable(getattr(estimator, "partial_fit", None)):
        raise TypeError(
            f"{type(estimator).__name__} has no partial_fit method; train it "
            "with fit on data that fits in memory."
        )
    validate_parameter_constraints(
        _PARTIAL_FIT_PARAMS,
        {"n_epochs": n_epochs, "chunk_size": chunk_size},
        caller_name="partial_fit",
    )
    if y is not None and len(y) != len(X):
        raise ValueError(
            f"X and y have different numbers of samples: {len(X)} and {len(y)}."
        )
    if isinstance(X, da.Array):
        bounds = np.cumsum((0, *X.chunks[0]))
    else:
        bounds = np.append(np.arange(0, len(X), chunk_size), len(X))
    for _ in range(n_epochs):
        for start, stop in zip(bounds[:-1], bounds[1:]):
            X_chunk = np.asarray(X[start:stop])
            if y is None:
                estimator.partial_fit(X_chunk)
            else:
                estimator.partial_fit(X_chunk, np.asarray(y[start:stop]))
    return estimator
