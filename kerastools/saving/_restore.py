"""Putting a state read by `_saved_state.read_state` back into a freshly loaded model.

Every stored variable is matched to a live one (model variables through the
saved list of paths, optimizer variables by key, see
`_saved_state.optimizer_keys`) and every value is checked before anything is
assigned; each error is a `ValueError` naming the file and the dataset.
"""

import keras
import numpy as np

from kerastools.saving._saved_state import extra_model_variables, invalid, optimizer_keys


def _keyed(items, key_of):
    """`{(key, k): item}` where k counts earlier items with the same key."""
    seen, keyed = {}, {}
    for item in items:
        key = key_of(item)
        k = seen.get(key, 0)
        seen[key] = k + 1
        keyed[(key, k)] = item
    return keyed


def _label(key):
    path, k = key
    return path if k == 0 else f"{path} (#{k + 1})"


class _Translation:
    """Maps the paths of the saved model's variables to the loaded model's variables.

    Keras restores weights by their place in the model, but the paths it gives
    the rebuilt variables can differ from the saved ones (a ``.keras`` file
    rebuilds layers outside the model's name scope: ``dense/kernel`` instead of
    ``sequential/dense/kernel``). Files list the paths of `model.variables` in
    order; the i-th saved path names the loaded model's i-th variable, after
    checking that counts agree. Files without the list match paths as they are.
    """

    def __init__(self, model, saved_paths, source):
        live = list(model.variables)
        if saved_paths is None:
            self._by_key = _keyed(live, lambda v: str(v.path))
            return
        if len(saved_paths) != len(live):
            raise ValueError(
                f"The file {source!r} lists {len(saved_paths)} model variables but the loaded model "
                f"has {len(live)}: the file was edited or the model classes changed."
            )
        keys = list(_keyed(saved_paths, lambda p: p))
        self._by_key = dict(zip(keys, live))

    def find(self, paths):
        """The live variables for `paths` (saved paths), and the keys that have none."""
        wanted = list(_keyed(paths, lambda p: p))
        return [self._by_key.get(key) for key in wanted], [_label(key) for key in wanted if key not in self._by_key]


def _match(variables, saved, source, what, key_of, saved_key_of):
    """Pair each live variable with the saved value of the same key; ValueError naming the unmatched."""
    live = _keyed(variables, key_of)
    stored = _keyed(saved, saved_key_of)
    unmatched_saved = [f"{stored[k].path} (dataset {stored[k].dataset!r}, key {_label(k)!r})" for k in stored if k not in live]
    unmatched_live = [f"{live[k].path} (key {_label(k)!r})" for k in live if k not in stored]
    if unmatched_saved or unmatched_live:
        raise ValueError(
            f"The {what} variables in {source!r} do not match the loaded model's: saved but "
            f"not in the model {unmatched_saved}, in the model but not saved {unmatched_live}. "
            "The file was edited, or the model or optimizer differs from the one saved."
        )
    return [(live[key], stored[key]) for key in live]


def _match_by_position(variables, saved, source, what):
    """Files of kerastools before optimizer keys: variables in `optimizer.variables` order."""
    if len(variables) != len(saved):
        raise ValueError(
            f"The file {source!r} holds {len(saved)} {what} variables but the loaded model has "
            f"{len(variables)}: saved {[s.path for s in saved]}, expected {[v.path for v in variables]}."
        )
    return list(zip(variables, saved))


def _check_value(variable, saved, source, what, *, optimizer):
    """Raise a ValueError naming the file and the dataset if `saved` cannot be `variable`'s value."""
    value, where = saved.value, f"dataset '{saved.dataset}' ({what} variable {saved.path!r})"
    expected_dtype = np.dtype(keras.backend.standardize_dtype(variable.dtype))
    if value.dtype != expected_dtype:
        raise invalid(source, where, f"dtype {value.dtype}, but the variable has dtype {expected_dtype}")
    if tuple(value.shape) != tuple(variable.shape):
        raise invalid(source, where, f"shape {tuple(value.shape)}, but the variable has shape {tuple(variable.shape)}")
    if not optimizer:
        return
    name = saved.path.rsplit("/", 1)[-1]
    if value.dtype.kind in "iu" and value.size and value.min() < 0:
        raise invalid(source, where, f"a negative count {value.min()}")
    if value.dtype.kind == "f":
        if not np.all(np.isfinite(value)):
            raise invalid(source, where, "non-finite values (NaN or infinity)")
        if name == "learning_rate" and np.any(value < 0):
            raise invalid(source, where, f"a negative learning rate {value}")
        if name == "dynamic_scale" and np.any(value <= 0):
            raise invalid(source, where, f"a loss scale {value} that is not positive")


def _assign(pairs):
    for variable, saved in pairs:
        variable.assign(saved.value)


def _optimizer_class_name(config):
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        return optimizer.get("class_name")
    return None


def restore_state(model, state, *, compile, custom_objects, safe_mode, source):
    """Put the state read by `read_state` back into a freshly loaded `model`.

    Everything is matched and checked before anything is assigned.
    """
    translation = _Translation(model, state.get("model_variables"), source)
    extra = extra_model_variables(model)
    if state.get("model_variables") is None:  # a file of kerastools before paths were kept
        seeds = _match_by_position(extra, state["model_state"], source, "random-seed state")
    else:
        found, absent = translation.find([saved.path for saved in state["model_state"]])
        unsaved = [str(v.path) for v in extra if all(v is not f for f in found)]
        if absent or unsaved or len(found) != len(extra):
            raise ValueError(
                f"The random-seed state variables in {source!r} do not match the loaded model's: saved "
                f"but not in the model {absent}, in the model but not saved {unsaved}. The file was "
                "edited, or the model differs from the one saved."
            )
        seeds = list(zip(found, state["model_state"]))
    for variable, saved in seeds:
        _check_value(variable, saved, source, "random-seed state", optimizer=False)
    if compile and state["optimizer_iterations"] is not None:
        # A ``.keras`` file of an older kerastools: Keras restored the optimizer
        # itself. It only warns when it cannot, so check that the step count came back.
        optimizer = getattr(model, "optimizer", None)
        got = None if optimizer is None else int(keras.ops.convert_to_numpy(optimizer.iterations))
        if got != state["optimizer_iterations"]:
            raise ValueError(
                f"The optimizer state in {source!r} was not restored: the optimizer's iteration "
                f"count is {got} after loading, {state['optimizer_iterations']} when saved."
            )
    if not compile or state["compile_config"] is None:
        _assign(seeds)
        return
    # Deserialised here rather than with `model.compile_from_config` so that
    # `safe_mode` and `custom_objects` reach every nested object (lambdas in a
    # loss or a schedule are refused in safe mode, as in the architecture).
    try:
        config = keras.saving.deserialize_keras_object(state["compile_config"], custom_objects=custom_objects, safe_mode=safe_mode)
        model.compile(**config)
    except Exception as err:  # unknown custom objects, lambdas in safe mode, bad arguments
        raise ValueError(f"Could not compile the model in {source!r} from its stored compile configuration: {err}") from err
    optimizer = model.optimizer
    if type(optimizer).__name__ != state["optimizer_class"]:
        raise ValueError(
            f"The file {source!r} holds the state of a {state['optimizer_class']} optimizer, but its "
            f"compile configuration builds a {type(optimizer).__name__} (class {_optimizer_class_name(state['compile_config'])!r}); "
            "the file was edited."
        )
    if not state["optimizer_built"]:
        held = []
    elif state["optimizer_built_for"] is None:  # no record: what `fit` does
        held = list(model.trainable_variables)
    else:
        held, absent = translation.find(state["optimizer_built_for"])
        if absent:
            raise ValueError(
                f"The optimizer in {source!r} was built for model variables that the loaded "
                f"model does not have: {absent}."
            )
    if state["optimizer_built"]:
        # The same call `fit` makes, on the variables the optimizer held when saved.
        optimizer.build(held)
    variables = list(optimizer.variables)
    if all(saved.key is not None for saved in state["optimizer"]):
        keys = optimizer_keys(optimizer, held)
        pairs = _match(variables, state["optimizer"], source, "optimizer", lambda v: keys[id(v)], lambda s: s.key)
    else:
        pairs = _match_by_position(variables, state["optimizer"], source, "optimizer")
    for variable, saved in pairs:
        _check_value(variable, saved, source, "optimizer", optimizer=True)
    _assign(seeds)
    _assign(pairs)
