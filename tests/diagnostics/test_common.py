"""kerastools.callbacks diagnostics together: they leave training untouched (even in
training mode), take multi-input batches, and are exported and registered."""

import keras
import numpy as np
import pytest

import kerastools
from kerastools.diagnostics import (
    ActivationMonitor,
    BiasVarianceMonitor,
    GradientNormMonitor,
    activation_statistics,
    gradient_norms,
)
from tests.conformance import assert_registered

RNG = np.random.default_rng(0)
X = RNG.standard_normal((48, 6)).astype("float32")
Y = (np.arange(48) % 3).astype("int64")


def _bn_dropout_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name="hidden"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dropout(0.3, name="drop"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def test_training_mode_diagnostics_restore_moving_statistics_and_seed_states():
    model = _bn_dropout_model()
    before = [keras.ops.convert_to_numpy(v) for v in model.variables]
    activation_statistics(model, X, layers=["hidden", "bn"], training=True)
    gradient_norms(model, X, Y, training=True)
    for old, variable in zip(before, model.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), old, err_msg=variable.path)


def test_all_monitors_together_leave_fit_unchanged():
    def train(callbacks):
        model = _bn_dropout_model()
        history = model.fit(X, Y, validation_data=(X, Y), epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=callbacks)
        return model, history.history

    monitors = [
        BiasVarianceMonitor(train_data=(X, Y)),
        ActivationMonitor(X[:16], layers=["hidden", "bn"], training=True),
        GradientNormMonitor(X[:16], Y[:16], training=True),
    ]
    model, history = train(monitors)
    plain, plain_history = train([])
    assert history["loss"] == plain_history["loss"] and history["val_loss"] == plain_history["val_loss"]
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(len(m.records) == 3 for m in monitors)
    # Training mode normalises with the sample batch's own statistics: every unit's
    # batch mean is its beta (with the moving averages it would not be).
    beta = keras.ops.convert_to_numpy(model.get_layer("bn").beta)
    assert monitors[1].records[-1]["bn"].mean == pytest.approx(beta.mean(), abs=1e-5)


def test_multi_input_models():
    left, right = keras.Input((3,), name="left"), keras.Input((2,), name="right")
    hidden = keras.layers.Dense(4, activation="tanh", name="hidden")(keras.layers.Concatenate()([left, right]))
    model = keras.Model([left, right], keras.layers.Dense(1, name="out")(hidden))
    x = [X[:, :3], X[:, 3:5]]
    report = activation_statistics(model, x)
    assert list(report.layers) == ["hidden"] and report["hidden"].fraction_saturated is not None
    assert gradient_norms(model, x, X[:, 5:], loss="mse").first_last_ratio > 0


def test_everything_is_exported_and_the_callbacks_registered():
    for name in kerastools.callbacks.__all__:
        assert getattr(kerastools.callbacks, name).__module__.startswith("kerastools.")
    for cls in (BiasVarianceMonitor, ActivationMonitor, GradientNormMonitor):
        assert_registered(cls)
        assert issubclass(cls, keras.callbacks.Callback)


@pytest.mark.parametrize("value", [[[1.0, 2.0]], {"a": np.ones((2, 1))}, (np.ones((2, 1)), np.ones((2, 2)))])
def test_sample_batches_accept_arrays_lists_and_dicts(value):
    monitor = ActivationMonitor(value)
    assert all(isinstance(leaf, np.ndarray) for leaf in keras.tree.flatten(monitor.x))
