"""Conformance checks shared by every component's tests.

Every public kerastools class must be registered under the package
``kerastools`` and round-trip through ``get_config``/``from_config``, JSON, and,
inside a model, the ``.keras`` and ``.h5`` formats.
"""

import json

import keras
import numpy as np

from kerastools import _registry


def assert_registered(cls):
    """`cls` is registered as ``kerastools>ClassName`` and resolves back to itself."""
    name = keras.saving.get_registered_name(cls)
    assert name == f"{_registry.PACKAGE}>{cls.__name__}", name
    assert keras.saving.get_registered_object(name) is cls
    assert cls in _registry.registered_classes()


def assert_config_round_trip(obj):
    """``from_config(get_config())`` and a JSON trip through Keras serialisation
    rebuild an object of the same class with an identical config."""
    cls = type(obj)
    assert_registered(cls)
    config = obj.get_config()
    json.dumps(config)  # configs must hold plain Python values
    clone = cls.from_config(config)
    assert type(clone) is cls
    assert clone.get_config() == config
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls
    assert restored.get_config() == config
    return clone


def save_and_load(model, path, **load_kwargs):
    """Save `model` to `path` (its suffix picks ``.keras`` or ``.h5``) and load it."""
    model.save(str(path))
    return keras.models.load_model(str(path), **load_kwargs)


def assert_model_round_trip(model, x, tmp_path, *, formats=(".keras", ".h5"), atol=0.0, **load_kwargs):
    """`model` saved and reloaded in each format predicts the same on `x` and keeps
    the same layer configs. Returns the reloaded models by format."""
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    reloaded = {}
    for fmt in formats:
        restored = save_and_load(model, tmp_path / f"model{fmt}", **load_kwargs)
        got = keras.ops.convert_to_numpy(restored(x, training=False))
        np.testing.assert_allclose(got, expected, rtol=0.0, atol=atol, err_msg=fmt)
        for original, loaded in zip(model.layers, restored.layers):
            assert type(loaded) is type(original), fmt
            assert loaded.get_config() == original.get_config(), fmt
        reloaded[fmt] = restored
    return reloaded
