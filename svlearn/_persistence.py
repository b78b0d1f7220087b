# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Save and load fitted estimators without pickle: safetensors plus JSON.

A model file is one safetensors file. Its tensors hold every array (numpy
arrays, numpy scalars, the network's weights); its string metadata holds a
JSON description of the estimator tree (class names, constructor parameters,
fitted attributes, the library versions it was saved with), a format name and
version, and a SHA-256 digest over both. The digest is an integrity check, not
authentication: it catches truncated and corrupted files, but anyone who edits
a file can recompute it, so everything else is checked as if the file were
crafted.

Loading parses JSON and raw little-endian buffers and calls only the
constructors of the classes on svlearn's allow-list; nothing named in the
file is imported or executed. Each allowed class has a ``Format``, the one
mechanism through which the generic reader and writer see it: the fitted
attributes a file may restore (with the kind of value each must hold),
the constructor parameters a file may never hold (a Pipeline's ``memory``),
the check that a restored state is one ``fit`` could have made, and any state
that is not plain data (the regressor's network). svlearn's estimators declare
their own attributes and check (``_persisted_attributes`` and
``_check_persisted_state``, at the end of each class); the regressor's network
is rebuilt by :func:`svlearn._training.net_for_weights` after its
architecture has been checked against the stored weights on torch's ``meta``
device, which allocates nothing.

The modules, from the bottom up: ``_model_formats`` (the ``Format`` base, the
kinds of values, scikit-learn's classes), ``_regressor_format`` (the
regressor and its network), ``_allow_list`` (the allowed classes by name),
``_model_tree`` (the estimator tree to and from JSON and arrays),
``_model_file`` (the safetensors container and its digest) and this one, the
public :func:`save` and :func:`load`.
"""

import importlib.metadata
import os
import sys
import warnings

from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ._allow_list import require_fitted
from ._model_file import read_model_file, write_model_file
from ._model_tree import Reader, Writer

__all__ = ["save", "load", "InconsistentVersionWarning"]

# The packages whose versions a file records; a difference warns at load.
_VERSIONED = {
    "numpy": "numpy",
    "scikit-learn": "sklearn",
    "skorch": "skorch",
    "svlearn": "svlearn",
    "torch": "torch",
}


class InconsistentVersionWarning(UserWarning):
    """Warning raised when a model file was saved with other library versions.

    :func:`svlearn.load` records the versions of svlearn, scikit-learn, torch,
    skorch and numpy in every file and warns with this when any differs at
    load, as scikit-learn's :class:`~sklearn.exceptions.InconsistentVersionWarning`
    does for pickles. The file still loads when its content passes every
    check; a difference can explain a refusal, or a prediction that differs in
    the last bits. Local build labels (``+cpu``, ``+cu121``) are ignored.

    Parameters
    ----------
    path : str
        The model file.
    original_versions : dict of str to str
        Each differing package's version when the file was saved.
    current_versions : dict of str to str
        Their versions now.

    Attributes
    ----------
    path : str
        The model file.
    original_versions : dict of str to str
        Each differing package's version when the file was saved.
    current_versions : dict of str to str
        Their versions now.

    See Also
    --------
    load : Warns with it.
    sklearn.exceptions.InconsistentVersionWarning : Its counterpart for pickles.

    Examples
    --------
    >>> from svlearn import InconsistentVersionWarning
    >>> print(InconsistentVersionWarning(
    ...     path="model.safetensors",
    ...     original_versions={"torch": "2.1.0"},
    ...     current_versions={"torch": "2.4.1"},
    ... ))
    'model.safetensors' was saved with torch 2.1.0 and is loaded with torch 2.4.1. ...
    """

    def __init__(self, *, path, original_versions, current_versions):
        self.path = path
        self.original_versions = original_versions
        self.current_versions = current_versions
        super().__init__(str(self))

    def __str__(self):
        names = sorted(self.original_versions)
        saved = ", ".join(f"{n} {self.original_versions[n]}" for n in names)
        now = ", ".join(f"{n} {self.current_versions[n]}" for n in names)
        return (
            f"{self.path!r} was saved with {saved} and is loaded with {now}. It "
            "loaded and passed every check, but a model may predict differently "
            "across versions: re-save it with these versions, or check its "
            "predictions."
        )


def _current_versions():
    """The installed version of each package in ``_VERSIONED``, without imports."""
    versions = {}
    for dist, module in _VERSIONED.items():
        imported = sys.modules.get(module)
        if imported is not None and hasattr(imported, "__version__"):
            versions[dist] = str(imported.__version__)
        else:
            versions[dist] = importlib.metadata.version(dist)
    return versions


def save(estimator, path):
    """Save a fitted estimator or Pipeline to a file that loads without pickle.

    The file is a `safetensors <https://huggingface.co/docs/safetensors>`_
    file: arrays and network weights as raw tensors; class names, constructor
    parameters, fitted attributes and the versions of svlearn, scikit-learn,
    torch, skorch and numpy as JSON in its metadata, with a format version and
    a SHA-256 digest (an integrity check, not authentication). :func:`load`
    runs no code from it. A new file gets the mode ``open()`` gives (``0o666``
    less the umask); an existing one is replaced atomically.

    Read more in the :ref:`persistence user guide <persistence>`
    (``docs/persistence.md``).

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`SingularValueRegressor`, :class:`MeanSpectrumRegressor`
        or :class:`SVDLight`, a :class:`MatrixWindowTransformer` (stateless),
        or a fitted :class:`sklearn.pipeline.Pipeline` of these and of
        scikit-learn's ``StandardScaler``, ``PCA`` and ``FrozenEstimator``.
        Parameters must be None, bools, numbers, strings, arrays, tuples,
        lists, dicts or such estimators; e.g. a ``RandomState`` instance is
        refused.
    path : str or path-like
        Destination file, conventionally ``*.safetensors``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator, or a step of a Pipeline, is not fitted.
    TypeError
        If the estimator (or anything it holds) has a type that the format
        does not store, or an attribute that is not a declared fitted
        attribute; the message points to :func:`joblib.dump`.
    ValueError
        If a parameter would make the loaded model read files or run code (a
        Pipeline's ``memory``), or the fitted state is inconsistent.

    See Also
    --------
    load : Load the estimator back.
    joblib.dump : Stores anything, as a pickle that runs code when loaded.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import svlearn
    >>> X = np.random.default_rng(0).random((50, 9))
    >>> baseline = svlearn.MeanSpectrumRegressor().fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "baseline.safetensors")
    >>> svlearn.save(baseline, path)
    >>> np.array_equal(svlearn.load(path).predict(X), baseline.predict(X))
    True
    """
    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            f"estimator must be an estimator object, got {type(estimator).__name__}."
        )
    require_fitted(estimator, "Cannot save estimator")
    writer = Writer()
    spec = {"root": writer.value(estimator, "estimator")}
    spec["versions"] = _current_versions()
    write_model_file(spec, writer.arrays, path)


def _check_versions(versions, path):
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        raise ValueError(f"{path!r} records its library versions in a broken form.")
    current = _current_versions()
    differ = sorted(
        name
        for name in set(versions) & set(current)
        if versions[name].split("+")[0] != current[name].split("+")[0]
    )
    if differ:
        warnings.warn(
            InconsistentVersionWarning(
                path=path,
                original_versions={n: versions[n] for n in differ},
                current_versions={n: current[n] for n in differ},
            ),
            stacklevel=3,
        )


def load(path):
    """Load an estimator saved by :func:`save`, executing nothing from the file.

    The file is parsed as safetensors (JSON header, raw buffers) and checked
    against its SHA-256 digest, an integrity check, not authentication: it
    catches truncated and corrupted files, but whoever crafts a file can
    recompute it. So the description is then checked as untrusted input:
    classes come from svlearn's allow-list by name and are built with their
    constructors; only the fitted attributes each class declares are set,
    each of the declared kind, and refused unless they fit together; a
    network's declared architecture is compared with the stored weights
    before any memory is allocated for it. A network saved on CUDA is loaded
    on the CPU, with a ``DeviceWarning``, when CUDA is not available. An
    :class:`InconsistentVersionWarning` says when the file was saved with
    other versions of svlearn, scikit-learn, torch, skorch or numpy.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save`.

    Returns
    -------
    estimator : estimator object
        The estimator, with the fitted state it had when saved; its
        predictions are bit-identical to the saved estimator's on the same
        device.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    IsADirectoryError
        If ``path`` is a folder.
    ValueError
        If the file is empty, not an svlearn model file, truncated or altered
        (digest mismatch), written by another format version, names a class
        outside the allow-list, or describes a model that is not one that
        :func:`save` writes (unknown attributes or parameters, an unfitted
        or inconsistent state, a Pipeline ``memory``, weights that do not fit
        the declared network).

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import svlearn
    >>> path = os.path.join(tempfile.mkdtemp(), "windows.safetensors")
    >>> svlearn.save(svlearn.MatrixWindowTransformer(window_shape=8), path)
    >>> svlearn.load(path)
    MatrixWindowTransformer(window_shape=8)
    """
    path = os.fspath(path)
    spec, arrays = read_model_file(path)
    if not isinstance(spec, dict) or set(spec) != {"root", "versions"}:
        raise ValueError(f"{path!r} does not describe an estimator.")
    _check_versions(spec["versions"], path)
    root = spec["root"]
    if not isinstance(root, dict) or root.get("type") != "estimator":
        raise ValueError(f"{path!r} does not describe an estimator.")
    reader = Reader(arrays)
    try:
        estimator = reader.value(root, "estimator")
        require_fitted(estimator, "estimator")
        unused = sorted(set(arrays) - reader.used)
        if unused:
            raise ValueError(f"the file stores arrays {unused} that nothing uses.")
    except NotFittedError as exc:
        raise ValueError(
            f"{path!r} describes an unfitted estimator ({exc}); svlearn.save "
            "writes fitted ones only."
        ) from None
    except ValueError as exc:
        raise ValueError(f"{path!r} was refused: {exc}") from None
    except (
        TypeError,
        AttributeError,
        LookupError,
        RuntimeError,
        ArithmeticError,
    ) as exc:
        # A description with the right digest but the wrong structure.
        raise ValueError(f"{path!r} holds a malformed description: {exc!r}") from exc
    return estimator
