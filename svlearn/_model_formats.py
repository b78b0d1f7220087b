# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""How model files describe a class: the :class:`Format`, and what values may hold.

A :class:`Format` is the one mechanism through which the generic writer and
reader (``_model_tree``) see an allowed class: the fitted attributes a file may
restore, each with a kind from ``_KINDS`` that its value must have; the
constructor parameters a file may never hold; the check that a restored state
is one ``fit`` could have made; and any state that is not plain data. The
formats of scikit-learn's allowed classes are here; the regressor's is in
``_regressor_format``, and the list of allowed classes in ``_allow_list``. The
helpers below check the JSON nodes of a description as untrusted input.
"""

import importlib
import inspect

import numpy as np
from sklearn.base import BaseEstimator

# Subspace iteration steps a file may ask for (the "ritz" and "subspace" heads,
# MeanSpectrumRegressor): predict's cost grows with them, and a crafted file
# must not turn one predict call into hours. Far above useful values (1 to 4).
MAX_ITERATIONS = 1000
# Sizes (matrix sides, layer widths) beyond any real model.
MAX_SIZE = 2**31 - 1


# --- What a fitted attribute may hold -----------------------------------------
# Kinds are named in declarations as "kind", "kind|other" (either) and a
# trailing "?" (fit may leave the attribute unset).


def is_int(v):
    """Whether ``v`` is a Python or numpy integer (bools are not)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


_KINDS = {
    "None": ("None", lambda v: v is None),
    "bool": ("a bool", lambda v: isinstance(v, (bool, np.bool_))),
    "int": ("a non-negative int", lambda v: is_int(v) and 0 <= v < 2**63),
    "float": ("a float", lambda v: isinstance(v, (float, np.floating))),
    "number": (
        "a number",
        lambda v: is_int(v) or isinstance(v, (float, np.floating)),
    ),
    "str": ("a str", lambda v: isinstance(v, str)),
    "shape": (
        "a tuple of two positive ints",
        lambda v: (
            type(v) is tuple
            and len(v) == 2
            and all(type(d) is int and 1 <= d <= MAX_SIZE for d in v)
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


def kind_problem(value, kind, where):
    """A sentence saying why ``value`` is not of ``kind``, or None."""
    alternatives = kind.rstrip("?").split("|")
    if any(_KINDS[alt][1](value) for alt in alternatives):
        return None
    wanted = " or ".join(_KINDS[alt][0] for alt in alternatives)
    return f"{where} must be {wanted}, got {brief(value)}"


def brief(value):
    """``value`` as a message shows it: an array by dtype and shape, else a repr."""
    if isinstance(value, np.ndarray):
        return f"an ndarray of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- One format per allowed class ---------------------------------------------


class Format:
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


def shape_problem(est):
    """What is wrong with a restored ``n_features_in_``, or None.

    A fitted matrix estimator's ``n_features_in_`` is the number of entries
    of its ``matrix_shape_``.
    """
    m, n = est.matrix_shape_
    if est.n_features_in_ != m * n:
        return (
            f"n_features_in_={est.n_features_in_} but matrix_shape_="
            f"{est.matrix_shape_} matrices have {m * n} entries"
        )
    return None


def required_attributes(declared):
    """The declared attributes that every fitted state holds (kind without "?")."""
    return [attr for attr, kind in declared.items() if not kind.endswith("?")]


def init_parameters(cls):
    """The names of the parameters of ``cls.__init__``, ``self`` included."""
    return set(inspect.signature(cls.__init__).parameters)


def check_fields(node, expected, where):
    """Raise ValueError unless ``node`` is a JSON object with exactly these fields."""
    if not isinstance(node, dict) or set(node) != set(expected):
        got = sorted(node) if isinstance(node, dict) else brief(node)
        raise ValueError(f"{where} must have the fields {sorted(expected)}, got {got}.")


def json_object(node, where):
    """``node``, after checking that it is a JSON object (a dict)."""
    if not isinstance(node, dict):
        raise ValueError(f"{where} must be a JSON object, got {brief(node)}.")
    return node


def parse_device(value, where):
    """The torch device ``value`` names; ValueError when it names none."""
    import torch

    try:
        return torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"{where}={brief(value)} is not a torch device such as 'cpu' or 'cuda'."
        ) from None


class PipelineFormat(Format):
    """Pipeline: its steps; ``memory`` is never stored."""

    def __init__(self):
        super().__init__("sklearn.pipeline", "Pipeline", {})

    def check_params(self, params, where):
        memory = params.get("memory")
        if memory is not None:
            raise ValueError(
                f"{where}.memory={brief(memory)}: a Pipeline's memory is a folder "
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
                raise ValueError(f"steps[{i}] holds {brief(part)}, not an estimator.")
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


class FrozenFormat(Format):
    """FrozenEstimator: the fitted estimator it wraps."""

    def __init__(self):
        super().__init__("sklearn.frozen", "FrozenEstimator", {})

    def check_params(self, params, where):
        if not isinstance(params.get("estimator"), BaseEstimator):
            raise ValueError(
                f"{where}.estimator must be an estimator, got "
                f"{brief(params.get('estimator'))}."
            )

    def parts(self, est, where):
        return [(f"{where}.estimator", est.estimator)]


def _check_lengths(est, names, n, problems):
    """Add a problem for each array attribute in ``names`` not of shape (n,)."""
    for attr in names:
        value = getattr(est, attr)
        if isinstance(value, np.ndarray) and value.shape != (n,):
            problems.append(f"{attr} has shape {value.shape}, not ({n},)")


class ScalerFormat(Format):
    """StandardScaler: its statistics, one per feature."""

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


class PCAFormat(Format):
    """PCA: its components and their statistics."""

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
