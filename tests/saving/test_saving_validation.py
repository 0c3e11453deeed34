"""Every restored value is checked (defect 7); every load error names the file (defect 14)."""

import io
import json
import zipfile

import h5py
import keras
import numpy as np
import pytest

from kerastools import saving
from tests.saving import cases as saving_cases
from tests.saving.test_saving_matching import _edit_state

FORMATS = ["h5", "keras"]


@pytest.fixture(scope="module")
def models():
    return {
        "adam": saving_cases.fit(saving_cases.CASES["adam_loss_object"](), "adam_loss_object", 1),
        "loss_scale": saving_cases.fit(saving_cases.CASES["rmsprop_centered_loss_scale"](), "rmsprop_centered_loss_scale", 1),
    }


def _dataset_for(group, suffix):
    """The name of the optimizer dataset whose variable path ends with `suffix`."""
    for key in sorted(group["optimizer"]):
        if str(group["optimizer"][key].attrs["path"]).endswith(suffix):
            return key
    raise AssertionError(f"no optimizer variable ending with {suffix!r}")


def _replace(suffix, make):
    """An edit replacing the dataset of the variable ending with `suffix` by `make(old value)`."""

    def change(group):
        key = _dataset_for(group, suffix)
        dataset = group["optimizer"][key]
        attrs, value = dict(dataset.attrs), dataset[()]
        del group["optimizer"][key]
        group["optimizer"].create_dataset(key, data=make(value)).attrs.update(attrs)

    return change


EDITS = {
    # name: (model, edit, what the message must say after "has an invalid dataset '...000NNN' (...)")
    "slot_as_int8": ("adam", _replace("kernel_momentum", lambda v: v.astype("int8")), r"dtype int8, but the variable has dtype float32"),
    "slot_as_bool": ("adam", _replace("kernel_velocity", lambda v: v != 0), r"dtype bool, but the variable has dtype float32"),
    "iteration_as_float": ("adam", _replace("/iteration", lambda v: np.float64(v)), r"dtype float64, but the variable has dtype int64"),
    "negative_iteration": ("adam", _replace("/iteration", lambda v: np.int64(-5)), r"a negative count -5"),
    "nan_learning_rate": ("adam", _replace("learning_rate", lambda v: np.float32("nan")), r"non-finite values"),
    "negative_learning_rate": ("adam", _replace("learning_rate", lambda v: np.float32(-0.1)), r"a negative learning rate"),
    "infinite_slot": ("adam", _replace("bias_velocity", lambda v: np.full_like(v, np.inf)), r"non-finite values"),
    "zero_loss_scale": ("loss_scale", _replace("dynamic_scale", lambda v: np.float32(0)), r"a loss scale 0.0 that is not positive"),
    "negative_step_counter": ("loss_scale", _replace("step_counter", lambda v: np.int64(-1)), r"a negative count -1"),
    "bytes_dataset": ("adam", _replace("kernel_momentum", lambda v: np.bytes_(b"not a number")), r"its dtype \|S12 is not numeric"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_invalid_values_are_refused_naming_file_and_dataset(tmp_path, models, fmt, edit):
    name, change, detail = EDITS[edit]
    path = tmp_path / f"m.{fmt}"
    saving.save_model(models[name], path)
    _edit_state(path, fmt, change)
    with pytest.raises(ValueError, match=rf"The file '.*m\.{fmt}.*' has an invalid dataset '/[\w/]*optimizer/\d{{6}}'.*: {detail}"):
        saving.load_model(path)


def test_values_in_range_load(tmp_path, models):
    # The checks refuse only what is invalid: a positive learning rate and a
    # larger iteration count load as written.
    path = tmp_path / "m.h5"
    saving.save_model(models["adam"], path)
    _edit_state(path, "h5", _replace("learning_rate", lambda v: np.float32(0.5)))
    _edit_state(path, "h5", _replace("/iteration", lambda v: np.int64(10**12)))
    loaded = saving.load_model(path)
    assert float(loaded.optimizer.learning_rate) == 0.5
    assert int(loaded.optimizer.iterations) == 10**12


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda g: g["optimizer"].create_dataset("999999", data=np.zeros(2)), r"invalid group '/\w*/?optimizer': .* unexpected entries \['999999'\]"),
        (lambda g: g.attrs.__setitem__("compile_config", "{not json"), r"invalid attribute 'compile_config' of '/\w*'.*JSONDecodeError"),
        (lambda g: g["optimizer"].attrs.__setitem__("count", "three"), r"invalid attribute 'count' of '/\w*/?optimizer'"),
        (lambda g: g["optimizer"].attrs.__setitem__("built_for", json.dumps(["nowhere/kernel"])), r"built for model variables that the loaded model does not have: \['nowhere/kernel'\]"),
        (lambda g: g.attrs.__setitem__("model_variables", json.dumps(["x"])), r"lists 1 model variables but the loaded model has"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_structure_is_refused_naming_the_file(tmp_path, models, fmt, change, message):
    path = tmp_path / f"m.{fmt}"
    saving.save_model(models["adam"], path)
    _edit_state(path, fmt, change)
    with pytest.raises(ValueError, match=rf"'.*m\.{fmt}.*' .*{message}"):
        saving.load_model(path)


# ----------------------------------------------------------------------------- errors name the file (defect 14)


def test_corrupt_state_member_of_a_keras_archive(tmp_path, models):
    path = tmp_path / "m.keras"
    saving.save_model(models["adam"], path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    members["kerastools.h5"] = b"garbage, not HDF5" * 10
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=r"The file '.*m.keras' is corrupt: its member 'kerastools.h5' is not a readable HDF5 file") as info:
        saving.load_model(path)
    assert isinstance(info.value.__cause__, OSError)


def _custom_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred))


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_custom_loss_names_the_file(tmp_path, fmt):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=_custom_loss)
    path = tmp_path / f"custom.{fmt}"
    saving.save_model(model, path)
    with pytest.raises(ValueError, match=rf"'.*custom.{fmt}'.*_custom_loss") as info:
        saving.load_model(path)
    assert info.value.__cause__ is not None
    loaded = saving.load_model(path, custom_objects={"_custom_loss": _custom_loss})
    assert loaded.compiled


@pytest.mark.filterwarnings("ignore:The object being serialized includes a `lambda`")
@pytest.mark.parametrize("fmt", FORMATS)
def test_lambda_learning_rate_names_the_file(tmp_path, fmt):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lambda: 0.01), loss="mse")
    path = tmp_path / f"lam.{fmt}"
    try:
        saving.save_model(model, path)
    except Exception as err:  # Keras may refuse to serialise it: then the save names the file
        pytest.fail(f"save_model failed: {err!r}")
    with pytest.raises(ValueError, match=rf"'.*lam.{fmt}'") as info:
        saving.load_model(path)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_load_error_is_chained_and_names_the_file(tmp_path, models, fmt, monkeypatch):
    # An unexpected exception deep in Keras's loader (here a KeyError) comes out
    # as a ValueError naming the file, the original chained.
    path = tmp_path / f"m.{fmt}"
    saving.save_model(models["adam"], path)

    def broken(*args, **kwargs):
        raise KeyError("inner detail")

    monkeypatch.setattr(keras.saving, "deserialize_keras_object", broken)
    with pytest.raises(ValueError, match=rf"'.*m\.{fmt}'.*inner detail") as info:
        saving.load_model(path)
    assert isinstance(info.value.__cause__, KeyError)


def test_h5_buffer_state_reads_as_documented(tmp_path, models):
    # The member of a .keras archive has the same layout as the /kerastools group.
    path = tmp_path / "m.keras"
    saving.save_model(models["adam"], path)
    with zipfile.ZipFile(path) as archive:
        with h5py.File(io.BytesIO(archive.read("kerastools.h5")), "r") as handle:
            assert set(handle) == {"model_state", "optimizer"}
            assert json.loads(handle.attrs["compile_config"])["optimizer"]["class_name"] == "Adam"
            assert all("key" in handle["optimizer"][k].attrs for k in handle["optimizer"])
