"""Keras configs and saved Keras models load into the kerastools classes; stateless
layers are built at construction; Keras's exception types."""

import json
import zipfile

import keras
import numpy as np
import pytest

import kerastools as kt

K = keras
# (a Keras object, the kerastools class that shadows it)
SHADOWED = [
    (lambda: K.layers.Dropout(0.3, noise_shape=(None, 1), seed=3), kt.layers.Dropout),
    (lambda: K.layers.BatchNormalization(
        axis=1, momentum=0.9, epsilon=1e-4, center=False, beta_regularizer="l2",
        gamma_constraint="non_neg", moving_variance_initializer="zeros", synchronized=True,
        renorm=True, renorm_clipping={"rmax": 3.0, "rmin": 0.5, "dmax": 2.0}, renorm_momentum=0.9),
     kt.layers.BatchNormalization),
    (lambda: K.layers.BatchNormalization(), kt.layers.BatchNormalization),
    (lambda: K.layers.MaxPooling2D(3, strides=2, padding="same", data_format="channels_first"),
     kt.layers.MaxPooling2D),
    (lambda: K.layers.AveragePooling2D((2, 3), strides=1, padding="valid"), kt.layers.AveragePooling2D),
    (lambda: K.layers.Softmax(axis=1), kt.layers.Softmax),
    (lambda: K.optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0, use_ema=True), kt.optimizers.SGD),
    (lambda: K.optimizers.Adagrad(0.1, initial_accumulator_value=0.2, epsilon=1e-6), kt.optimizers.Adagrad),
    (lambda: K.optimizers.RMSprop(0.1, rho=0.8, centered=True, momentum=0.5), kt.optimizers.RMSprop),
    (lambda: K.optimizers.Adam(0.1, beta_1=0.8, amsgrad=True, weight_decay=0.01), kt.optimizers.Adam),
    (lambda: K.optimizers.AdamW(0.1, weight_decay=0.1, global_clipnorm=2.0), kt.optimizers.AdamW),
    (lambda: K.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True), kt.schedules.ExponentialDecay),
    (lambda: K.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
     kt.schedules.PiecewiseConstantDecay),
    (lambda: K.optimizers.schedules.PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True),
     kt.schedules.PolynomialDecay),
    (lambda: K.optimizers.schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True), kt.schedules.InverseTimeDecay),
    (lambda: K.optimizers.schedules.CosineDecay(0.1, 10, alpha=0.1, warmup_target=0.2, warmup_steps=5),
     kt.schedules.CosineDecay),
    (lambda: K.optimizers.schedules.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.9, alpha=0.1),
     kt.schedules.CosineDecayRestarts),
]


@pytest.mark.parametrize("make, cls", SHADOWED, ids=lambda v: getattr(v, "__name__", ""))
def test_a_keras_config_loads_into_the_kerastools_class(make, cls):
    """Every Keras config key is accepted and comes back with the same value."""
    config = make().get_config()
    ours = cls.from_config(config).get_config()
    assert {key: ours.get(key, "<absent>") for key in config} == config


def _replace_class_names(path, out_path, classes):
    """Rewrite a `.keras` file's config so that `classes` resolve to kerastools's."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out_path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)

                def visit(node):
                    if isinstance(node, dict):
                        if node.get("module") == "keras.layers" and node.get("class_name") in classes:
                            node["module"] = None
                            node["registered_name"] = f"kerastools>{node['class_name']}"
                        for value in node.values():
                            visit(value)
                    elif isinstance(node, list):
                        for value in node:
                            visit(value)

                visit(config)
                data = json.dumps(config).encode()
            target.writestr(item, data)


def test_a_model_saved_with_keras_layers_loads_into_the_kerastools_layers(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 2)),
        keras.layers.Conv2D(4, 3, padding="same"),
        keras.layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0, "dmax": 1.0}),
        keras.layers.MaxPooling2D(2),
        keras.layers.AveragePooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(3),
        keras.layers.Softmax(),
    ])
    model.compile("adam", "categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((16, 8, 8, 2)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(16) % 3]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "keras.keras")
    names = {"BatchNormalization", "MaxPooling2D", "AveragePooling2D", "Dropout", "Softmax"}
    _replace_class_names(tmp_path / "keras.keras", tmp_path / "kerastools.keras", names)
    loaded = keras.models.load_model(tmp_path / "kerastools.keras")

    swapped = [layer for layer in loaded.layers if type(layer).__name__ in names]
    assert len(swapped) == 5 and all(type(layer).__module__.startswith("kerastools.") for layer in swapped)
    assert len(loaded.weights) == len(model.weights)
    for ours, theirs in zip(loaded.weights, model.weights):
        assert ours.name == theirs.name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # Same inference; same batch-renormalised training output (float32, ~1e-5).
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    bn_ours, bn_theirs = loaded.layers[1], model.layers[1]
    features = model.layers[0](x)
    np.testing.assert_allclose(bn_ours(features, training=True), bn_theirs(features, training=True),
                               rtol=1e-5, atol=1e-5)


STATELESS = [
    lambda: kt.layers.Dropout(0.5),
    lambda: kt.layers.MaxPooling2D(),
    lambda: kt.layers.AveragePooling2D(),
    lambda: kt.layers.Softmax(),
]


@pytest.mark.parametrize("make", STATELESS, ids=["Dropout", "MaxPooling2D", "AveragePooling2D", "Softmax"])
def test_stateless_layers_are_built_at_construction_unless_build_is_overridden(make):
    layer = make()
    assert layer.built
    seen = []

    class WithBuild(type(layer)):
        def build(self, input_shape):
            seen.append(tuple(input_shape))

    subclass = WithBuild.from_config(layer.get_config())
    assert not subclass.built
    subclass(np.ones((2, 4, 4, 3), "float32"))
    assert subclass.built and seen == [(2, 4, 4, 3)]


def test_adamw_without_weight_decay_is_a_value_error_as_in_keras():
    with pytest.raises(ValueError, match=r"Argument `weight_decay` must be a float. Received: weight_decay=None"):
        kt.optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError):
        keras.optimizers.AdamW(weight_decay=None)


@pytest.mark.parametrize(
    "mask_shape, match",
    [
        ((2, 3), r"each mask dimension must be 1 or match the input's. "
                 r"Received: inputs.shape=\(1, 3\), mask.shape=\(2, 3\)"),
        ((1, 1, 3), r"must not have more dimensions. Received: inputs.shape=\(1, 3\), mask.shape=\(1, 1, 3\)"),
        ((2,), r"each mask dimension must be 1 or match"),
    ],
)
def test_softmax_refuses_a_mask_that_does_not_broadcast_as_keras_does(mask_shape, match):
    for layer in (kt.layers.Softmax(), keras.layers.Softmax()):
        with pytest.raises(ValueError, match=None if layer.__module__.startswith("keras") else match):
            layer(np.ones((1, 3), "float32"), mask=np.ones(mask_shape, bool))
