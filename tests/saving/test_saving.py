"""`kerastools.saving`: complete round trips in-process, compatibility, safe mode, arguments."""

import json

import h5py
import keras
import numpy as np
import pytest

from kerastools import saving
from tests.saving import cases as saving_cases

FORMATS = ["h5", "keras"]


def trained(name, epochs=1):
    return saving_cases.fit(saving_cases.CASES[name](), name, epochs)


@pytest.fixture(scope="module")
def trained_cases():
    """Every case trained one epoch, shared by the format parametrisations."""
    return {name: trained(name) for name in saving_cases.CASES}


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(saving_cases.CASES))
def test_round_trip_restores_every_variable_and_the_compile_config(tmp_path, trained_cases, name, fmt):
    model = trained_cases[name]
    path = tmp_path / f"model.{fmt}"
    saving.save_model(model, path)
    loaded = saving.load_model(path)
    assert loaded.compiled and loaded.optimizer.built
    assert loaded.get_compile_config() == model.get_compile_config()  # strings stay strings
    assert loaded.optimizer.get_config() == model.optimizer.get_config()  # schedule included
    saved, restored = saving_cases.state_arrays(model), saving_cases.state_arrays(loaded)
    assert len(restored) == len(saved)
    for a, b in zip(restored, saved):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0
    x, _ = saving_cases.targets(name)
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))


def test_loss_scale_state_is_restored(tmp_path):
    model = trained("rmsprop_centered_loss_scale", epochs=2)
    # dynamic_growth_steps=2 doubled the scale during training: state worth saving.
    assert float(model.optimizer.dynamic_scale) > 2.0**6
    saving.save_model(model, tmp_path / "m.h5")
    loaded = saving.load_model(tmp_path / "m.h5")
    assert isinstance(loaded.optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(loaded.optimizer.dynamic_scale) == float(model.optimizer.dynamic_scale)
    assert int(loaded.optimizer.step_counter) == int(model.optimizer.step_counter)


def test_the_keras_h5_failures_this_module_fixes(tmp_path):
    # Pins the saving guide's claims about Keras 3.15 (docs/guides/saving.md): if
    # Keras fixes them, this fails and the guide must be updated.
    mse = trained("sgd_nesterov_momentum")  # loss="mse", metrics=["mae"]
    mse.save(tmp_path / "mse.h5")
    with pytest.raises(ValueError, match="Could not deserialize 'keras.metrics.mse'"):
        keras.models.load_model(tmp_path / "mse.h5")
    adam = trained("adam_loss_object")
    adam.save(tmp_path / "adam.h5")
    reloaded = keras.models.load_model(tmp_path / "adam.h5")
    with pytest.raises(ValueError, match="Unknown variable"):
        saving_cases.fit(reloaded, "adam_loss_object", 1)
    for model, name in ((mse, "sgd_nesterov_momentum"), (adam, "adam_loss_object")):
        saving.save_model(model, tmp_path / f"{name}.h5")
        saving_cases.fit(saving.load_model(tmp_path / f"{name}.h5"), name, 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_saved_before_with_keras_h5_keeps_its_optimizer(tmp_path, fmt):
    # Keras's own .h5 writer removes "optimizer" from the model's compile config;
    # a later Keras .keras file would reload with RMSprop and no state.
    model = trained("adam_loss_object")
    model.save(tmp_path / "keras.h5")
    assert model.get_compile_config().get("optimizer") is None  # the Keras side effect
    saving.save_model(model, tmp_path / f"kt.{fmt}")
    loaded = saving.load_model(tmp_path / f"kt.{fmt}")
    assert isinstance(loaded.optimizer, keras.optimizers.Adam)
    for a, b in zip(saving_cases.state_arrays(loaded), saving_cases.state_arrays(model)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["sgd_nesterov_momentum", "cls_adam_exponential_decay"])
def test_string_losses_and_metrics_stay_strings(tmp_path, name):
    model = trained(name)
    saving.save_model(model, tmp_path / "m.h5")
    config = saving.load_model(tmp_path / "m.h5").get_compile_config()
    assert isinstance(config["loss"], str) and config["loss"] == model.get_compile_config()["loss"]
    assert config["metrics"] == model.get_compile_config()["metrics"] and isinstance(config["metrics"][0], str)


def test_keras_can_read_architecture_and_weights_of_our_h5(tmp_path):
    model = trained("sgd_nesterov_momentum")
    saving.save_model(model, tmp_path / "m.h5")
    plain = keras.models.load_model(tmp_path / "m.h5", compile=False)
    for a, b in zip(plain.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_uncompiled_model_and_compile_false(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    saving.save_model(model, tmp_path / "raw.h5")
    loaded = saving.load_model(tmp_path / "raw.h5")
    assert not loaded.compiled
    compiled = trained("sgd_nesterov_momentum")
    saving.save_model(compiled, tmp_path / "c.h5")
    weights_only = saving.load_model(tmp_path / "c.h5", compile=False)
    assert not weights_only.compiled
    np.testing.assert_array_equal(weights_only.weights[0].numpy(), compiled.weights[0].numpy())


# Keras's .keras loader builds the optimizer and then skips the two saved
# variables (step 0, learning rate) with this warning; both equal the fresh ones.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("fmt", FORMATS)
def test_compiled_but_untrained_model_round_trips_and_trains(tmp_path, fmt):
    model = saving_cases.CASES["adam_loss_object"]()
    assert not model.optimizer.built
    saving.save_model(model, tmp_path / f"m.{fmt}")
    loaded = saving.load_model(tmp_path / f"m.{fmt}")
    saving_cases.fit(loaded, "adam_loss_object", 1)
    saving_cases.fit(model, "adam_loss_object", 1)
    for a, b in zip(saving_cases.state_arrays(loaded), saving_cases.state_arrays(model)):
        np.testing.assert_array_equal(a, b)


def test_plain_keras_h5_needs_compile_false(tmp_path):
    model = trained("adam_loss_object")
    model.save(tmp_path / "keras.h5")
    with pytest.raises(ValueError, match=r"has no group '/kerastools'.*Pass compile=False"):
        saving.load_model(tmp_path / "keras.h5")
    loaded = saving.load_model(tmp_path / "keras.h5", compile=False)
    np.testing.assert_array_equal(loaded.weights[0].numpy(), model.weights[0].numpy())


def test_plain_keras_file_in_keras_format_loads_compiled(tmp_path):
    model = trained("adam_loss_object")
    model.save(tmp_path / "keras.keras")
    loaded = saving.load_model(tmp_path / "keras.keras")
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)


def test_file_layout_is_documented_one(tmp_path):
    model = trained("adam_loss_object")
    saving.save_model(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "model_config" in f.attrs and "model_weights" in f
        assert "optimizer_weights" not in f and "training_config" not in f.attrs
        group = f["kerastools"]
        assert int(group.attrs["format_version"]) == 1
        assert json.loads(group.attrs["compile_config"]) == model.get_compile_config()
        opt = group["optimizer"]
        assert int(opt.attrs["count"]) == len(model.optimizer.variables)
        assert [opt[f"{i:06d}"].attrs["path"] for i in range(len(model.optimizer.variables))] == [v.path for v in model.optimizer.variables]
        assert int(group["model_state"].attrs["count"]) == 1  # the Dropout's seed generator


# ----------------------------------------------------------------------------- safe mode


def _lambda_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda t: t * 3.0), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("fmt", FORMATS)
def test_safe_mode_refuses_lambda_layers(tmp_path, fmt):
    model = _lambda_model()
    saving.save_model(model, tmp_path / f"lam.{fmt}")
    with pytest.raises(ValueError, match=r"lam\.\w+.*lambda"):
        saving.load_model(tmp_path / f"lam.{fmt}")
    loaded = saving.load_model(tmp_path / f"lam.{fmt}", safe_mode=False)
    x = np.ones((1, 2), "float32")
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))


@pytest.mark.filterwarnings("ignore:The object being serialized includes a `lambda`")
def test_safe_mode_refuses_lambda_loss_in_compile_config(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    # No global names inside: a deserialised lambda sees no module globals.
    model.compile(optimizer="sgd", loss=lambda y, p: (y - p) * (y - p))
    saving.save_model(model, tmp_path / "loss.h5")
    with pytest.raises(ValueError, match="lambda"):
        saving.load_model(tmp_path / "loss.h5")
    assert saving.load_model(tmp_path / "loss.h5", compile=False) is not None
    loaded = saving.load_model(tmp_path / "loss.h5", safe_mode=False)
    loaded.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)


# ----------------------------------------------------------------------------- arguments


def test_save_argument_errors(tmp_path):
    model = trained("sgd_nesterov_momentum")
    with pytest.raises(TypeError, match=r"Argument `model` must be a keras.Model. Received: model=3"):
        saving.save_model(3, tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"must end with '.h5', '.hdf5' or '.keras' \(in any case\). Received: filepath='.*m.txt'"):
        saving.save_model(model, tmp_path / "m.txt")
    with pytest.raises(ValueError, match=r"Argument `filepath` is an existing directory"):
        (tmp_path / "d.h5").mkdir()
        saving.save_model(model, tmp_path / "d.h5")
    saving.save_model(model, tmp_path / "m.h5")
    with pytest.raises(FileExistsError, match=r"A file exists at `filepath` and `overwrite=False`. Received: filepath='.*m.h5'"):
        saving.save_model(model, tmp_path / "m.h5", overwrite=False)
    with pytest.raises(TypeError, match=r"Argument `overwrite` must be a bool"):
        saving.save_model(model, tmp_path / "m.h5", overwrite="yes")
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(OSError, match=r"Cannot write to `filepath`: its directory .* cannot be created"):
        saving.save_model(model, tmp_path / "file" / "m.h5")
    assert not (tmp_path / "file" / "m.h5").exists()


def test_save_creates_missing_directories(tmp_path):
    saving.save_model(trained("sgd_nesterov_momentum"), tmp_path / "a" / "b" / "m.h5")
    assert saving.load_model(tmp_path / "a" / "b" / "m.h5").compiled


def test_load_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No file at `filepath`. Received: filepath='.*none.h5'"):
        saving.load_model(tmp_path / "none.h5")
    with pytest.raises(ValueError, match=r"must end with '.h5', '.hdf5' or '.keras'"):
        saving.load_model(tmp_path / "m.pkl")
    (tmp_path / "dir.h5").mkdir()
    with pytest.raises(ValueError, match=r"is a directory, not a saved model"):
        saving.load_model(tmp_path / "dir.h5")
    with pytest.raises(TypeError, match=r"Argument `safe_mode` must be a bool. Received: safe_mode=1"):
        saving.load_model(tmp_path / "dir.h5", safe_mode=1)
    with pytest.raises(TypeError, match=r"Argument `compile` must be a bool"):
        saving.load_model(tmp_path / "dir.h5", compile=None)
