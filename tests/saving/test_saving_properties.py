"""Hypothesis properties of `kerastools.saving`.

* Save, load, continue: for random small models (Keras and kerastools layers and
  optimizers, schedules, layers frozen or unfrozen after compile, mixed
  precision on or off, ``.h5`` and ``.keras``), the loaded model continues
  training bit for bit as the original does, or both fail the same way.
* Edited files: a random edit of the saved state (dtype, shape, value, a missing
  or extra dataset, swapped variable keys, the optimizer class) with the
  checksum re-sealed either raises a ValueError naming the file and the dataset
  (or attribute) at fault, or loads exactly the edited values, which are then
  valid by construction.
"""

import io
import json
import os
import re
import tempfile
import zipfile

import h5py
import keras
import numpy as np
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

import kerastools as kt
from kerastools import saving
from kerastools.saving import _saved_state
from tests.saving import cases as saving_cases

BATCH = 8

OPTIMIZERS = {
    "keras_sgd_momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "keras_adam": lambda lr: keras.optimizers.Adam(lr),
    "keras_rmsprop_centered": lambda lr: keras.optimizers.RMSprop(lr, momentum=0.5, centered=True),
    "keras_adamw_ema": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.01, use_ema=True, ema_overwrite_frequency=3),
    "keras_adam_accumulation": lambda lr: keras.optimizers.Adam(lr, gradient_accumulation_steps=2),
    "kt_sgd_nesterov": lambda lr: kt.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "kt_momentum_bias_correction": lambda lr: kt.optimizers.Momentum(lr, beta=0.9, bias_correction=True),
    "kt_adagrad": lambda lr: kt.optimizers.Adagrad(lr),
    "kt_rmsprop_centered": lambda lr: kt.optimizers.RMSprop(lr, momentum=0.5, centered=True),
    "kt_adam_amsgrad": lambda lr: kt.optimizers.Adam(lr, amsgrad=True),
    "kt_adamw": lambda lr: kt.optimizers.AdamW(lr, weight_decay=0.01),
}

LEARNING_RATES = {
    "constant": lambda: 1e-2,
    "keras_exponential_decay": lambda: keras.optimizers.schedules.ExponentialDecay(2e-2, decay_steps=2, decay_rate=0.5),
    "kt_warmup_cosine": lambda: kt.schedules.Warmup(kt.schedules.CosineDecay(2e-2, decay_steps=10), warmup_steps=2),
}

# What happens to the trainable flags around the first `fit` (no recompiling):
# "frozen_after_fit" is the workflow of issue defect 6, "swap_after_fit" that
# of defect 5 ("first" and "middle" have the same shapes).
FREEZING = ["none", "frozen_before_fit", "frozen_after_fit", "swap_after_fit", "unfrozen_after_fit"]


@st.composite
def setups(draw):
    return {
        "arch": draw(st.sampled_from(["dense", "conv"])),
        "layers": draw(st.sampled_from(["keras", "kerastools"])),
        "batch_norm": draw(st.booleans()),
        "dropout": draw(st.booleans()),
        "optimizer": draw(st.sampled_from(sorted(OPTIMIZERS))),
        "learning_rate": draw(st.sampled_from(sorted(LEARNING_RATES))),
        "mixed_precision": draw(st.booleans()),
        "freezing": draw(st.sampled_from(FREEZING)),
        "format": draw(st.sampled_from(["h5", "keras", "H5", "hdf5", "Keras"])),
        "steps_before": draw(st.integers(1, 3)),
        "steps_after": draw(st.integers(1, 3)),
    }


def _build(setup):
    """A tiny compiled model: [Conv2D ->] Dense "first" -> Dense "middle" -> [BN] -> [Dropout] -> Dense."""
    keras.utils.set_random_seed(11)
    kerastools_layers = setup["layers"] == "kerastools"
    stack = []
    if setup["arch"] == "conv":
        stack += [keras.Input((5, 5, 1))]
        conv = kt.layers.Conv2D if kerastools_layers else keras.layers.Conv2D
        stack += [conv(2, 3, name="conv"), keras.layers.Flatten()]
    else:
        stack += [keras.Input((4,))]
    stack += [keras.layers.Dense(3, activation="tanh", name="first"), keras.layers.Dense(3, activation="tanh", name="middle")]
    if setup["batch_norm"]:
        stack.append(kt.layers.BatchNormalization(momentum=0.9, name="norm") if kerastools_layers else keras.layers.BatchNormalization(name="norm"))
    if setup["dropout"]:
        stack.append(kt.layers.Dropout(keep_prob=0.75, seed=3) if kerastools_layers else keras.layers.Dropout(0.25, seed=3))
    stack.append(keras.layers.Dense(1, name="last"))
    model = keras.Sequential(stack)
    optimizer = OPTIMIZERS[setup["optimizer"]](LEARNING_RATES[setup["learning_rate"]]())
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def _data(setup, steps):
    rng = np.random.default_rng(5 + steps)
    shape = (5, 5, 1) if setup["arch"] == "conv" else (4,)
    x = rng.normal(size=(BATCH * steps, *shape)).astype("float32")
    y = rng.normal(size=(BATCH * steps, 1)).astype("float32")
    return x, y


def _fit(model, setup, steps):
    x, y = _data(setup, steps)
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)


def _continue(model, setup):
    """`fit` more steps; the exception instead if Keras refuses (e.g. an unknown variable)."""
    try:
        _fit(model, setup, setup["steps_after"])
    except ValueError as err:
        return err
    return None


def _assert_same_state(got, expected, label):
    got, expected = saving_cases.state_arrays(got), saving_cases.state_arrays(expected)
    assert len(got) == len(expected), label
    for index, (a, b) in enumerate(zip(got, expected)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{label}: state array #{index}"
        np.testing.assert_array_equal(a, b, err_msg=f"{label}: state array #{index}")


# One example builds, fits, saves, loads and fits twice more: seconds each (a
# graph trace per fit), so the thorough profile's 500 would take most of an
# hour; 100 at most.
@pytest.mark.slow
@settings(max_examples=min(settings.default.max_examples, 100))
@given(setup=setups())
def test_save_load_continue_equals_continuing_the_original(setup):
    note(repr(setup))
    event(f"freezing={setup['freezing']}")
    keras.config.set_dtype_policy("mixed_float16" if setup["mixed_precision"] else "float32")
    try:
        model = _build(setup)
        if setup["freezing"] in ("frozen_before_fit", "swap_after_fit", "unfrozen_after_fit"):
            model.get_layer("first").trainable = False
        _fit(model, setup, setup["steps_before"])
        if setup["freezing"] == "frozen_after_fit":
            model.get_layer("first").trainable = False
        elif setup["freezing"] == "swap_after_fit":
            model.get_layer("first").trainable = True
            model.get_layer("middle").trainable = False
        elif setup["freezing"] == "unfrozen_after_fit":
            model.get_layer("first").trainable = True
    finally:
        # Load as a new process would: with the default policy (each layer's
        # own policy is in the file).
        keras.config.set_dtype_policy("float32")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, f"model.{setup['format']}")
        saving.save_model(model, path)
        loaded = saving.load_model(path)
    _assert_same_state(loaded, model, "right after loading")
    assert [layer.trainable for layer in loaded.layers] == [layer.trainable for layer in model.layers]
    # Keras keeps using the train function traced by the first `fit` after a
    # layer's `trainable` changes (it would go on training a frozen layer);
    # the loaded model, like any new process, traces one that honours the
    # flags. Continue the original with a fresh trace too.
    model.make_train_function(force=True)
    expected, got = _continue(model, setup), _continue(loaded, setup)
    if expected is not None or got is not None:
        # An optimizer built without a layer's variables cannot train it after
        # the layer is unfrozen: Keras refuses, for the original as for the copy.
        event("continuing refused by Keras")
        assert type(got) is type(expected) and "Unknown variable" in str(got) and "Unknown variable" in str(expected), (expected, got)
        assert setup["freezing"] in ("swap_after_fit", "unfrozen_after_fit")
        return
    _assert_same_state(loaded, model, "after continuing")
    assert int(loaded.optimizer.iterations) > 0


# ----------------------------------------------------------------------------- edited files


def _base_models():
    """Trained models whose saved state covers a learning-rate variable, a loss
    scale, a schedule, gradient accumulation and seed states."""
    return {
        "adam": saving_cases.fit(saving_cases.CASES["adam_loss_object"](), "adam_loss_object", 1),
        "loss_scale": saving_cases.fit(
            saving_cases.CASES["kt_rmsprop_centered_inside_loss_scale"](), "kt_rmsprop_centered_inside_loss_scale", 2
        ),
        "accumulation_schedule": saving_cases.fit(
            saving_cases.CASES["kt_adamw_scaled_natural_exp_accumulation"](), "kt_adamw_scaled_natural_exp_accumulation", 1
        ),
    }


@pytest.fixture(scope="module")
def base_files(tmp_path_factory):
    """name -> (model, {format: path of the saved file})."""
    directory = tmp_path_factory.mktemp("base")
    files = {}
    for name, model in _base_models().items():
        data = {}
        for fmt in ("h5", "keras"):
            path = directory / f"{name}.{fmt}"
            saving.save_model(model, path)
            data[fmt] = path
        files[name] = (model, data)
    return files


def _datasets(group):
    """[(group name, dataset name, dtype, shape, path)] of the optimizer and seed-state datasets."""
    found = []
    for part in ("optimizer", "model_state"):
        if part in group:
            for key in sorted(group[part]):
                dataset = group[part][key]
                found.append((part, dataset.name, dataset.dtype, dataset.shape, str(dataset.attrs["path"])))
    return found


def _with_state_group(path, fmt, change):
    """Open the kerastools group of `path` read-write, apply `change(group)`, re-seal.

    In an ``.h5`` file the checksum is recomputed; in a ``.keras`` archive the
    member is rewritten (zip recomputes its CRC).
    """
    if fmt == "h5":
        with h5py.File(path, "r+") as handle:
            result = change(handle[_saved_state.GROUP])
            handle[_saved_state.GROUP].attrs[_saved_state.CHECKSUM_ATTR] = _saved_state.content_checksum(handle)
        return result
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    buffer = io.BytesIO(members["kerastools.h5"])
    with h5py.File(buffer, "r+") as handle:
        result = change(handle)
    members["kerastools.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return result


def _valid(part, path, value, expected_dtype, expected_shape):
    """The documented domain of a stored value (independent of the loader's code)."""
    if value.dtype != expected_dtype or value.shape != expected_shape:
        return False
    if part == "model_state":
        return True
    name = path.rsplit("/", 1)[-1]
    if value.dtype.kind in "iu":
        return value.size == 0 or value.min() >= 0
    if not np.all(np.isfinite(value)):
        return False
    if name == "learning_rate":
        return bool(np.all(value >= 0))
    if name == "dynamic_scale":
        return bool(np.all(value > 0))
    return True


DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool"]


@st.composite
def edits(draw, datasets):
    kind = draw(st.sampled_from(["dtype", "shape", "value", "missing", "extra", "swap_keys", "class_attr", "class_config", "class_both"]))
    target = draw(st.sampled_from(datasets))
    edit = {"kind": kind, "target": target}
    part, name, dtype, shape, path = target
    if kind == "dtype":
        edit["dtype"] = draw(st.sampled_from(DTYPES))
    elif kind == "shape":
        edit["shape"] = tuple(draw(st.lists(st.integers(1, 9), min_size=0, max_size=3)))
    elif kind == "value":
        if dtype.kind == "f":
            special = st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.0])
            element = special | st.floats(width=32, allow_nan=True, allow_infinity=True) | st.floats(-1e3, 1e3, width=32)
        elif dtype.kind == "u":
            element = st.integers(0, int(np.iinfo(dtype).max))
        else:
            element = st.integers(int(max(np.iinfo(dtype).min, -(2**40))), int(min(np.iinfo(dtype).max, 2**40)))
        edit["fill"] = draw(element)
        edit["everywhere"] = draw(st.booleans())
        size = int(np.prod(shape))
        edit["index"] = draw(st.integers(0, max(size - 1, 0)))
    elif kind == "extra":
        edit["extra_name"] = draw(st.sampled_from(["999999", "extra", f"{len([d for d in datasets if d[0] == part]):06d}"]))
    elif kind == "swap_keys":
        edit["other"] = draw(st.sampled_from([d for d in datasets if d[0] == part]))
    elif kind.startswith("class"):
        edit["class_name"] = draw(st.sampled_from(["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Momentum", "LossScaleOptimizer"]))
    return edit


def _apply(edit, original):
    """Apply `edit` to the state group; return (expected new value of the target or None, dataset names that may be blamed)."""
    part, name, dtype, shape, path = edit["target"]
    kind = edit["kind"]

    def change(group):
        dataset = group[name]
        attrs = dict(dataset.attrs)
        value = dataset[()]
        if kind == "dtype":
            new = np.asarray(value).astype(edit["dtype"])
        elif kind == "shape":
            new = np.zeros(edit["shape"], dtype)
        elif kind == "value":
            new = np.array(value, copy=True)
            with np.errstate(all="ignore"):
                if edit["everywhere"] or new.ndim == 0:
                    new = np.full(new.shape, edit["fill"], dtype)
                else:
                    new.reshape(-1)[edit["index"]] = np.asarray(edit["fill"]).astype(dtype)
        elif kind == "missing":
            del group[name]
            return None
        elif kind == "extra":
            group[part].create_dataset(edit["extra_name"], data=np.zeros((2,), "float32")).attrs["path"] = "extra/variable"
            return None
        elif kind == "swap_keys":
            other = group[edit["other"][1]]
            for attr in ("key", "path"):
                if attr in dataset.attrs and attr in other.attrs:
                    dataset.attrs[attr], other.attrs[attr] = other.attrs[attr], dataset.attrs[attr]
            return None
        else:
            if kind in ("class_attr", "class_both"):
                group["optimizer"].attrs["class_name"] = edit["class_name"]
            if kind in ("class_config", "class_both"):
                config = json.loads(group.attrs["compile_config"])
                inner = config["optimizer"]
                if inner.get("class_name") == "LossScaleOptimizer":
                    inner = inner["config"]["inner_optimizer"]
                inner["class_name"] = edit["class_name"]
                group.attrs["compile_config"] = json.dumps(config)
            return None
        del group[name]
        group[part].create_dataset(name.rsplit("/", 1)[-1], data=new).attrs.update(attrs)
        return new

    return change


def _live_variables(model, part):
    if part == "optimizer":
        return list(model.optimizer.variables)
    return _saved_state.extra_model_variables(model)


@given(data=st.data(), base=st.sampled_from(["adam", "loss_scale", "accumulation_schedule"]), fmt=st.sampled_from(["h5", "keras"]))
def test_edited_files_raise_naming_the_dataset_or_load_valid_values(base_files, data, base, fmt):
    model, files = base_files[base]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, f"edited.{fmt}")
        with open(path, "wb") as handle:
            handle.write(files[fmt].read_bytes())
        datasets = _with_state_group(path, fmt, _datasets)
        edit = data.draw(edits(datasets))
        note(repr(edit))
        part, name, dtype, shape, var_path = edit["target"]
        new = _with_state_group(path, fmt, _apply(edit, model))
        try:
            loaded = saving.load_model(path)
        except ValueError as err:
            message = str(err)
            event(f"{edit['kind']}: error")
            assert path in message, message
            if edit["kind"] in ("dtype", "shape", "value", "missing"):
                assert re.search(re.escape(name), message), message
            elif edit["kind"] == "extra":
                assert edit["extra_name"] in message, message
            elif edit["kind"] == "swap_keys":
                assert name in message or edit["other"][1] in message, message
            else:
                assert re.search(r"optimizer|class|compile configuration", message, re.IGNORECASE), message
            # Any error is only right if the edit made the file invalid.
            if edit["kind"] in ("dtype", "shape", "value"):
                assert new is not None and not _valid(part, var_path, np.asarray(new), dtype, shape), message
            return
    event(f"{edit['kind']}: loaded")
    assert edit["kind"] not in ("missing", "extra"), edit
    if edit["kind"] == "class_attr":  # only an "edit" to the class it already had loads
        assert edit["class_name"] == type(model.optimizer).__name__, edit
    expected = [keras.ops.convert_to_numpy(v) for v in _live_variables(model, part)]
    index = int(name.rsplit("/", 1)[-1])
    if edit["kind"] in ("dtype", "shape", "value"):
        # Loads only what is valid by construction, and exactly that.
        assert _valid(part, var_path, np.asarray(new), dtype, shape), (edit, new)
        expected[index] = np.asarray(new)
    elif edit["kind"] == "swap_keys":
        other = int(edit["other"][1].rsplit("/", 1)[-1])
        expected[index], expected[other] = expected[other], expected[index]
    elif edit["kind"] in ("class_config", "class_both"):
        assert type(loaded.optimizer).__name__ == (type(model.optimizer).__name__ if edit["kind"] == "class_config" else edit["class_name"])
    got = [keras.ops.convert_to_numpy(v) for v in _live_variables(loaded, part)]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
