# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""Find the public estimators of svlearn (used by the common tests)."""

import inspect

from sklearn.base import BaseEstimator


def all_estimators():
    """Public estimator classes exported by :mod:`svlearn`, sorted by name.

    Every scikit-learn estimator in ``svlearn.__all__``: the classes that the
    common tests run scikit-learn's estimator checks on.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs.

    See Also
    --------
    sklearn.utils.discovery.all_estimators : The same for scikit-learn.

    Examples
    --------
    >>> from svlearn.utils import all_estimators
    >>> "SingularValueRegressor" in dict(all_estimators())
    True
    """
    import svlearn

    found = []
    for name in svlearn.__all__:
        obj = getattr(svlearn, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            found.append((name, obj))
    return sorted(found)
