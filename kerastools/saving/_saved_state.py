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

Restoring (`kerastools.saving._restore`) matches every stored variable to the
live one with the same path, never by position: model variables by
`variable.path` (translated through ``model_variables`` to the loaded model's
paths, which Keras may name differently), optimizer variables by their key,
the path relative to the optimizer and to the model variable a slot belongs to
(`optimizer_keys`). Then it checks each value before assigning anything: its
dtype and shape must be those of the variable, floating-point optimizer values
must be finite, integer counters non-negative, a learning rate non-negative
and a loss scale positive. The optimizer is built for the model variables it
held when saved (``built_for``), which need not be
`model.trainable_variables`: a layer frozen after training without
recompiling keeps its slots.

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
