"""Float64 copies of Keras layers and models, for gradient checking.

The copy is rebuilt from the target's config with a float64 dtype policy and
receives the target's variable values, so the user's object is never modified.
"""

import contextlib
import inspect

import keras
import numpy as np

from kerastools._validation import check_choice


@contextlib.contextmanager
def _global_dtype_policy(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _rebuild(layer, dtype):
    """A new layer from `layer`'s config with its dtype policy replaced by `dtype`."""
    if isinstance(layer, keras.Model):
        return _clone(layer, dtype)
    config = layer.get_config()
    if "dtype" in config:
        config["dtype"] = dtype
    # Sublayers created in `__init__` without an explicit dtype follow the global
    # policy, so set it too.
    with _global_dtype_policy(dtype):
        return layer.__class__.from_config(config)


def _input_like(tensor, dtype):
    """A new `keras.Input` like `tensor`, in `dtype` when it is floating-point."""
    floating = keras.backend.is_float_dtype(tensor.dtype)
    return keras.Input(batch_shape=tensor.shape, dtype=dtype if floating else tensor.dtype)


def _clone(target, dtype, x=None):
    if isinstance(target, keras.Sequential) and not target.built and x is not None:
        # A Sequential without an `Input` would build a float32 input layer and
        # cast perturbed float64 inputs down; give it a float64 input first.
        layers = [_rebuild(layer, dtype) for layer in target.layers]
        return keras.Sequential(
            [keras.Input(batch_shape=(None, *np.shape(x)[1:]), dtype=dtype), *layers],
            name=target.name,
        )
    if isinstance(target, keras.Model):
        try:
            # Functional models cast inputs to their `Input` dtype: clone the
            # inputs as float64 too, or perturbations would be rounded to float32.
            if isinstance(target, keras.Sequential):
                inputs = _input_like(target.inputs[0], dtype)
            else:
                inputs = keras.tree.map_structure(lambda t: _input_like(t, dtype), target.input)
            return keras.models.clone_model(
                target, input_tensors=inputs, clone_function=lambda l: _rebuild(l, dtype)
            )
        except (ValueError, TypeError, NotImplementedError, AttributeError):
            pass  # a subclassed model: fall back to its own config below
    try:
        config = target.get_config()
    except NotImplementedError as error:
        raise ValueError(
            f"Cannot make a {dtype} copy of `{target.name}`: its `get_config` is not "
            f"implemented. Implement `get_config`, or pass `dtype=None` to check the "
            f"target in its own dtype."
        ) from error
    if "dtype" in config:
        config["dtype"] = dtype
    try:
        with _global_dtype_policy(dtype):
            return target.__class__.from_config(config)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Cannot make a {dtype} copy of `{target.name}` from its config ({error}). "
            f"Give its class (and its sublayers' classes) a `get_config` whose keys its "
            f"constructor accepts, with `**kwargs` passed to the base class, or pass "
            f"`dtype=None` to check the target in its own dtype."
        ) from error


def cast_floats(structure, dtype):
    """Cast every floating-point array in a nested structure to `dtype` (NumPy)."""

    def cast(a):
        a = np.asarray(a)
        return a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a

    return keras.tree.map_structure(cast, structure)


def clone_with_dtype(target, x, dtype="float64"):
    """Return a copy of layer or model `target` computing in `dtype`, built on `x`.

    Variable values (weights, moving statistics, random-seed states) are copied
    from `target` when it is built; an unbuilt target is left unbuilt and the copy
    keeps its freshly initialised values.
    """
    check_choice("dtype", dtype, ("float64", "float32"))
    clone = _clone(target, dtype, x)
    x = cast_floats(x, dtype)
    clone(x, training=False) if accepts_training(clone) else clone(x)
    wrong = [
        v.path for v in clone.variables if keras.backend.is_float_dtype(v.dtype) and v.dtype != dtype
    ]
    if wrong:
        raise ValueError(
            f"Could not make a {dtype} copy of `{target.name}`: variables {wrong} stay in "
            f"another dtype (a sublayer fixes its own dtype). Pass `dtype=None` to check "
            f"the target itself."
        )
    if target.built and target.variables:
        source, dest = target.variables, clone.variables
        if len(source) != len(dest):
            raise ValueError(
                f"The {dtype} copy of `{target.name}` has {len(dest)} variables but the "
                f"target has {len(source)}; pass `dtype=None` to check the target itself."
            )
        for s, d in zip(source, dest):
            if tuple(s.shape) != tuple(d.shape):
                raise ValueError(
                    f"Variable `{s.path}` has shape {tuple(s.shape)} but its {dtype} copy "
                    f"has shape {tuple(d.shape)}; pass `dtype=None` to check the target itself."
                )
            d.assign(np.asarray(keras.ops.convert_to_numpy(s)).astype(d.dtype))
    return clone


def accepts_training(layer):
    """Whether `layer.call` takes a `training` argument."""
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False

