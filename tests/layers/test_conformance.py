"""One registry of layer cases drives the shared checks: registration, configs,
Sequential and functional models, `.keras`/`.h5` round trips, XLA and mixed precision."""

import keras
import numpy as np
import pytest

from kerastools import initializers, regularizers
from kerastools import layers as L
from tests.conformance import assert_config_round_trip, assert_model_round_trip

# (id, factory, input shape without batch, random) -- `random`: draws a dropout mask.
CASES = [
    ("dropout-rate", lambda: L.Dropout(rate=0.3, seed=1), (6,), True),
    ("dropout-keep-prob-noise-shape", lambda: L.Dropout(keep_prob=0.8, noise_shape=(None, 1, 1, 2), seed=2), (4, 4, 2), True),
    ("batchnorm-dense", lambda: L.BatchNormalization(momentum=0.9), (5,), False),
    ("batchnorm-per-activation", lambda: L.BatchNormalization(axis=(1, 2, 3), epsilon=1e-5), (4, 4, 2), False),
    ("batchnorm-channels-first", lambda: L.BatchNormalization(axis=1, center=False, gamma_regularizer=regularizers.L2(0.01)), (3, 4, 4), False),
    ("conv-native", lambda: L.Conv2D(3, 3, padding=1, activation="relu", kernel_initializer=initializers.HeNormal(seed=0),
                                     kernel_regularizer=regularizers.L2.from_course(0.5, 100)), (6, 6, 2), False),
    ("conv-im2col", lambda: L.Conv2D(3, (2, 3), strides=2, padding=((0, 1), (1, 1)), implementation="im2col"), (7, 7, 2), False),
    ("conv-channels-first", lambda: L.Conv2D(2, 3, padding="same", data_format="channels_first", use_bias=False), (2, 5, 5), False),
    ("maxpool", lambda: L.MaxPooling2D(2), (6, 6, 2), False),
    ("maxpool-padded", lambda: L.MaxPooling2D(3, 2, padding=1), (6, 6, 2), False),
    ("avgpool-same", lambda: L.AveragePooling2D(3, 2, padding="same"), (7, 7, 2), False),
    ("softmax", lambda: L.Softmax(), (4,), False),
    ("softmax-axes", lambda: L.Softmax(axis=(1, 2)), (3, 4), False),
]
IDS = [case[0] for case in CASES]


def _data(shape, seed=0, batch=4):
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype("float32")


def _randomize(model, seed=1):
    """Non-default weights and statistics, so that a lost variable would show."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if "seed_generator" in v.path:
            continue
        value = rng.standard_normal(v.shape)
        if "variance" in v.name:
            value = np.abs(value) + 0.5
        v.assign(value.astype(v.dtype))


def _sequential(factory, shape):
    return keras.Sequential([keras.Input(shape), factory(), keras.layers.Flatten(), keras.layers.Dense(2)])


def _functional(factory, shape):
    inputs = keras.Input(shape)
    hidden = factory()(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(hidden))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("name, factory, shape, random", CASES, ids=IDS)
def test_config_round_trip(name, factory, shape, random):
    layer = factory()
    clone = assert_config_round_trip(layer)
    layer(_data(shape))
    assert_config_round_trip(layer)  # built layers keep the same config
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("name, factory, shape, random", CASES, ids=IDS)
@pytest.mark.parametrize("build", [_sequential, _functional], ids=["sequential", "functional"])
def test_model_round_trip_keras_and_h5(name, factory, shape, random, build, tmp_path):
    model = build(factory, shape)
    _randomize(model)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.MeanSquaredError())
    x = _data(shape)
    model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    assert_model_round_trip(model, x, tmp_path)


@pytest.mark.parametrize("name, factory, shape, random", CASES, ids=IDS)
def test_training_step_under_xla_matches_graph_mode(name, factory, shape, random):
    x, y = _data(shape, seed=2), _data((2,), seed=3)
    results = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = _sequential(factory, shape)
        _randomize(model)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.MeanSquaredError(), jit_compile=jit)
        prediction = model.predict(x, verbose=0)  # inference: no randomness
        loss = model.train_on_batch(x, y)
        results.append((loss, prediction, [w.numpy() for w in model.weights]))
    (loss_graph, pred_graph, w_graph), (loss_xla, pred_xla, w_xla) = results
    assert np.isfinite(loss_xla)
    np.testing.assert_allclose(pred_xla, pred_graph, rtol=1e-4, atol=1e-5)
    if not random:  # XLA's random kernels draw other masks than TensorFlow's
        np.testing.assert_allclose(loss_xla, loss_graph, rtol=1e-4)
        for a, b in zip(w_xla, w_graph):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, factory, shape, random", CASES, ids=IDS)
def test_mixed_precision_float16_compute_float32_variables(name, factory, shape, random):
    config = factory().get_config()
    config["dtype"] = "mixed_float16"
    layer = type(factory()).from_config(config)
    y = layer(_data(shape), training=True)
    assert str(y.dtype) in ("float16", "<dtype: 'float16'>")
    assert all(v.dtype in ("float32", "int32", "int64", "uint32") for v in layer.weights)
    assert np.isfinite(np.asarray(y, np.float32)).all()
