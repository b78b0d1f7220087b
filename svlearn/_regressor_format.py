# Authors: The svlearn developers
# SPDX-License-Identifier: BSD-3-Clause
"""How model files store a SingularValueRegressor: its attributes and its network.

The network is stored as its module's settings and weights. On load the
settings are checked against the estimator's own parameter constraints, the
architecture they declare is compared with the stored weights on torch's
``meta`` device (which allocates nothing), and only then is the net rebuilt by
:func:`svlearn._training.net_for_weights`.
"""

import math
import warnings

from ._model_formats import (
    MAX_ITERATIONS,
    MAX_SIZE,
    Format,
    brief,
    check_fields,
    init_parameters,
    is_int,
    json_object,
    parse_device,
    shape_problem,
)


class RegressorFormat(Format):
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
                "log_det_range_": "float array?",
                "net_": "network",
            },
        )

    def check(self, est):
        m, n = est.matrix_shape_
        problems = [p for p in [shape_problem(est)] if p]
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

        check_fields(node, {"type", "device", "module_params", "state_dict"}, where)
        if node["type"] != "skorch_net":
            raise ValueError(f"{where} must be a network, got type {node['type']!r}.")
        names = init_parameters(SpectrumMLP) - {"self"}
        raw = json_object(node["module_params"], f"{where}.module_params")
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
        keys = json_object(node["state_dict"], f"{where}.state_dict")
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
        devices = [parse_device(node["device"], f"{where}.device")]
        devices.append(parse_device(est.device, "device"))
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
            from ._training import net_for_weights, restore_history

            net = net_for_weights(est, est.matrix_shape_, params)
            net.module_.load_state_dict(
                {k: torch.from_numpy(arr) for k, arr in stored.items()}, strict=True
            )
            restore_history(net, est)
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
            and all(is_int(s) and 1 <= s <= MAX_SIZE for s in sizes)
            and len(sizes) < n_arrays
        ):
            raise ValueError(
                f"{where}: module__hidden_layer_sizes must be a tuple of at most "
                f"{n_arrays - 1} positive ints (the file stores {n_arrays} weight "
                f"arrays), got {brief(sizes)}."
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
            "log_det_range_": (2,),
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


def _refine_vectors(est):
    """Vectors of a regressor's refinement tier (8 in files without its route)."""
    return getattr(est, "refine_route_", (8,))[0]
