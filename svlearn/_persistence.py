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
constructors of the classes on an allow-list written here; nothing named in
the file is imported or executed. Each allowed class has a :class:`_Format`,
the one mechanism through which the generic reader and writer see it: the
fitted attributes a file may restore (with the kind of value each must hold),
the constructor parameters a file may never hold (a Pipeline's ``memory``),
the check that a restored state is one ``fit`` could have made, and any state
that is not plain data (the regressor's network). svlearn's estimators declare
their own attributes and check (``_persisted_attributes`` and
``_check_persisted_state``, at the end of each class); the regressor's network
is rebuilt by :func:`svlearn._training.net_for_weights` after its
architecture has been checked against the stored weights on torch's ``meta``
device, which allocates nothing.
"""

import errno
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import math
import os
import secrets
import stat
import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

__all__ = ["save", "load", "InconsistentVersionWarning"]

FORMAT = "svlearn-estimator"
FORMAT_VERSION = 2

# safetensors stores these numpy dtype kinds: bool, signed, unsigned, float.
_ARRAY_KINDS = "biuf"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# Deeper nesting than any estimator tree needs is refused before Python's
# recursion limit is reached.
_MAX_DEPTH = 64
# Subspace iteration steps a file may ask for (the "ritz" and "subspace" heads,
# MeanSpectrumRegressor): predict's cost grows with them, and a crafted file
# must not turn one predict call into hours. Far above useful values (1 to 4).
MAX_ITERATIONS = 1000
# Sizes (matrix sides, layer widths) beyond any real model.
_MAX_SIZE = 2**31 - 1
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
    sklearn.exceptions.InconsistentVersionWarning : The warning scikit-learn gives for pickles.

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


# --- What a fitted attribute may hold -----------------------------------------
# Kinds are named in declarations as "kind", "kind|other" (either) and a
# trailing "?" (fit may leave the attribute unset).


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


_KINDS = {
    "None": ("None", lambda v: v is None),
    "bool": ("a bool", lambda v: isinstance(v, (bool, np.bool_))),
    "int": ("a non-negative int", lambda v: _is_int(v) and 0 <= v < 2**63),
    "float": ("a float", lambda v: isinstance(v, (float, np.floating))),
    "number": (
        "a number",
        lambda v: _is_int(v) or isinstance(v, (float, np.floating)),
    ),
    "str": ("a str", lambda v: isinstance(v, str)),
    "shape": (
        "a tuple of two positive ints",
        lambda v: (
            type(v) is tuple
            and len(v) == 2
            and all(type(d) is int and 1 <= d <= _MAX_SIZE for d in v)
        ),
    ),
    "floats": (
        "a list of floats",
        lambda v: type(v) is list and all(type(x) is float for x in v),
    ),
    "array": (
        "a numeric ndarray",
        lambda v: isinstance(v, np.ndarray) and v.dtype.kind in "iuf",
    ),
    "float array": (
        "a float ndarray",
        lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "f",
    ),
    "str array": (
        "a 1-D object ndarray of str",
        lambda v: (
            isinstance(v, np.ndarray)
            and v.dtype == object
            and v.ndim == 1
            and all(isinstance(x, str) for x in v)
        ),
    ),
    "estimator": ("an estimator", lambda v: isinstance(v, BaseEstimator)),
}


def _kind_problem(value, kind, where):
    """A sentence saying why ``value`` is not of ``kind``, or None."""
    alternatives = kind.rstrip("?").split("|")
    if any(_KINDS[alt][1](value) for alt in alternatives):
        return None
    wanted = " or ".join(_KINDS[alt][0] for alt in alternatives)
    return f"{where} must be {wanted}, got {_short(value)}"


def _short(value):
    if isinstance(value, np.ndarray):
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- One format per allowed class ---------------------------------------------


class _Format:
    """How model files store one class (see the module docstring).

    Parameters
    ----------
    module, name : str
        Where this library (never the file) imports the class from.
    attributes : dict of str to str or None
        The fitted attributes a file may restore and their kinds; None reads
        the class's ``_persisted_attributes``.
    """

    # Attributes with their own encoding (``encode`` / ``decode``), restored
    # after the plain ones and the consistency check; their declared kind
    # names that encoding instead of a kind in _KINDS.
    custom = ()

    def __init__(self, module, name, attributes=None):
        self.module = module
        self.name = name
        self._attributes = attributes

    @property
    def cls(self):
        return getattr(importlib.import_module(self.module), self.name)

    @property
    def attributes(self):
        if self._attributes is None:
            return dict(self.cls._persisted_attributes)
        return dict(self._attributes)

    def check_params(self, params, where):
        """Raise ValueError for constructor parameters no file may hold."""

    def check(self, est):
        """Raise ValueError unless the restored fitted state fits together."""
        hook = inspect.getattr_static(type(est), "_check_persisted_state", None)
        if hook is not None:
            est._check_persisted_state()

    def parts(self, est, where):
        """``(where, estimator)`` of the nested estimators that must be fitted."""
        return []

    def encode(self, attr, value, writer, where):
        raise NotImplementedError(attr)

    def decode(self, est, attr, node, reader, where):
        raise NotImplementedError(attr)


class _RegressorFormat(_Format):
    """SingularValueRegressor: plain fitted attributes plus its skorch net.

    Uses the estimator's public and fitted attributes, and
    :func:`svlearn._training.net_for_weights`, which builds an initialised net
    like the one fit trains around ``SpectrumMLP(**module_params)``.
    """

    custom = ("net_",)
    # The calibrated error model: all three or none (see calibrate).
    _ERROR_MODEL = ("error_coef_", "error_offset_", "n_calibration_")
    _DEVICES = ("cpu", "cuda")

    def __init__(self):
        super().__init__(
            "svlearn",
            "SingularValueRegressor",
            {
                "matrix_shape_": "shape",
                "n_features_in_": "int",
                "feature_names_in_": "str array?",
                "n_outputs_": "int",
                "scale_": "float",
                "_y_1d": "bool",
                "loss_curve_": "floats",
                "validation_scores_": "floats|None",
                "best_loss_": "float",
                "n_iter_": "int",
                "fit_time_": "float",
                "error_coef_": "float array?",
                "error_offset_": "float?",
                "n_calibration_": "int?",
                "error_feature_range_": "float array?",
                "interval_multipliers_": "float array?",
                "refine_template_": "float array?",
                "refine_error_coef_": "float array?",
                "refine_error_offset_": "float?",
                "refine_feature_range_": "float array?",
                "refine_route_": "shape?",
                "net_": "network",
            },
        )

    def check(self, est):
        m, n = est.matrix_shape_
        problems = []
        if est.n_features_in_ != m * n:
            problems.append(
                f"n_features_in_={est.n_features_in_} but matrix_shape_="
                f"{est.matrix_shape_} matrices have {m * n} entries"
            )
        if est.n_outputs_ != min(m, n):
            problems.append(
                f"n_outputs_={est.n_outputs_} but matrix_shape_={est.matrix_shape_} "
                f"matrices have {min(m, n)} singular values"
            )
        if est._y_1d and min(m, n) != 1:
            problems.append(
                f"_y_1d=True (fitted on 1-D y) needs 1 x n or n x 1 matrices, not "
                f"matrix_shape_={est.matrix_shape_}"
            )
        if not 0 < est.scale_ < math.inf:
            problems.append(f"scale_ must be positive and finite, got {est.scale_!r}")
        present = [a for a in self._ERROR_MODEL if hasattr(est, a)]
        if present and len(present) != len(self._ERROR_MODEL):
            missing = [a for a in self._ERROR_MODEL if a not in present]
            problems.append(
                f"the error model {list(self._ERROR_MODEL)} comes whole, but "
                f"{missing} is missing"
            )
        elif present:
            if est.error_coef_.ndim != 1:
                problems.append(
                    f"error_coef_ must be 1-D, got shape {est.error_coef_.shape}"
                )
            if not math.isfinite(est.error_offset_):
                problems.append(
                    f"error_offset_ must be finite, got {est.error_offset_!r}"
                )
            if est.n_calibration_ < 1:
                problems.append("n_calibration_ must be positive")
        elif est.max_error is not None:
            problems.append(
                f"max_error={est.max_error!r} needs the error model "
                f"{list(self._ERROR_MODEL)}, which this estimator lacks"
            )
        if problems:
            raise ValueError("; ".join(problems) + ".")

    def encode(self, attr, net, writer, where):
        try:
            state = net.module_.state_dict()
            module_params = {
                k: v
                for k, v in net.get_params(deep=False).items()
                if k.startswith("module__")
            }
        except AttributeError:
            raise TypeError(
                f"Cannot save {where}: it is not an initialised skorch net."
            ) from None
        return {
            "type": "skorch_net",
            "device": str(net.device),
            # The architecture as fitted, which set_params may since have changed.
            "module_params": {
                k: writer.value(v, f"{where}.{k}") for k, v in module_params.items()
            },
            "state_dict": {
                k: writer.array(t.detach().cpu().numpy()) for k, t in state.items()
            },
        }

    def decode(self, est, attr, node, reader, where):
        import torch
        from skorch.exceptions import DeviceWarning

        from ._mlp import SpectrumMLP

        _fields(node, {"type", "device", "module_params", "state_dict"}, where)
        if node["type"] != "skorch_net":
            raise ValueError(f"{where} must be a network, got type {node['type']!r}.")
        names = _signature(SpectrumMLP) - {"self"}
        raw = _dict(node["module_params"], f"{where}.module_params")
        for key in raw:
            if not key.startswith("module__") or key[len("module__") :] not in names:
                raise ValueError(
                    f"{where}.module_params holds {key!r}, which is not a module "
                    f"parameter of the network: a file sets only "
                    f"{sorted('module__' + n for n in names)}."
                )
        missing = sorted(f"module__{n}" for n in names if f"module__{n}" not in raw)
        if missing:
            raise ValueError(f"{where}.module_params lacks {missing}.")
        params = {
            k[len("module__") :]: reader.value(v, f"{where}.module_params.{k}")
            for k, v in raw.items()
        }
        keys = _dict(node["state_dict"], f"{where}.state_dict")
        stored = {
            name: reader.array(key, f"{where}.state_dict") for name, key in keys.items()
        }
        self._check_module_params(est, params, len(stored), where)
        self._check_error_model(est, params["head"])
        # The architecture on the meta device: shapes without memory, so that a
        # file declaring huge layers is refused before anything is allocated.
        try:
            with torch.device("meta"):
                declared = SpectrumMLP(**params).state_dict()
        except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
            raise ValueError(
                f"{where}.module_params describe no valid network: {exc}"
            ) from None
        _check_weights(declared, stored, where)
        devices = [_parse_device(node["device"], f"{where}.device")]
        devices.append(_parse_device(est.device, "device"))
        if any(d.type not in self._DEVICES for d in devices):
            raise ValueError(
                f"The network is on device {str(devices[0])!r} (device="
                f"{str(devices[1])!r}); svlearn.load builds networks on "
                f"{' or '.join(self._DEVICES)} only."
            )
        if any(d.type == "cuda" for d in devices) and not torch.cuda.is_available():
            warnings.warn(
                f"The model was saved with device={node['device']!r} but CUDA is "
                "not available here; it is loaded on the CPU (device='cpu').",
                DeviceWarning,
                stacklevel=4,
            )
            est.device = "cpu"
        try:
            from ._training import net_for_weights

            net = net_for_weights(est, est.matrix_shape_, params)
            net.module_.load_state_dict(
                {k: torch.from_numpy(arr) for k, arr in stored.items()}, strict=True
            )
        except RuntimeError as exc:
            raise ValueError(
                f"The saved network weights do not fit the model: {exc}"
            ) from None
        est.net_ = net

    def _check_module_params(self, est, params, n_arrays, where):
        """The network's settings: valid, bounded, and those of this estimator."""
        from sklearn.utils._param_validation import validate_parameter_constraints

        where = f"{where}.module_params"
        if params["matrix_shape"] != est.matrix_shape_:
            raise ValueError(
                f"{where}: module__matrix_shape={params['matrix_shape']!r} differs "
                f"from matrix_shape_={est.matrix_shape_!r}."
            )
        sizes = params["hidden_layer_sizes"]
        if not (
            type(sizes) is tuple
            and all(_is_int(s) and 1 <= s <= _MAX_SIZE for s in sizes)
            and len(sizes) < n_arrays
        ):
            raise ValueError(
                f"{where}: module__hidden_layer_sizes must be a tuple of at most "
                f"{n_arrays - 1} positive ints (the file stores {n_arrays} weight "
                f"arrays), got {_short(sizes)}."
            )
        # The estimator's own constraints on the parameters of the same names.
        constraints = type(est)._parameter_constraints
        checked = ("activation", "dropout", "head", "n_components", "n_iter")
        validate_parameter_constraints(
            {k: constraints[k] for k in checked},
            {k: params[k] for k in checked},
            caller_name=f"the network of {where}",
        )
        if params["n_iter"] > MAX_ITERATIONS:
            raise ValueError(
                f"{where}: module__n_iter={params['n_iter']} exceeds the "
                f"{MAX_ITERATIONS} iteration steps that svlearn.load accepts."
            )

    def _check_error_model(self, est, head):
        if not hasattr(est, "error_coef_"):
            return
        # predict's error features: a constant, three logs of the prediction
        # and, for the iterating heads, two of the iteration's diagnostics.
        n_features = 6 if head in ("ritz", "ends", "subspace") else 4
        if est.error_coef_.shape != (n_features,):
            raise ValueError(
                f"error_coef_ has shape {est.error_coef_.shape}, but the {head!r} "
                f"head's error model takes {n_features} features: shape "
                f"({n_features},)."
            )
        # The optional parts that calibrate adds: each with its shape.
        n_values = min(est.matrix_shape_)
        expected = {
            "error_feature_range_": (2, n_features),
            "interval_multipliers_": (n_values,),
            "refine_template_": (n_values - min(_refine_vectors(est), n_values),),
            "refine_error_coef_": (6,),
            "refine_feature_range_": (2, 6),
        }
        problems = [
            f"{name} has shape {getattr(est, name).shape}, expected {shape}"
            for name, shape in expected.items()
            if hasattr(est, name) and getattr(est, name).shape != shape
        ]
        refine = (
            "refine_template_",
            "refine_error_coef_",
            "refine_error_offset_",
            "refine_feature_range_",
        )
        present = [name for name in refine if hasattr(est, name)]
        if present and len(present) != len(refine):
            problems.append(f"the refinement tier {list(refine)} comes whole")
        route = getattr(est, "refine_route_", None)
        if route is not None and (not present or route[1] > MAX_ITERATIONS):
            problems.append(
                f"refine_route_={route} needs the rest of the refinement tier "
                f"and at most {MAX_ITERATIONS} steps"
            )
        if problems:
            raise ValueError("Inconsistent calibration: " + "; ".join(problems) + ".")


def _refine_vectors(est):
    """Vectors of a regressor's refinement tier (8 in files without its route)."""
    return getattr(est, "refine_route_", (8,))[0]


class _PipelineFormat(_Format):
    """Pipeline: its steps; ``memory`` is never stored."""

    def __init__(self):
        super().__init__("sklearn.pipeline", "Pipeline", {})

    def check_params(self, params, where):
        memory = params.get("memory")
        if memory is not None:
            raise ValueError(
                f"{where}.memory={_short(memory)}: a Pipeline's memory is a folder "
                "(or joblib.Memory) from which fit loads cached pickles, so svlearn "
                "model files never hold one; use memory=None."
            )

    def check(self, est):
        steps = est.steps
        names = []
        for i, step in enumerate(steps):
            if type(step) not in (tuple, list) or len(step) != 2:
                raise ValueError(f"steps[{i}] must be a (name, estimator) pair.")
            name, part = step
            if not isinstance(name, str) or "__" in name or name in names:
                raise ValueError(
                    f"steps[{i}] has name {name!r}: step names are distinct "
                    "strings without '__'."
                )
            names.append(name)
            if part is None or (isinstance(part, str) and part == "passthrough"):
                continue
            if not isinstance(part, BaseEstimator):
                raise ValueError(f"steps[{i}] holds {_short(part)}, not an estimator.")
            if i < len(steps) - 1 and not hasattr(part, "transform"):
                raise ValueError(
                    f"steps[{i}] ({type(part).__name__}) has no transform, so it "
                    "cannot precede another step."
                )
        if not steps:
            raise ValueError("steps must not be empty.")

    def parts(self, est, where):
        return [
            (f"{where}.steps[{i}]", part)
            for i, (_, part) in enumerate(est.steps)
            if part is not None
            and not (isinstance(part, str) and part == "passthrough")
        ]


class _FrozenFormat(_Format):
    """FrozenEstimator: the fitted estimator it wraps."""

    def __init__(self):
        super().__init__("sklearn.frozen", "FrozenEstimator", {})

    def check_params(self, params, where):
        if not isinstance(params.get("estimator"), BaseEstimator):
            raise ValueError(
                f"{where}.estimator must be an estimator, got "
                f"{_short(params.get('estimator'))}."
            )

    def parts(self, est, where):
        return [(f"{where}.estimator", est.estimator)]


def _check_lengths(est, names, n, problems):
    for attr in names:
        value = getattr(est, attr)
        if isinstance(value, np.ndarray) and value.shape != (n,):
            problems.append(f"{attr} has shape {value.shape}, not ({n},)")


class _ScalerFormat(_Format):
    def __init__(self):
        super().__init__(
            "sklearn.preprocessing",
            "StandardScaler",
            {
                "n_features_in_": "int",
                "feature_names_in_": "str array?",
                "n_samples_seen_": "number|array",
                "mean_": "float array|None",
                "var_": "float array|None",
                "scale_": "float array|None",
            },
        )

    def check(self, est):
        problems = []
        _check_lengths(
            est,
            ("mean_", "var_", "scale_", "n_samples_seen_"),
            est.n_features_in_,
            problems,
        )
        if est.with_mean and est.mean_ is None:
            problems.append("with_mean=True needs mean_")
        if est.with_std and est.scale_ is None:
            problems.append("with_std=True needs scale_")
        if problems:
            raise ValueError("; ".join(problems) + ".")


class _PCAFormat(_Format):
    def __init__(self):
        super().__init__(
            "sklearn.decomposition",
            "PCA",
            {
                "n_features_in_": "int",
                "feature_names_in_": "str array?",
                "_fit_svd_solver": "str?",
                "n_samples_": "int",
                "n_components_": "int",
                "components_": "float array",
                "mean_": "float array",
                "explained_variance_": "float array",
                "explained_variance_ratio_": "float array",
                "singular_values_": "float array",
                "noise_variance_": "float",
            },
        )

    def check(self, est):
        k, n = est.n_components_, est.n_features_in_
        problems = []
        if est.components_.shape != (k, n) or k < 1:
            problems.append(
                f"components_ has shape {est.components_.shape}, not (n_components_, "
                f"n_features_in_) = ({k}, {n})"
            )
        _check_lengths(est, ("mean_",), n, problems)
        names = ("explained_variance_", "explained_variance_ratio_", "singular_values_")
        _check_lengths(est, names, k, problems)
        if problems:
            raise ValueError("; ".join(problems) + ".")


# The only classes a file may name: the name written in the file maps to the
# format, whose module and attribute this library (never the file) imports.
# Each is round-tripped in tests/test_persistence.py.
_FORMATS = {
    "svlearn.SingularValueRegressor": _RegressorFormat(),
    "svlearn.MeanSpectrumRegressor": _Format("svlearn", "MeanSpectrumRegressor"),
    "svlearn.MatrixWindowTransformer": _Format("svlearn", "MatrixWindowTransformer"),
    "svlearn.SVDLight": _Format("svlearn", "SVDLight"),
    "sklearn.pipeline.Pipeline": _PipelineFormat(),
    "sklearn.frozen.FrozenEstimator": _FrozenFormat(),
    "sklearn.preprocessing.StandardScaler": _ScalerFormat(),
    "sklearn.decomposition.PCA": _PCAFormat(),
}
_ALLOWED = {name: (fmt.module, fmt.name) for name, fmt in _FORMATS.items()}
_JOBLIB_HINT = (
    "svlearn.save stores only svlearn estimators, sklearn Pipelines of them and "
    f"these classes: {sorted(_ALLOWED)}. Use joblib.dump for anything else (a "
    "pickle: load it only from sources you trust)."
)


def _class_name(obj):
    """The allow-list name of ``type(obj)``, or None when it is not listed."""
    cls = type(obj)
    for name, fmt in _FORMATS.items():
        # Compare the class object itself: a subclass, or a class of the same
        # name from another module, is not on the list.
        if cls.__name__ == fmt.name and fmt.cls is cls:
            return name
    return None


def _format_of(est):
    """The :class:`_Format` of an allowed estimator, or None."""
    name = _class_name(est)
    return None if name is None else _FORMATS[name]


def _signature(cls):
    return set(inspect.signature(cls.__init__).parameters)


def _require_fitted(est, where):
    """Raise NotFittedError unless ``est`` and the parts it predicts with are fitted.

    A Pipeline's steps and a FrozenEstimator's estimator must be fitted, not
    just the final step that sklearn's check looks at; a stateless estimator
    (tag ``requires_fit=False``) passes.
    """
    # Parts first, so that the message names the step that is not fitted.
    fmt = _format_of(est)
    for part_where, part in [] if fmt is None else fmt.parts(est, where):
        _require_fitted(part, part_where)
    try:
        check_is_fitted(est)
    except NotFittedError as exc:
        raise NotFittedError(f"{where}: {exc}") from None


def _required(declared):
    """The declared attributes that every fitted state holds (kind without "?")."""
    return [attr for attr, kind in declared.items() if not kind.endswith("?")]


def _check_declarations(fmt, cls):
    """A declared name must not be one of the class's own (a method, a property)."""
    for attr in fmt.attributes:
        if inspect.getattr_static(cls, attr, _MISSING) is not _MISSING:
            raise TypeError(
                f"{fmt.name} declares {attr!r} as a fitted attribute, but its class "
                "defines that name."
            )


_MISSING = object()


def _fields(node, expected, where):
    if not isinstance(node, dict) or set(node) != set(expected):
        got = sorted(node) if isinstance(node, dict) else _short(node)
        raise ValueError(f"{where} must have the fields {sorted(expected)}, got {got}.")


def _dict(node, where):
    if not isinstance(node, dict):
        raise ValueError(f"{where} must be a JSON object, got {_short(node)}.")
    return node


def _parse_device(value, where):
    import torch

    try:
        return torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"{where}={_short(value)} is not a torch device such as 'cpu' or 'cuda'."
        ) from None


def _check_weights(declared, stored, where):
    """The stored arrays are exactly the declared module's state, shape for shape."""

    def describe(dtype, shape):
        return "none" if shape is None else f"{dtype} {shape}"

    mismatches = []
    for name in sorted(set(declared) | set(stored)):
        tensor, arr = declared.get(name), stored.get(name)
        want = (
            (None, None)
            if tensor is None
            else (str(tensor.dtype).removeprefix("torch."), tuple(tensor.shape))
        )
        got = (None, None) if arr is None else (arr.dtype.name, arr.shape)
        if want != got:
            mismatches.append(
                f"{name}: declared {describe(*want)}, stored {describe(*got)}"
            )
    if mismatches:
        raise ValueError(
            f"{where}: the weights the file stores do not fit the network it "
            f"describes ({'; '.join(mismatches[:6])})."
        )


# --- Writing ------------------------------------------------------------------


class _Writer:
    """Turn an estimator tree into a JSON-able spec plus a dict of arrays."""

    def __init__(self):
        self.arrays = {}
        self.ids = {}  # id(estimator) -> index, so shared objects stay shared
        self.pending = set()  # estimators being written: a ref to one is a cycle
        self.alive = []  # keeps encoded objects alive so that ids stay unique

    def array(self, arr):
        # np.ascontiguousarray would turn a 0-d array (a numpy scalar) into 1-d.
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return key

    def value(self, value, where):
        # numpy scalars first: np.float64 is also a float, and must come back
        # as np.float64.
        if isinstance(value, np.generic) and value.dtype.kind in _ARRAY_KINDS:
            return {"type": "scalar", "key": self.array(np.asarray(value))}
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value  # json writes repr(float), which round-trips exactly
            return {"type": "float", "value": repr(float(value))}
        if isinstance(value, np.ndarray):
            return self.ndarray(value, where)
        if isinstance(value, (list, tuple)):
            items = [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"type": type(value).__name__, "items": items}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            items = {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"type": "dict", "items": items}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.device):
            return {"type": "torch_device", "value": str(value)}
        if isinstance(value, BaseEstimator):
            return self.estimator(value, where)
        raise TypeError(
            f"Cannot save {where}: values of type {type(value).__module__}."
            f"{type(value).__qualname__} are not supported. {_JOBLIB_HINT}"
        )

    def ndarray(self, arr, where):
        if arr.dtype.kind in _ARRAY_KINDS:
            if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous:
                # Keep Fortran order (e.g. PCA's components_): BLAS results
                # depend on the memory layout, and predictions must not change.
                return {"type": "ndarray", "key": self.array(arr.T), "order": "F"}
            return {"type": "ndarray", "key": self.array(arr)}
        if arr.dtype.kind in "OU" and all(isinstance(v, str) for v in arr.flat):
            # e.g. feature_names_in_: strings go to JSON, not to code.
            return {
                "type": "str_array",
                "object": arr.dtype.kind == "O",
                "shape": list(arr.shape),
                "items": [str(v) for v in arr.flat],
            }
        raise TypeError(
            f"Cannot save {where}: an array of dtype {arr.dtype} is not supported "
            f"(only bool, integer, float and string arrays). {_JOBLIB_HINT}"
        )

    def estimator(self, est, where):
        if id(est) in self.ids:
            if id(est) in self.pending:
                raise TypeError(f"Cannot save {where}: it contains itself.")
            return {"type": "ref", "id": self.ids[id(est)]}
        name = _class_name(est)
        if name is None:
            cls = type(est)
            raise TypeError(
                f"Cannot save {where}: {cls.__module__}.{cls.__qualname__} is not "
                f"on svlearn's allow-list. {_JOBLIB_HINT}"
            )
        fmt = _FORMATS[name]
        params = est.get_params(deep=False)
        fmt.check_params(params, where)
        self.ids[id(est)] = index = len(self.ids)
        self.pending.add(id(est))
        self.alive.append(est)
        node = {
            "type": "estimator",
            "class": name,
            "id": index,
            "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()},
            "state": {},
        }
        declared = fmt.attributes
        for attr, value in vars(est).items():
            if attr in params:
                continue
            if attr not in declared:
                raise TypeError(
                    f"Cannot save {where}.{attr}: model files store the fitted "
                    f"attributes {sorted(declared)} of {name} and nothing else. "
                    f"{_JOBLIB_HINT}"
                )
            if attr in fmt.custom:
                node["state"][attr] = fmt.encode(attr, value, self, f"{where}.{attr}")
                continue
            problem = _kind_problem(value, declared[attr], f"{where}.{attr}")
            if problem:
                raise TypeError(f"Cannot save: {problem}.")
            node["state"][attr] = self.value(value, f"{where}.{attr}")
        # Checked as load will check it (see _Reader.estimator).
        if node["state"] or not _required(declared):
            try:
                fmt.check(est)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"Cannot save {where}: {exc}") from None
        self.pending.discard(id(est))
        return node


def _write(spec, arrays, path, *, version=FORMAT_VERSION):
    """Write a spec and its arrays as a safetensors file, atomically.

    The file is created as ``open()`` creates one (mode ``0o666`` less the
    umask), written and synced beside the target under a temporary name, then
    renamed over it: a reader never sees a partial file.
    """
    from safetensors.numpy import save

    header = json.dumps(spec, allow_nan=False, sort_keys=True)
    metadata = {
        "format": FORMAT,
        "format_version": str(version),
        "spec": header,
        "sha256": _digest(f"{FORMAT}\0{version}\0{header}", arrays),
    }
    data = save(arrays, metadata=metadata)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Cannot save a model over a folder", path)
    folder, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 64 random bits
        raise FileExistsError(errno.EEXIST, "No free temporary name", folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _digest(header, arrays):
    h = hashlib.sha256(header.encode())
    for key in sorted(arrays):
        arr = arrays[key]
        h.update(f"\0{key}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


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
    _require_fitted(estimator, "Cannot save estimator")
    writer = _Writer()
    spec = {"root": writer.value(estimator, "estimator")}
    spec["versions"] = _current_versions()
    _write(spec, writer.arrays, path)


# --- Reading ------------------------------------------------------------------


class _Reader:
    """Rebuild an estimator tree from a spec and arrays, allowing listed classes."""

    def __init__(self, arrays):
        self.arrays = arrays
        self.used = set()
        self.objects = {}
        self.pending = set()

    def array(self, key, where):
        if not isinstance(key, str) or key not in self.arrays:
            raise ValueError(f"{where} refers to a missing array {_short(key)}.")
        if key in self.used:
            raise ValueError(f"{where} refers to array {key!r} a second time.")
        self.used.add(key)
        return self.arrays[key]

    def value(self, node, where, depth=0):
        if depth > _MAX_DEPTH:
            raise ValueError(f"{where} is nested more than {_MAX_DEPTH} levels deep.")
        if type(node) is int and not -(2**63) <= node < 2**63:
            # No parameter or attribute needs more; numpy could not hold it.
            raise ValueError(f"{where} holds an int outside the int64 range.")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise ValueError(f"{where} holds an unexpected value {_short(node)}.")
        kind = node.get("type")
        if kind == "float":
            _fields(node, {"type", "value"}, where)
            if node["value"] not in _NON_FINITE:
                raise ValueError(f"{where} holds an unknown float {_short(node)}.")
            return _NON_FINITE[node["value"]]
        if kind == "scalar":
            _fields(node, {"type", "key"}, where)
            arr = self.array(node["key"], where)
            if arr.ndim != 0:
                raise ValueError(f"{where} must be a scalar, got shape {arr.shape}.")
            return arr[()]
        if kind == "ndarray":
            if "order" in node:
                _fields(node, {"type", "key", "order"}, where)
                arr = self.array(node["key"], where)
                if node["order"] != "F" or arr.ndim < 2:
                    raise ValueError(f"{where} has an invalid order {_short(node)}.")
                return arr.T
            _fields(node, {"type", "key"}, where)
            return self.array(node["key"], where)
        if kind == "str_array":
            return _str_array(node, where)
        if kind in ("list", "tuple"):
            _fields(node, {"type", "items"}, where)
            if not isinstance(node["items"], list):
                raise ValueError(f"{where} must hold a list of items.")
            items = [
                self.value(v, f"{where}[{i}]", depth + 1)
                for i, v in enumerate(node["items"])
            ]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            _fields(node, {"type", "items"}, where)
            items = _dict(node["items"], where)
            return {
                k: self.value(v, f"{where}[{k!r}]", depth + 1) for k, v in items.items()
            }
        if kind == "torch_device":
            _fields(node, {"type", "value"}, where)
            return _parse_device(node["value"], where)
        if kind == "ref":
            _fields(node, {"type", "id"}, where)
            ident = node["id"]
            if not _is_int(ident) or ident not in self.objects or ident in self.pending:
                raise ValueError(f"{where} refers to a missing object {_short(node)}.")
            return self.objects[ident]
        if kind == "estimator":
            return self.estimator(node, where, depth)
        raise ValueError(f"{where} has an unknown value type {_short(kind)}.")

    def estimator(self, node, where, depth):
        _fields(node, {"type", "class", "id", "params", "state"}, where)
        name = node["class"]
        if not isinstance(name, str) or name not in _FORMATS:
            raise ValueError(
                f"{where}: the file names the class {_short(name)}, which is not on "
                f"svlearn's allow-list {sorted(_ALLOWED)}; nothing was imported or "
                "run."
            )
        ident = node["id"]
        if not _is_int(ident) or ident in self.objects or ident in self.pending:
            raise ValueError(f"{where} has an invalid or repeated id {_short(ident)}.")
        fmt = _FORMATS[name]
        cls = fmt.cls
        raw_params = _dict(node["params"], f"{where}.params")
        unknown = sorted(set(raw_params) - (_signature(cls) - {"self"}))
        if unknown:
            raise ValueError(f"{where}: {name} takes no parameters {unknown}.")
        params = {
            k: self.value(v, f"{where}.{k}", depth + 1) for k, v in raw_params.items()
        }
        fmt.check_params(params, where)
        est = cls(**params)
        self.objects[ident] = est
        self.pending.add(ident)
        if inspect.getattr_static(cls, "_parameter_constraints", None) is not None:
            est._validate_params()
        state = _dict(node["state"], f"{where}.state")
        declared = fmt.attributes
        _check_declarations(fmt, cls)
        for attr in state:
            if attr not in declared:
                raise ValueError(
                    f"{where}: {_short(attr)} is not a fitted attribute that a "
                    f"model file may set on {name} (those are {sorted(declared)})."
                )
        # A class whose every declared attribute is optional (a Pipeline, a
        # stateless transformer) is checked always; others once fitted.
        if state or not _required(declared):
            self.fitted_state(est, fmt, state, where, depth)
        self.pending.discard(ident)
        return est

    def fitted_state(self, est, fmt, state, where, depth):
        declared = fmt.attributes
        missing = [a for a in _required(declared) if a not in state]
        if missing:
            raise ValueError(f"{where} is fitted only in part: it lacks {missing}.")
        for attr, kind in declared.items():
            if attr in state and attr not in fmt.custom:
                value = self.value(state[attr], f"{where}.{attr}", depth + 1)
                problem = _kind_problem(value, kind, f"{where}.{attr}")
                if problem:
                    raise ValueError(problem + ".")
                setattr(est, attr, value)
        names = getattr(est, "feature_names_in_", None)
        if names is not None and len(names) != est.n_features_in_:
            raise ValueError(
                f"{where}.feature_names_in_ names {len(names)} features, but "
                f"n_features_in_={est.n_features_in_}."
            )
        try:
            fmt.check(est)
        except (ValueError, TypeError) as exc:
            # A wrongly typed value in a file is a bad value of the file.
            raise ValueError(f"{where}: {exc}") from None
        for attr in fmt.custom:
            if attr in state:
                fmt.decode(est, attr, state[attr], self, f"{where}.{attr}")


def _str_array(node, where):
    _fields(node, {"type", "object", "shape", "items"}, where)
    items, shape = node["items"], node["shape"]
    if (
        not isinstance(items, list)
        or not all(isinstance(v, str) for v in items)
        or not isinstance(shape, list)
        or not all(_is_int(d) and d >= 0 for d in shape)
        or math.prod(shape) != len(items)
        or not isinstance(node["object"], bool)
    ):
        raise ValueError(f"{where} is not a valid array of strings.")
    return np.array(items, dtype=object if node["object"] else str).reshape(shape)


def _check_header(meta, path):
    if meta.get("format") != FORMAT or "spec" not in meta:
        raise ValueError(
            f"{path!r} is a safetensors file but not an svlearn model file "
            f"(format {meta.get('format')!r}, expected {FORMAT!r})."
        )
    version = meta.get("format_version", "")
    if not version.isdigit():
        raise ValueError(f"{path!r} has an invalid format version {version!r}.")
    if int(version) > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses format version {version}, newer than this svlearn "
            f"reads (version {FORMAT_VERSION}); upgrade svlearn to load it."
        )
    if int(version) < FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses format version {version}, written by an earlier "
            f"development version of svlearn, whose files are not checked as "
            f"version {FORMAT_VERSION} files are; load it with that version and "
            "save it again."
        )


def _read(path):
    """The metadata and arrays of a safetensors file, with clear errors."""
    from safetensors import SafetensorError, safe_open

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, "No svlearn model file at this path", path
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(
            errno.EISDIR,
            "This is a folder; svlearn.load takes the path of a model file",
            path,
        )
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path!r} is not a regular file, so not a model file.")
    if info.st_size == 0:
        raise ValueError(
            f"{path!r} is empty (0 bytes), not an svlearn model file; was it "
            "saved completely?"
        )
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            _check_header(meta, path)
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, TypeError, OverflowError) as exc:
        raise ValueError(
            f"{path!r} is not a readable svlearn model file (truncated or not a "
            f"safetensors file): {exc}"
        ) from None
    return meta, arrays


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
    meta, arrays = _read(path)
    header = meta["spec"]
    expected = _digest(f"{FORMAT}\0{meta['format_version']}\0{header}", arrays)
    if meta.get("sha256") != expected:
        raise ValueError(
            f"{path!r} has been altered or corrupted: its content does not match "
            "the SHA-256 digest recorded when it was saved."
        )
    try:
        spec = json.loads(header, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path!r} holds an unreadable description: {exc}") from None
    if not isinstance(spec, dict) or set(spec) != {"root", "versions"}:
        raise ValueError(f"{path!r} does not describe an estimator.")
    _check_versions(spec["versions"], path)
    root = spec["root"]
    if not isinstance(root, dict) or root.get("type") != "estimator":
        raise ValueError(f"{path!r} does not describe an estimator.")
    reader = _Reader(arrays)
    try:
        estimator = reader.value(root, "estimator")
        _require_fitted(estimator, "estimator")
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


def _refuse_constant(name):
    raise ValueError(f"the JSON constant {name} is not allowed")
