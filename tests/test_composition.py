# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
import subprocess
import sys

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from svlearn import SingularValueRegressor
from svlearn.metrics import nmse_scorer

FAST = dict(hidden_layer_sizes=(16,), max_iter=2, batch_size=64, random_state=0)


def test_clone_keeps_parameters_and_drops_fit(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "net_")


def test_pipeline_and_cross_val_score_self_supervised(matrices):
    pipe = make_pipeline(FunctionTransformer(np.abs), SingularValueRegressor(**FAST))
    scores = cross_val_score(pipe, matrices, cv=KFold(3), scoring=nmse_scorer)
    assert scores.shape == (3,) and np.all(np.isfinite(scores)) and np.all(scores < 0)


def test_grid_search_refits_the_best_network_on_all_matrices(matrices):
    search = GridSearchCV(
        SingularValueRegressor(**FAST),
        {"hidden_layer_sizes": [(8,), (16, 16)], "dropout": [0.0, 0.1]},
        scoring=nmse_scorer,
        cv=2,
    ).fit(matrices)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and search.best_index_ == np.argmax(scores)
    # Networks of different sizes learn differently: the search saw a choice.
    assert len(np.unique(scores)) > 1
    # The refit is the best candidate trained on every matrix (seeded).
    best = SingularValueRegressor(**{**FAST, **search.best_params_}).fit(matrices)
    np.testing.assert_allclose(
        search.predict(matrices), best.predict(matrices), rtol=1e-6
    )


def _roundtrip_in_fresh_process(obj, X, tmp_path):
    model, data, out = tmp_path / "model.joblib", tmp_path / "X.npy", tmp_path / "p.npy"
    joblib.dump(obj, model)
    np.save(data, X)
    code = (
        "import joblib, numpy as np; "
        f"m = joblib.load({str(model)!r}); "
        f"np.save({str(out)!r}, m.predict(np.load({str(data)!r})))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    return np.load(out)


def test_joblib_roundtrip_estimator_in_fresh_process(fitted, matrices, tmp_path):
    loaded = _roundtrip_in_fresh_process(fitted, matrices, tmp_path)
    np.testing.assert_array_equal(loaded, fitted.predict(matrices))


def test_joblib_roundtrip_pipeline_in_fresh_process(matrices, tmp_path):
    pipe = make_pipeline(FunctionTransformer(np.abs), SingularValueRegressor(**FAST))
    pipe.fit(matrices)
    loaded = _roundtrip_in_fresh_process(pipe, matrices, tmp_path)
    np.testing.assert_array_equal(loaded, pipe.predict(matrices))
