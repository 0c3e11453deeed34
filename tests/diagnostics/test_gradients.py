"""kerastools.callbacks gradient norms: NumPy backprop reference, vanishing and
exploding cases of the course, fit, TensorBoard output, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerastools as kt
from kerastools.diagnostics import GradientNormMonitor, GradientNormReport, gradient_norms
from tests.diagnostics import reference as ref
from tests.conformance import assert_config_round_trip

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 8))
Y = RNG.standard_normal((64, 3))
ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear"]


def _float64():
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")


def _mlp(activations, width=8, initializer="glorot_uniform", l2=0.0, bias=0.0, n_in=8, n_out=3):
    layers = [keras.Input((n_in,))]
    for i, activation in enumerate(activations):
        units = n_out if i == len(activations) - 1 else width
        layers.append(
            keras.layers.Dense(
                units,
                activation=activation,
                kernel_initializer=initializer,
                bias_initializer=keras.initializers.Constant(bias),
                kernel_regularizer=kt.regularizers.L2(l2) if l2 else None,  # exact factor (Keras rounds it to float32)
                name=f"layer_{i + 1}",
            )
        )
    return keras.Sequential(layers, name="mlp")


def _reference_norms(model, activations, l2=0.0):
    weights = [np.asarray(layer.kernel) for layer in model.layers]
    biases = [np.asarray(layer.bias) for layer in model.layers]
    dw, db = ref.mlp_mse_gradients(X, Y, weights, biases, activations, l2=l2)
    return dw, db


@pytest.mark.parametrize("compiled", [True, False])
def test_norms_match_numpy_backpropagation(compiled):
    _float64()
    model = _mlp(ACTIVATIONS, initializer=kt.initializers.XavierNormal(seed=0), l2=0.01, bias=0.1)
    if compiled:
        model.compile("sgd", keras.losses.MeanSquaredError())
        report = gradient_norms(model, X, Y)
    else:
        report = gradient_norms(model, X, Y, loss="mse")
    assert isinstance(report, GradientNormReport)
    dw, db = _reference_norms(model, ACTIVATIONS, l2=0.01)
    expected = {}
    for i, (w, b) in enumerate(zip(dw, db)):
        expected[f"mlp/layer_{i + 1}/kernel"] = np.linalg.norm(w)
        expected[f"mlp/layer_{i + 1}/bias"] = np.linalg.norm(b)
    assert list(report.variable_norms) == list(expected)
    for name, value in expected.items():
        assert report.variable_norms[name] == pytest.approx(value, rel=1e-10), name
    layer_norms = [np.sqrt(np.sum(w**2) + np.sum(b**2)) for w, b in zip(dw, db)]
    np.testing.assert_allclose(list(report.layer_norms.values()), layer_norms, rtol=1e-10)
    assert list(report.layer_norms) == [f"layer_{i}" for i in range(1, 5)]
    assert report.first_last_ratio == pytest.approx(layer_norms[0] / layer_norms[-1], rel=1e-10)
    predictions = ref.mlp_forward(X, [np.asarray(l.kernel) for l in model.layers], [np.asarray(l.bias) for l in model.layers], ACTIVATIONS)[-1]
    penalty = 0.01 * sum(np.sum(np.asarray(l.kernel) ** 2) for l in model.layers)
    assert report.loss == pytest.approx(np.mean((predictions - Y) ** 2) + penalty, rel=1e-12)
    assert report.verdict == "ok" and "mlp/layer_1/kernel" in str(report)


def _deep(activation, initializer, depth=6, width=32, bias=0.0):
    return _mlp([activation] * depth + ["linear"], width=width, initializer=initializer, bias=bias)


def test_tiny_init_sigmoid_gradients_vanish_towards_the_input():
    """N(0, 0.01**2) in a deep sigmoid net: each layer multiplies the gradient by
    about 0.25 * 0.01 * sqrt(width), so the first layers hardly learn."""
    report = gradient_norms(_deep("sigmoid", kt.initializers.ScaledNormal(0.01, seed=1)), X, Y, loss="mse")
    norms = list(report.layer_norms.values())
    assert all(a < b for a, b in zip(norms, norms[1:-1]))  # growing towards the output
    assert report.first_last_ratio < 1e-6 and report.vanishing and not report.exploding
    assert "mlp/layer_1/kernel" in report.vanishing_variables and report.verdict == "vanishing"


def test_dead_relu_layer_has_zero_gradients():
    model = _mlp(["relu", "relu", "linear"], initializer=kt.initializers.HeNormal(seed=2), bias=0.0)
    model.get_layer("layer_2").bias.assign(np.full(8, -50.0, "float32"))
    report = gradient_norms(model, X, Y, loss="mse")
    assert report.variable_norms["mlp/layer_1/kernel"] == 0.0 and report.variable_norms["mlp/layer_2/kernel"] == 0.0
    # Everything behind the dead layer, and the next kernel (its inputs are all 0).
    dead = {f"mlp/layer_{i}/{v}" for i in (1, 2) for v in ("kernel", "bias")} | {"mlp/layer_3/kernel"}
    assert set(report.vanishing_variables) == dead
    assert report.first_last_ratio == 0.0 and report.verdict == "vanishing"


def test_large_init_deep_linear_network_explodes():
    """The course's W = 1.5 I example, in general form: y = W_L ... W_1 x grows
    geometrically, and so do the gradients."""
    report = gradient_norms(_deep("linear", kt.initializers.ScaledNormal(1.0, seed=3), depth=8), X, Y, loss="mse")
    assert report.exploding and report.verdict == "exploding"
    assert min(report.layer_norms.values()) > 1e3
    assert set(report.exploding_variables) == set(report.variable_norms)


def test_non_finite_gradients_explode():
    model = _mlp(["tanh", "linear"])
    model.get_layer("layer_1").kernel.assign(np.full((8, 8), np.nan, "float32"))
    report = gradient_norms(model, X, Y, loss="mse")
    assert report.exploding and "mlp/layer_1/kernel" in report.exploding_variables


@pytest.mark.parametrize("activation, initializer", [("relu", kt.initializers.HeNormal(seed=4)), ("tanh", kt.initializers.XavierNormal(seed=4))])
def test_the_recommended_initialisations_are_fine(activation, initializer):
    report = gradient_norms(_deep(activation, initializer), X, Y, loss="mse")
    assert report.verdict == "ok" and 1e-2 < report.first_last_ratio < 1e2


def test_thresholds_can_be_disabled_and_tuned():
    model = _deep("sigmoid", kt.initializers.ScaledNormal(0.01, seed=1))
    quiet = gradient_norms(model, X, Y, loss="mse", vanishing_threshold=None, ratio_threshold=None)
    assert quiet.verdict == "ok" and quiet.vanishing_variables == ()
    strict = gradient_norms(_mlp(["tanh", "linear"]), X, Y, loss="mse", exploding_threshold=1e-9)
    assert strict.verdict == "exploding"


def test_monitor_in_fit_does_not_change_training(tmp_path):
    def train(callbacks):
        keras.utils.set_random_seed(0)
        model = _deep("sigmoid", kt.initializers.ScaledNormal(0.01, seed=1), depth=3, width=8)
        model.compile(keras.optimizers.SGD(0.1), keras.losses.MeanSquaredError())
        history = model.fit(X, Y, validation_data=(X, Y), epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=callbacks)
        return model, history

    monitor = GradientNormMonitor(X[:32], Y[:32], freq=1, log_dir=tmp_path / "grads")
    model, history = train([monitor])
    plain, plain_history = train([])
    assert history.history["loss"] == plain_history.history["loss"]
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [r.epoch for r in monitor.records] == [0, 1, 2]
    final = gradient_norms(model, X[:32], Y[:32])  # the compiled loss
    assert monitor.records[-1].variable_norms == pytest.approx(final.variable_norms, rel=1e-5)
    assert monitor.records[-1].vanishing
    tags = {}
    for path in (tmp_path / "grads").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
                assert value.metadata.plugin_data.plugin_name == "scalars"
    assert tags[("gradient_norm/mlp/layer_1/kernel", 2)] == pytest.approx(final.variable_norms["mlp/layer_1/kernel"], rel=1e-5)
    assert tags[("gradient_norm/first_last_ratio", 0)] == pytest.approx(monitor.records[0].first_last_ratio, rel=1e-6)
    assert ("gradient_norm_layer/layer_4", 1) in tags


def test_monitor_freq_and_verbose(capsys):
    model = _deep("linear", kt.initializers.ScaledNormal(1.0, seed=3), depth=6)
    model.compile(keras.optimizers.SGD(0.0), keras.losses.MeanSquaredError())
    monitor = GradientNormMonitor(X, Y, freq=2, verbose=1)
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[monitor])
    assert [r.epoch for r in monitor.records] == [1, 3]
    assert capsys.readouterr().out.count("-> exploding") == 2


def test_model_without_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="Gradient norms need a loss: compile the model, or pass `loss=`"):
        gradient_norms(_mlp(["linear"]), X, Y)
    with pytest.raises(ValueError, match="`loss` must be None, a Keras loss name, .* Received: loss='nope'"):
        gradient_norms(_mlp(["linear"]), X, Y, loss="nope")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"x": "abc"}, TypeError, r"`x` must be an array or a list/tuple/dict of arrays"),
        ({"y": np.zeros((0,))}, ValueError, r"`y` must hold at least one example"),
        ({"loss": 3}, ValueError, r"`loss` must be None, a Keras loss name"),
        ({"freq": 1.5}, TypeError, r"`freq` must be an integer. Received: freq=1.5"),
        ({"vanishing_threshold": -1}, ValueError, r"`vanishing_threshold` must be >= 0. Received: vanishing_threshold=-1.0"),
        ({"exploding_threshold": 0}, ValueError, r"`exploding_threshold` must be > 0. Received: exploding_threshold=0.0"),
        ({"ratio_threshold": 0.5}, ValueError, r"`ratio_threshold` must be >= 1. Received: ratio_threshold=0.5"),
        ({"training": "no"}, TypeError, r"`training` must be a bool"),
        ({"verbose": -1}, ValueError, r"`verbose` must be an integer in \[0, 2\]"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        GradientNormMonitor(**{"x": X, "y": Y, **kwargs})


def test_config_round_trip(tmp_path):
    monitor = GradientNormMonitor(
        X[:2].astype("float32"), Y[:2], loss=keras.losses.MeanAbsoluteError(name="my_mae"), freq=3, training=True,
        vanishing_threshold=None, exploding_threshold=10.0, ratio_threshold=100.0, log_dir=str(tmp_path), verbose=1,
    )
    clone = assert_config_round_trip(monitor)
    assert isinstance(clone.loss, keras.losses.MeanAbsoluteError) and clone.loss.name == "my_mae"
    assert_config_round_trip(GradientNormMonitor(X[:2], loss="mse"))


def test_monitor_follows_a_recompiled_model_across_fits():
    model = _mlp(["tanh", "linear"])
    model.compile(keras.optimizers.SGD(0.0), keras.losses.MeanSquaredError())
    monitor = GradientNormMonitor(X, Y)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[monitor])
    mse = monitor.records[-1].loss
    model.compile(keras.optimizers.SGD(0.0), keras.losses.MeanAbsoluteError())
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[monitor])
    assert len(monitor.records) == 1  # records are those of the latest fit
    assert monitor.records[-1].loss == pytest.approx(gradient_norms(model, X, Y, loss="mae").loss, rel=1e-6)
    assert monitor.records[-1].loss != pytest.approx(mse, rel=1e-3)
