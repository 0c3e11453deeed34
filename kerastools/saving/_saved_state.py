"""The training state that Keras's HDF5 writer leaves out, stored in one HDF5 group.

Layout of the group (``/kerastools`` in an ``.h5`` file, the root of the
``kerastools.h5`` member of a ``.keras`` archive)::

    attrs: format_version, kerastools_version, keras_version,
           compile_config (JSON of `model.get_compile_config()`; absent if the
           model was not compiled), checkpoint (JSON, only in checkpoints)
    optimizer/            attrs: class_name, built, count
        000000 ... 00000N one dataset per `optimizer.variables` entry, in order,
                          attr `path` (iteration count, learning rate, slots,
                          loss-scale counters, EMA and gradient accumulators)
    model_state/          attrs: count
        000000 ...        `model.variables` that are not `model.weights`: the
                          states of the `SeedGenerator`s behind Dropout & co.

Optimizer variables are matched by position, as Keras's own ``.keras`` format
does: `optimizer.build(model.trainable_variables)` creates them in a fixed order.
Shapes and dtypes are checked, so a mismatch is an error, never a silent mix-up.
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


def _write_variables(group, variables):
    group.attrs["count"] = len(variables)
    for index, variable in enumerate(variables):
        value = keras.ops.convert_to_numpy(variable)
        dataset = group.create_dataset(f"{index:06d}", data=value)
        dataset.attrs["path"] = str(variable.path)


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
    if config and config.get("optimizer") is None and getattr(model, "optimizer", None) is not None:
        config["optimizer"] = keras.saving.serialize_keras_object(model.optimizer)
    return config


def write_state(group, model, *, include_optimizer=True, checkpoint=None):
    """Write the seed states of `model`, and its compile config and optimizer
    variables unless `include_optimizer` is False (``.keras`` files hold those
    already: then only the iteration count is kept, to check the restore)."""
    group.attrs["format_version"] = FORMAT_VERSION
    group.attrs["kerastools_version"] = __version__
    group.attrs["keras_version"] = keras.__version__
    if checkpoint is not None:
        group.attrs["checkpoint"] = json.dumps(checkpoint, default=_json_default)
    _write_variables(group.create_group("model_state"), extra_model_variables(model))
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or optimizer is None:
        return
    if not include_optimizer:
        group.attrs["optimizer_iterations"] = int(keras.ops.convert_to_numpy(optimizer.iterations))
        return
    group.attrs["compile_config"] = json.dumps(compile_config(model), default=_json_default)
    opt_group = group.create_group("optimizer")
    opt_group.attrs["class_name"] = type(optimizer).__name__
    opt_group.attrs["built"] = bool(optimizer.built)
    _write_variables(opt_group, list(optimizer.variables))


def missing(source, what):
    return ValueError(f"The file {source!r} is missing {what}; it is damaged or was not written by kerastools.saving.save_model.")


def _read_variables(group, source, name):
    if "count" not in group.attrs:
        raise missing(source, f"the attribute 'count' of the group '{group.name}'")
    values = []
    for index in range(int(group.attrs["count"])):
        key = f"{index:06d}"
        if key not in group:
            raise missing(source, f"the data set '{group.name}/{key}' ({name} #{index})")
        dataset = group[key]
        values.append((str(dataset.attrs.get("path", key)), dataset[()]))
    return values


def read_state(group, source):
    """Read what `write_state` wrote; raise a ValueError naming `source` if anything is missing."""
    version = group.attrs.get("format_version")
    if version is None:
        raise missing(source, f"the attribute 'format_version' of the group '{group.name}'")
    if int(version) > FORMAT_VERSION:
        raise ValueError(
            f"The file {source!r} was written by a newer kerastools (state format {int(version)}); "
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
    if "optimizer_iterations" in group.attrs:
        state["optimizer_iterations"] = int(group.attrs["optimizer_iterations"])
    if "checkpoint" in group.attrs:
        state["checkpoint"] = json.loads(group.attrs["checkpoint"])
    if "compile_config" in group.attrs:
        state["compile_config"] = json.loads(group.attrs["compile_config"])
        if "optimizer" not in group:
            raise missing(source, f"the group '{group.name}/optimizer' (the optimizer state)")
        opt_group = group["optimizer"]
        state["optimizer_class"] = str(opt_group.attrs.get("class_name", "?"))
        state["optimizer_built"] = bool(opt_group.attrs.get("built", True))
        state["optimizer"] = _read_variables(opt_group, source, "optimizer variable")
    return state


def _assign_all(variables, saved, source, what):
    if len(variables) != len(saved):
        raise ValueError(
            f"The file {source!r} holds {len(saved)} {what} variables but the loaded model has "
            f"{len(variables)}: saved {[p for p, _ in saved]}, expected {[v.path for v in variables]}."
        )
    for variable, (path, value) in zip(variables, saved):
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(
                f"The file {source!r} holds {what} variable {path!r} with shape {tuple(value.shape)}, "
                f"but the loaded model's {variable.path!r} has shape {tuple(variable.shape)}."
            )
    for variable, (_, value) in zip(variables, saved):
        variable.assign(value)


def restore_state(model, state, *, compile, custom_objects, safe_mode, source):
    """Put the state read by `read_state` back into a freshly loaded `model`."""
    _assign_all(extra_model_variables(model), state["model_state"], source, "random-seed state")
    if compile and state["optimizer_iterations"] is not None:
        # A ``.keras`` file: Keras restored the optimizer itself. It only warns
        # when it cannot, so check that the step count came back.
        optimizer = getattr(model, "optimizer", None)
        got = None if optimizer is None else int(keras.ops.convert_to_numpy(optimizer.iterations))
        if got != state["optimizer_iterations"]:
            raise ValueError(
                f"The optimizer state in {source!r} was not restored: the optimizer's iteration "
                f"count is {got} after loading, {state['optimizer_iterations']} when saved."
            )
    if not compile or state["compile_config"] is None:
        return
    # Deserialised here rather than with `model.compile_from_config` so that
    # `safe_mode` and `custom_objects` reach every nested object (lambdas in a
    # loss or a schedule are refused in safe mode, as in the architecture).
    config = keras.saving.deserialize_keras_object(state["compile_config"], custom_objects=custom_objects, safe_mode=safe_mode)
    model.compile(**config)
    if state["optimizer_built"]:
        # The same call `fit` makes, so the slots are created in the saved order.
        model.optimizer.build(model.trainable_variables)
    _assign_all(list(model.optimizer.variables), state["optimizer"], source, "optimizer")


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
            crc = zlib.crc32(value.tobytes(), crc)
    return crc
