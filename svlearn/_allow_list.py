# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""The allow-list: the only classes a model file may name, each with its format.

A file names a class by its allow-list name (``"svlearn.SVDLight"``); this
library, never the file, maps the name to a :class:`~svlearn._model_formats.Format`
and imports the class from the module the format names.
"""

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._model_formats import (
    Format,
    FrozenFormat,
    PCAFormat,
    PipelineFormat,
    ScalerFormat,
)
from ._regressor_format import RegressorFormat

# The only classes a file may name: the name written in the file maps to the
# format, whose module and attribute this library (never the file) imports.
# Each is round-tripped in tests/test_persistence.py.
FORMATS = {
    "svlearn.SingularValueRegressor": RegressorFormat(),
    "svlearn.MeanSpectrumRegressor": Format("svlearn", "MeanSpectrumRegressor"),
    "svlearn.MatrixWindowTransformer": Format("svlearn", "MatrixWindowTransformer"),
    "svlearn.SVDLight": Format("svlearn", "SVDLight"),
    "sklearn.pipeline.Pipeline": PipelineFormat(),
    "sklearn.frozen.FrozenEstimator": FrozenFormat(),
    "sklearn.preprocessing.StandardScaler": ScalerFormat(),
    "sklearn.decomposition.PCA": PCAFormat(),
}
ALLOWED = {name: (fmt.module, fmt.name) for name, fmt in FORMATS.items()}
JOBLIB_HINT = (
    "svlearn.save stores only svlearn estimators, sklearn Pipelines of them and "
    f"these classes: {sorted(ALLOWED)}. Use joblib.dump for anything else (a "
    "pickle: load it only from sources you trust)."
)


def class_name(obj):
    """The allow-list name of ``type(obj)``, or None when it is not listed."""
    cls = type(obj)
    for name, fmt in FORMATS.items():
        # Compare the class object itself: a subclass, or a class of the same
        # name from another module, is not on the list.
        if cls.__name__ == fmt.name and fmt.cls is cls:
            return name
    return None


def format_of(est):
    """The :class:`Format` of an allowed estimator, or None."""
    name = class_name(est)
    return None if name is None else FORMATS[name]


def require_fitted(est, where):
    """Raise NotFittedError unless ``est`` and the parts it predicts with are fitted.

    A Pipeline's steps and a FrozenEstimator's estimator must be fitted, not
    just the final step that sklearn's check looks at; a stateless estimator
    (tag ``requires_fit=False``) passes.
    """
    # Parts first, so that the message names the step that is not fitted.
    fmt = format_of(est)
    for part_where, part in [] if fmt is None else fmt.parts(est, where):
        require_fitted(part, part_where)
    try:
        check_is_fitted(est)
    except NotFittedError as exc:
        raise NotFittedError(f"{where}: {exc}") from None
