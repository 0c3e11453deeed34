"""Turns a gradient-check target (layer, model or function) into a scalar cost.

`build_problem` returns the names and float64 values of the quantities checked
and a TensorFlow function ``cost(values) -> scalar``, evaluated statelessly so
that it can be vectorised over stacks of perturbed values.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from kerastools.gradcheck._cloning import accepts_training, cast_floats, clone_with_dtype
from kerastools._validation import check_choice


@dataclasses.dataclass
class Problem:
    names: list
    values: list
    cost: object  # callable(list of tensors) -> scalar tensor


def _float_leaves(x):
    """Paths and values of the floating-point arrays in a nested input."""
    leaves = keras.tree.flatten(x)
    if len(leaves) == 1:
        names = ["input"]
    else:
        names = [f"input[{i}]" for i in range(len(leaves))]
    return [
        (i, name, leaf)
        for i, (name, leaf) in enumerate(zip(names, leaves))
        if np.issubdtype(np.asarray(leaf).dtype, np.floating)
    ]


def _resolve_loss(loss, y, target, dtype):
    if loss is None and y is not None:
        loss = getattr(target, "loss", None)
        if loss is None:
            raise ValueError(
                "Argument `loss` is required when `y` is given and the target is not a "
                f"compiled model. Received: loss={loss!r}"
            )
    if loss is None:
        return None
    if y is None:
        raise ValueError(f"Argument `y` is required when `loss` is given. Received: y={y!r}")
    loss_obj = keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss
    if isinstance(loss_obj, keras.losses.Loss):
        if dtype is not None:
            # Keras losses compute in their own dtype (float32 by default); a
            # float32 loss would throw away the precision the check needs.
            config = loss_obj.get_config()
            config["dtype"] = dtype
            loss_obj = loss_obj.__class__.from_config(config)
        return loss_obj
    if not callable(loss_obj):
        raise TypeError(f"Argument `loss` must be a Keras loss or a callable. Received: loss={loss!r}")
    return lambda y_true, y_pred: keras.ops.mean(loss_obj(y_true, y_pred))


def _objective(loss_fn, y, projection):
    """``loss(y, out) + sum(losses)``, or ``sum(v * out) + sum(losses)`` without a loss."""

    def objective(outputs, losses):
        if loss_fn is not None:
            value = loss_fn(y, outputs)
        else:
            terms = [
                tf.reduce_sum(tf.cast(o, tf.float64) * v)
                for o, v in zip(keras.tree.flatten(outputs), projection)
                if v is not None
            ]
            value = tf.add_n(terms)
        value = tf.cast(tf.reshape(value, []), tf.float64)
        for extra in losses:
            value = value + tf.cast(extra, tf.float64)
        return value

    return objective


def _projection(outputs, rng):
    """One fixed random vector per floating-point output (`None` for others); a
    scalar output is used as it is."""
    vectors = []
    for o in keras.tree.flatten(outputs):
        o = np.asarray(o)
        if o.ndim == 0 and np.issubdtype(o.dtype, np.floating):
            vectors.append(tf.constant(1.0, tf.float64))  # a scalar output is the cost
        elif np.issubdtype(o.dtype, np.floating):
            vectors.append(tf.constant(rng.standard_normal(o.shape), tf.float64))
        else:
            vectors.append(None)
    return vectors


def build_problem(target, x, y, loss, wrt, training, dtype, seed, call_kwargs=None):
    """See `kerastools.gradcheck.check_gradients` for the arguments."""
    rng = np.random.default_rng(seed)
    is_layer = isinstance(target, keras.layers.Layer)
    if not is_layer and not callable(target):
        raise TypeError(
            "Argument `target` must be a Keras layer, a Keras model or a Python function. "
            f"Received: target={target!r}"
        )
    if call_kwargs is not None and not isinstance(call_kwargs, dict):
        raise TypeError(f"Argument `call_kwargs` must be a dict. Received: call_kwargs={call_kwargs!r}")
    call_kwargs = dict(call_kwargs or {})
    if wrt is None:
        wrt = "weights" if is_layer else "inputs"
    check_choice("wrt", wrt, ("weights", "inputs", "both"))
    if not is_layer and wrt != "inputs":
        raise ValueError(
            "A function target has no weights: use wrt='inputs'. "
            f"Received: wrt={wrt!r}"
        )
    if is_layer and not target.built:
        # Build the user's target (as its first call would) so that the report
        # can name its own variables and the check runs on its own initial
        # values; a copy built alone would carry names of its own
        # ("sequential/mine_1/kernel"). Values of a built target are never changed.
        build_kwargs = {"training": False} if accepts_training(target) else {}
        target(keras.tree.map_structure(tf.convert_to_tensor, x), **build_kwargs, **call_kwargs)
    x = cast_floats(x, dtype) if dtype is not None else x
    y = cast_floats(y, dtype) if (dtype is not None and y is not None) else y
    loss_fn = _resolve_loss(loss, y, target, dtype)
    inputs = _float_leaves(x) if wrt in ("inputs", "both") else []
    # Layer.__call__ turns arrays into tensors, but stateless_call goes straight
    # to `call`: hand it tensors, as a layer expects.
    x = keras.tree.map_structure(tf.convert_to_tensor, x)
    leaves = keras.tree.flatten(x)
    if wrt in ("inputs", "both") and not inputs:
        raise ValueError("wrt='inputs' needs floating-point inputs; `x` has none.")

    if is_layer:
        model = clone_with_dtype(target, x, dtype) if dtype is not None else target
        weights = list(model.trainable_variables)
        # The copy's variables correspond to the target's in order (their values
        # were copied that way); report them under the target's own paths.
        user_paths = {id(copy): own.path for own, copy in zip(target.variables, model.variables)}
        weight_names = [user_paths.get(id(v), v.path) for v in weights]
        fixed = [v.value for v in model.non_trainable_variables]
        weight_values = [keras.ops.convert_to_numpy(v) for v in weights]
        kwargs = {"training": training} if accepts_training(model) else {}
        kwargs.update(call_kwargs)

        def forward(weight_tensors, x_struct):
            outputs, _, losses = model.stateless_call(
                weight_tensors, fixed, x_struct, return_losses=True, **kwargs
            )
            return outputs, losses

    else:
        weights, weight_values, weight_names = [], [], []

        def forward(weight_tensors, x_struct):
            return target(x_struct, **call_kwargs), []

    current_weights = [tf.constant(v) for v in weight_values]
    projection = None
    if loss_fn is None:
        projection = _projection(forward(current_weights, x)[0], rng)
    objective = _objective(loss_fn, y, projection)

    checked_weights = wrt in ("weights", "both")
    names, values = [], []
    if checked_weights:
        if not weights:
            raise ValueError(f"`{target.name}` has no trainable weights to check; use wrt='inputs'.")
        names += weight_names
        values += weight_values
    names += [name for _, name, _ in inputs]
    values += [np.asarray(leaf) for _, _, leaf in inputs]

    def cost(params):
        w = params[: len(weights)] if checked_weights else current_weights
        rest = params[len(weights) :] if checked_weights else params
        new_leaves = list(leaves)
        for (i, _, _), value in zip(inputs, rest):
            new_leaves[i] = value
        x_struct = keras.tree.pack_sequence_as(x, new_leaves)
        outputs, losses = forward(w, x_struct)
        return objective(outputs, losses)

    return Problem(names=names, values=values, cost=cost)
