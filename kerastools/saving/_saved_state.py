"""The training state that Keras's HDF5 writer leaves out, stored in one HDF5 group.

Layout of the group (``/kerastools`` in an ``.h5`` file, the root of the
``kerastools.h5`` member of a ``.keras`` archive)::

    attrs: format_version, kerastools_version, keras_version,
           model_variables (JSON list of the paths of `model.variables`),
           compile_config (JSON of `model.get_compile_config()`; absent if the
           model was not compiled), checkpoint (JSON, only in checkpoints)
    optimizer/            attrs: class_name, built, count, built_for (JSON list
                          of the paths of the model variables the optimizer
                          was built for)
        000000 ... 00000N one dataset per `optimizer.variables` entry, attrs
                          `path` and `key` (see `optimizer_keys`): iteration
                          count, learning rate, slots, loss-scale counters,
                          EMA and gradient accumulators
    model_state/          attrs: count
        000000 ...        `model.variables` that are not `model.weights`, attr
                          `path`: the states of the `SeedGenerator`s behind
                          Dropout & co.

Restoring matches every stored variable to the live one with the same path,
never by position: model variables by `variable.path` (translated through
``model_variables`` to the loaded model's paths, which Keras may name
differently), optimizer variables by their key, the path relative to the
optimizer and to the model variable a slot belongs to. Then it checks each value before assigning anything: its dtype and shape
must be those of the variable, floating-point optimizer values must be finite,
integer counters non-negative, a learning rate non-negative and a loss scale
positive. The optimizer is built for the model variables it held when saved
(``built_for``), which need not be `model.trainable_variables`: a layer frozen
after training without recompiling keeps its slots.

Every error is a `ValueError` naming the file (`source`) and the dataset or
attribute at fault.
"""

import json
import zlib

import h5py
import keras
import numpy as np

from kerastools._version import __version__

GROUP = "kerastools"
FORMAT_VERSION = 1
CHECKSUM_ATTR = "content_crc32"


def _json_default(obj):
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable: {obj!r}")


def _write_variables(group, variables, keys=None):
    group.attrs["count"] = len(variables)
    for index, variable in enumerate(variables):
        value = keras.ops.convert_to_numpy(variable)
        dataset = group.create_dataset(f"{index:06d}", data=value)
        dataset.attrs["path"] = str(variable.path)
        if keys is not None:
            dataset.attrs["key"] = keys[id(variable)]


def optimizer_keys(optimizer, held):
    """`{id(variable): key}` for `optimizer.variables`: names that survive reloading.

    Paths of optimizer variables depend on where the optimizer was built (the
    inner optimizer of a `LossScaleOptimizer` gets the outer one's scope or not)
    and on the model variables' paths. The key is ``<depth>/<class>/<name>``:
    `depth` is 0 for the optimizer itself, 1 for its `inner_optimizer`, ...;
    `class` the class name of the optimizer at that depth (so a slot never
    goes to an optimizer of another class); `name` the last part of the path,
    where the prefix Keras derives from the model variable of a slot
    (``sequential_dense_kernel_`` in ``adam/sequential_dense_kernel_momentum``)
    is replaced by ``{i}_``, `i` being the index of that variable in `held`
    (the variables the optimizer was built for): ``0/LossScaleOptimizer/
    step_counter``, ``1/Adam/iteration``, ``1/Adam/{0}_momentum``.
    """
    prefixes = [str(v.path).replace("/", "_") + "_" for v in held]
    keys, level, depth = {}, optimizer, 0
    while level is not None:
        inner = getattr(level, "inner_optimizer", None)
        inner_ids = set() if inner is None else {id(v) for v in inner.variables}
        for variable in level.variables:
            if id(variable) in inner_ids or id(variable) in keys:
                continue
            name = str(variable.path).rpartition("/")[2]
            best = max(((len(p), i) for i, p in enumerate(prefixes) if name.startswith(p)), default=None)
            if best is not None:
                name = f"{{{best[1]}}}_{name[best[0]:]}"
            keys[id(variable)] = f"{depth}/{type(level).__name__}/{name}"
        level, depth = inner, depth + 1
    return keys


def extra_model_variables(model):
    """`model.variables` missing from `model.weights` (the HDF5 writer saves only weights)."""
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


def compile_config(model):
    """`model.get_compile_config()`, with the optimizer put back if Keras lost it.

    Keras 3.15's own HDF5 writer pops "optimizer" out of the model's live compile
    config, so after one `model.save("x.h5")` the config has no optimizer and a
    model rebuilt from it would get the default RMSprop.
    """
    config = dict(model.get_compile_config())
    optimizer = getattr(model, "optimizer", None)
    if config and config.get("optimizer") is None and optimizer is not None:
        config["optimizer"] = keras.saving.serialize_keras_object(optimizer)
    # Under a "mixed_float16" policy `compile` wraps the optimizer in a
    # `LossScaleOptimizer`, but the config keeps the optimizer given: a model
    # loaded where the global policy is float32 would be compiled without the
    # loss scale. Store the optimizer actually used.
    stored = config.get("optimizer") if config else None
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) and not (isinstance(stored, dict) and stored.get("class_name") == "LossScaleOptimizer"):
        config["optimizer"] = keras.saving.serialize_keras_object(optimizer)
    return config


def built_for(optimizer):
    """The model variables `optimizer` was built for (those `fit` trained when it was built).

    Keras keeps them only in the private `_trainable_variables` list (3.x); without
    it, `None` (then loading builds for `model.trainable_variables`, as `fit` does).
    """
    if not optimizer.built:
        return []
    variables = getattr(optimizer, "_trainable_variables", None)
    return None if variables is None else list(variables)


def write_state(group, model, *, checkpoint=None):
    """Write the seed states of `model`, its compile config and its optimizer variables."""
    group.attrs["format_version"] = FORMAT_VERSION
    group.attrs["kerastools_version"] = __version__
    group.attrs["keras_version"] = keras.__version__
    if checkpoint is not None:
        group.attrs["checkpoint"] = json.dumps(checkpoint, default=_json_default)
    group.attrs["model_variables"] = json.dumps([str(v.path) for v in model.variables])
    _write_variables(group.create_group("model_state"), extra_model_variables(model))
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or optimizer is None:
        return
    group.attrs["compile_config"] = json.dumps(compile_config(model), default=_json_default)
    opt_group = group.create_group("optimizer")
    opt_group.attrs["class_name"] = type(optimizer).__name__
    opt_group.attrs["built"] = bool(optimizer.built)
    held = built_for(optimizer)
    if held is not None:
        opt_group.attrs["built_for"] = json.dumps([str(v.path) for v in held])
    _write_variables(opt_group, list(optimizer.variables), keys=optimizer_keys(optimizer, held or []))


# ----------------------------------------------------------------------------- reading


def missing(source, what):
    return ValueError(f"The file {source!r} is missing {what}; it is damaged or was not written by kerastools.saving.save_model.")


def invalid(source, where, detail):
    return ValueError(f"The file {source!r} has an invalid {where}: {detail}.")


def _attr(group, name, source, convert, what):
    """`convert(group.attrs[name])`, or a ValueError naming the file and the attribute."""
    try:
        return convert(group.attrs[name])
    except Exception as err:  # any malformed value: wrong type, bad JSON, unreadable
        raise invalid(source, f"attribute '{name}' of '{group.name}' ({what})", f"{type(err).__name__}: {err}") from err


def _as_str(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _as_count(value):
    array = np.asarray(value)
    if array.shape != () or array.dtype.kind not in "iu" or int(array) < 0:
        raise TypeError(f"expected a non-negative integer, got {value!r}")
    return int(array)


def _as_bool(value):
    array = np.asarray(value)
    if array.shape != () or array.dtype.kind not in "biu" or int(array) not in (0, 1):
        raise TypeError(f"expected a boolean, got {value!r}")
    return bool(array)


def _as_json(kind):
    def convert(value):
        loaded = json.loads(_as_str(value))
        if not isinstance(loaded, kind):
            raise TypeError(f"expected a JSON {kind.__name__}, got {type(loaded).__name__}")
        return loaded

    return convert


def _as_path_list(value):
    paths = _as_json(list)(value)
    if not all(isinstance(p, str) for p in paths):
        raise TypeError(f"expected a JSON list of strings, got {paths!r}")
    return paths


class Saved:
    """One stored variable: its dataset name, the variable path it was saved from, the value."""

    __slots__ = ("dataset", "path", "value", "key")

    def __init__(self, dataset, path, value, key=None):
        self.dataset, self.path, self.value, self.key = dataset, path, value, key


def _read_variables(group, source, name):
    count = _attr(group, "count", source, _as_count, "the number of datasets") if "count" in group.attrs else None
    if count is None:
        raise missing(source, f"the attribute 'count' of the group '{group.name}'")
    expected = [f"{index:06d}" for index in range(count)]
    extra = sorted(set(group.keys()) - set(expected))
    if extra:
        raise invalid(source, f"group '{group.name}'", f"it holds {count} {name}s but also the unexpected entries {extra}")
    values = []
    for index, key in enumerate(expected):
        if key not in group:
            raise missing(source, f"the data set '{group.name}/{key}' ({name} #{index})")
        dataset = group[key]
        where = f"dataset '{dataset.name}'"
        if not isinstance(dataset, h5py.Dataset):
            raise invalid(source, where, "it is a group, not a dataset")
        if dataset.dtype.kind not in "biuf":
            raise invalid(source, where, f"its dtype {dataset.dtype} is not numeric")
        if "path" not in dataset.attrs:
            raise missing(source, f"the attribute 'path' of the data set '{dataset.name}'")
        path = _attr(dataset, "path", source, _as_str, "the variable path")
        key = _attr(dataset, "key", source, _as_str, "the optimizer variable key") if "key" in dataset.attrs else None
        values.append(Saved(dataset.name, path, np.asarray(dataset[()]), key))
    return values


def read_state(group, source):
    """Read what `write_state` wrote; raise a ValueError naming `source` if anything is missing or malformed."""
    version = group.attrs.get("format_version")
    if version is None:
        raise missing(source, f"the attribute 'format_version' of the group '{group.name}'")
    version = _attr(group, "format_version", source, _as_count, "the state format")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"The file {source!r} was written by a newer kerastools (state format {version}); "
            f"this version reads format {FORMAT_VERSION} or older. Upgrade kerastools."
        )
    if "model_state" not in group:
        raise missing(source, f"the group '{group.name}/model_state' (random-seed states)")
    state = {
        "model_state": _read_variables(group["model_state"], source, "model state variable"),
        "compile_config": None,
        "checkpoint": None,
        "optimizer_iterations": None,
    }
    state["model_variables"] = None
    if "model_variables" in group.attrs:
        state["model_variables"] = _attr(group, "model_variables", source, _as_path_list, "the paths of the model variables")
    if "optimizer_iterations" in group.attrs:  # ``.keras`` files of kerastools <= 0.x
        state["optimizer_iterations"] = _attr(group, "optimizer_iterations", source, _as_count, "the iteration count")
    if "checkpoint" in group.attrs:
        state["checkpoint"] = _attr(group, "checkpoint", source, _as_json(dict), "the checkpoint record")
    if "compile_config" in group.attrs:
        state["compile_config"] = _attr(group, "compile_config", source, _as_json(dict), "the compile configuration")
        if "optimizer" not in group:
            raise missing(source, f"the group '{group.name}/optimizer' (the optimizer state)")
        opt_group = group["optimizer"]
        for name in ("class_name", "built"):
            if name not in opt_group.attrs:
                raise missing(source, f"the attribute '{name}' of the group '{opt_group.name}'")
        state["optimizer_class"] = _attr(opt_group, "class_name", source, _as_str, "the optimizer class")
        state["optimizer_built"] = _attr(opt_group, "built", source, _as_bool, "whether the optimizer was built")
        state["optimizer_built_for"] = None
        if "built_for" in opt_group.attrs:
            state["optimizer_built_for"] = _attr(opt_group, "built_for", source, _as_path_list, "the variables the optimizer was built for")
        state["optimizer"] = _read_variables(opt_group, source, "optimizer variable")
        if state["model_variables"] is not None:
            # Written by this version: keys and the built-for list are part of the format.
            if state["optimizer_built"] and state["optimizer_built_for"] is None:
                raise missing(source, f"the attribute 'built_for' of the group '{opt_group.name}'")
            for saved in state["optimizer"]:
                if saved.key is None:
                    raise missing(source, f"the attribute 'key' of the data set '{saved.dataset}'")
    return state


# ----------------------------------------------------------------------------- restoring


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


# ----------------------------------------------------------------------------- checksum


def _attr_bytes(value):
    array = np.asarray(value)
    if array.dtype.kind == "O":
        return b"\0".join(x.encode() if isinstance(x, str) else bytes(x) for x in array.ravel())
    if array.dtype.kind == "U":
        return "\0".join(array.ravel().tolist()).encode()
    return array.tobytes()


def content_checksum(h5file):
    """CRC-32 over every data set (name, dtype, shape, bytes) and attribute of the file.

    Catches data damaged after saving, which HDF5 itself would read back silently.
    The checksum attribute itself is left out.
    """
    names = [""]
    h5file.visit(names.append)
    crc = 0
    for name in sorted(names):
        obj = h5file[name] if name else h5file
        crc = zlib.crc32(name.encode(), crc)
        for key in sorted(obj.attrs.keys()):
            if key == CHECKSUM_ATTR:
                continue
            crc = zlib.crc32(key.encode(), crc)
            crc = zlib.crc32(_attr_bytes(obj.attrs[key]), crc)
        if isinstance(obj, h5py.Dataset):
            value = np.ascontiguousarray(obj[()])
            crc = zlib.crc32(f"{value.dtype.str}{value.shape}".encode(), crc)
            # Strings of variable length are objects: hash their text, not their addresses.
            crc = zlib.crc32(_attr_bytes(value) if value.dtype.kind in "OU" else value.tobytes(), crc)
    return crc
