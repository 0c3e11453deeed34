"""kerastools.callbacks activation statistics: the course's initialisation experiment,
dead ReLUs, histograms, TensorBoard output, fit, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerastools as kt
from kerastools.diagnostics import ActivationMonitor, ActivationReport, activation_statistics, layer_activations
from tests.diagnostics import reference as ref
from tests.conformance import assert_config_round_trip

X = np.random.default_rng(0).standard_normal((1000, 100))  # the book's section 6.2.2: randn(1000, 100)
BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": None}


def _float64():
    # conftest has read (and so fixed) the global dtype policy: set both.
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")


def _course_network(activation, initializer, depth=5, width=100, bias=None):
    """Seed 004's network: `depth` hidden layers of `width` units, z = a @ W."""
    layers = [keras.Input((width,))]
    for i in range(depth):
        layers.append(
            keras.layers.Dense(
                width,
                activation=activation,
                kernel_initializer=initializer,
                use_bias=bias is not None,
                bias_initializer=keras.initializers.Constant(bias if bias is not None else 0.0),
                name=f"hidden_{i + 1}",
            )
        )
    layers.append(keras.layers.Dense(10, activation="softmax", name="output"))
    return keras.Sequential(layers)


def _reference(model, activation, x):
    hidden = [layer for layer in model.layers if layer.name.startswith("hidden")]
    weights = [np.asarray(layer.kernel, np.float64) for layer in hidden]
    biases = [np.asarray(layer.bias, np.float64) if layer.use_bias else 0.0 for layer in hidden]
    return ref.mlp_forward(x, weights, biases, [activation] * len(hidden))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_statistics_match_the_numpy_reference(activation):
    _float64()
    # Weights large enough for some saturation (sigmoid, tanh) and dead units (ReLU).
    model = _course_network(activation, kt.initializers.ScaledNormal(0.3, seed=3), bias=-0.5)
    report = activation_statistics(model, X)
    assert list(report.layers) == [f"hidden_{i}" for i in range(1, 6)]  # output layer excluded
    for stats, a in zip(report, _reference(model, activation, X)):
        expected = ref.activation_stats(a, BOUNDS[activation])
        assert stats.activation == activation
        for key, value in expected.items():
            assert getattr(stats, key) == pytest.approx(value, rel=1e-9, abs=1e-12), key
        if BOUNDS[activation] is None:
            assert stats.fraction_saturated is None
        counts, edges = np.histogram(a, bins=30, range=BOUNDS[activation] or (a.min(), a.max()))
        np.testing.assert_array_equal(stats.histogram, counts)
        np.testing.assert_allclose(stats.bin_edges, edges, rtol=1e-12)
        assert stats.fraction_nonfinite == 0.0


def test_layer_activations_are_the_forward_pass():
    _float64()
    model = _course_network("tanh", kt.initializers.HeNormal(seed=1), depth=2)
    acts = layer_activations(model, X[:50])
    assert list(acts) == ["hidden_1", "hidden_2"]
    for got, expected in zip(acts.values(), _reference(model, "tanh", X[:50])):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    only = layer_activations(model, X[:50], layers=["output", model.layers[0]])
    assert list(only) == ["output", "hidden_1"] and only["output"].shape == (50, 10)


def test_the_course_experiment_sigmoid():
    """Seed 004: N(0, 1) saturates at 0 and 1; N(0, 0.01**2) collapses at 0.5;
    Xavier keeps a spread without saturating."""
    big = activation_statistics(_course_network("sigmoid", kt.initializers.ScaledNormal(1.0, seed=1)), X)
    tiny = activation_statistics(_course_network("sigmoid", kt.initializers.ScaledNormal(0.01, seed=1)), X)
    xavier = activation_statistics(_course_network("sigmoid", kt.initializers.XavierNormal(seed=1)), X)
    assert big.saturated_layers == list(big.layers)
    assert all(s.fraction_saturated > 0.4 and s.std > 0.4 for s in big)
    assert big["hidden_3"].histogram[0] + big["hidden_3"].histogram[-1] > 0.4 * X.size  # two spikes
    assert tiny.saturated_layers == [] and all(abs(s.mean - 0.5) < 0.01 and s.std < 0.03 for s in tiny)
    assert xavier.saturated_layers == [] and all(0.1 < s.std < 0.3 for s in xavier)
    assert "saturated" in str(big) and "hidden_5" in str(big)


def test_relu_with_a_large_negative_bias_is_dead():
    dead = activation_statistics(_course_network("relu", kt.initializers.HeNormal(seed=2), depth=2, bias=-20.0), X)
    assert dead.dead_layers == ["hidden_1", "hidden_2"]
    assert all(s.fraction_dead == 1.0 and s.fraction_zero == 1.0 and s.problems == ("dead",) for s in dead)
    healthy = activation_statistics(_course_network("relu", kt.initializers.HeNormal(seed=2), depth=2), X)
    assert healthy.dead_layers == [] and all(0.3 < s.fraction_zero < 0.7 for s in healthy)


def test_dead_units_versus_zero_activations():
    """A unit is dead when it is 0 for every example; zeros of live units don't count."""
    dense = keras.layers.Dense(4, activation="relu", name="relu")
    model = keras.Sequential([keras.Input((1,)), dense, keras.layers.Dense(1, name="out")])
    dense.set_weights([np.array([[1.0, -1.0, 0.0, 1.0]]), np.array([0.0, 0.0, -1.0, 5.0])])
    x = np.array([[1.0], [-1.0], [2.0]])  # unit 0: off once; 1: off twice; 2: always off
    stats = activation_statistics(model, x, max_dead_fraction=0.2)["relu"]
    assert stats.fraction_dead == 0.25 and stats.fraction_zero == pytest.approx(6 / 12)
    assert stats.dead and not activation_statistics(model, x)["relu"].dead  # 0.25 is not > 0.25


def test_dead_channels_of_a_convolution():
    """For a convolution a unit is a channel: dead when 0 at every position of every example."""
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
    model = keras.Sequential([keras.Input((6, 6, 1)), conv, keras.layers.Flatten(), keras.layers.Dense(2)])
    conv.set_weights([np.ones((3, 3, 1, 4)) * 0.1, np.array([0.0, -100.0, 0.0, -100.0])])
    stats = activation_statistics(model, np.abs(X[:8, :36]).reshape(8, 6, 6, 1))["conv"]
    assert stats.fraction_dead == 0.5 and stats.fraction_zero == pytest.approx(0.5)


def test_sequential_models_without_input_are_built_on_the_batch():
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", name="hidden"), keras.layers.Dense(1)])
    assert list(activation_statistics(model, X[:5, :4]).layers) == ["hidden"]
    unbuilt = keras.Sequential([keras.layers.Dense(8, activation="tanh", name="hidden"), keras.layers.Dense(1)])
    unbuilt.compile("sgd", keras.losses.MeanSquaredError())
    monitor = ActivationMonitor(X[:37, :4])  # Keras builds the model during the first batch
    unbuilt.fit(X[:64, :4], X[:64, :1], batch_size=32, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.records[0]["hidden"].histogram.sum() == 37 * 8


def test_non_finite_activations_are_counted_and_excluded():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="exponential", name="exp")])
    model.layers[0].set_weights([np.array([[1.0, 200.0]]), np.zeros(2)])
    stats = activation_statistics(model, np.ones((4, 1), "float32"), layers=["exp"])["exp"]
    assert stats.fraction_nonfinite == 0.5 and stats.mean == pytest.approx(np.e, rel=1e-6)
    assert stats.histogram.sum() == 4


def test_monitor_records_during_fit_and_writes_tensorboard(tmp_path):
    keras.utils.set_random_seed(0)
    model = _course_network("sigmoid", kt.initializers.ScaledNormal(1.0, seed=1), depth=2, width=16)
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy())
    x, y = X[:64, :16].astype("float32"), np.arange(64) % 10
    monitor = ActivationMonitor(x[:32], freq=2, bins=10, log_dir=tmp_path / "act")
    model.fit(x, y, validation_data=(x, y), epochs=4, batch_size=32, verbose=0, callbacks=[monitor])
    assert [r.epoch for r in monitor.records] == [1, 3]
    assert all(isinstance(r, ActivationReport) and list(r.layers) == ["hidden_1", "hidden_2"] for r in monitor.records)
    # The record is the statistics of the final weights on the sample batch.
    np.testing.assert_array_equal(monitor.records[-1]["hidden_2"].histogram, activation_statistics(model, x[:32], bins=10)["hidden_2"].histogram)
    events = {}
    for path in (tmp_path / "act").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                events[(value.tag, event.step)] = (value.metadata.plugin_data.plugin_name, tf.make_ndarray(value.tensor))
    plugin, buckets = events[("activations/hidden_2", 3)]
    assert plugin == "histograms" and buckets.shape == (10, 3)
    np.testing.assert_array_equal(buckets[:, 2], monitor.records[-1]["hidden_2"].histogram)
    np.testing.assert_allclose(buckets[:, 0], np.linspace(0, 1, 11)[:-1])
    plugin, mean = events[("activations/hidden_1/fraction_saturated", 1)]
    assert plugin == "scalars" and float(mean) == pytest.approx(monitor.records[0]["hidden_1"].fraction_saturated, rel=1e-6)
    assert {step for _, step in events} == {1, 3}


def test_monitor_verbose_prints_flagged_layers(capsys):
    model = _course_network("relu", kt.initializers.HeNormal(seed=2), depth=1, width=8, bias=-20.0)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy())
    x, y = X[:16, :8], np.zeros(16)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ActivationMonitor(x, verbose=1)])
    assert "hidden_1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"x": tf.data.Dataset.range(3)}, TypeError, r"`x` must be an array .* \(a fixed sample batch"),
        ({"x": np.zeros((0, 3))}, ValueError, r"at least one example .* Received: x with shape \(0, 3\)"),
        ({"layers": [3]}, TypeError, r"`layers` must be None or a non-empty list of layer names or layers. Received: layers=\[3\]"),
        ({"freq": 0}, ValueError, r"`freq` must be an integer >= 1. Received: freq=0"),
        ({"bins": 0}, ValueError, r"`bins` must be an integer >= 1. Received: bins=0"),
        ({"histogram_range": (1, 0)}, ValueError, r"`histogram_range` must be None or a pair \(low, high\) with low < high"),
        ({"saturation_tolerance": 0.5}, ValueError, r"`saturation_tolerance` must be in \[0, 0.5\). Received: saturation_tolerance=0.5"),
        ({"max_dead_fraction": -0.1}, ValueError, r"`max_dead_fraction` must be in \[0, 1\]"),
        ({"max_saturated_fraction": 2}, ValueError, r"`max_saturated_fraction` must be in \[0, 1\]"),
        ({"training": 1}, TypeError, "`training` must be a bool. Received: training=1"),
        ({"log_dir": 3}, TypeError, "`log_dir` must be a path or None. Received: log_dir=3"),
        ({"verbose": 3}, ValueError, r"`verbose` must be an integer in \[0, 2\]"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        ActivationMonitor(**{"x": X[:4], **kwargs})


def test_bad_models_and_layers():
    model = _course_network("tanh", "glorot_uniform", depth=1)
    with pytest.raises(ValueError, match=r"names layers the model does not have: \['nope'\]"):
        activation_statistics(model, X[:4], layers=["nope"])
    linear = keras.Sequential([keras.Input((100,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="no hidden layer with a non-linear activation; choose layers with `layers=`"):
        activation_statistics(linear, X[:4])

    inputs = keras.Input((4, 2))
    sequence, _, _ = keras.layers.LSTM(3, return_state=True, name="lstm")(inputs)
    recurrent = keras.Model(inputs, keras.layers.Dense(1)(sequence))
    with pytest.raises(ValueError, match="must name layers with a single output; layer 'lstm' has 3"):
        activation_statistics(recurrent, np.ones((2, 4, 2)), layers=["lstm"])

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2, activation="relu")

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="need a Functional or Sequential model with defined inputs"):
        activation_statistics(Subclassed(), X[:4])


def test_config_round_trip(tmp_path):
    monitor = ActivationMonitor(
        X[:3, :4].astype("float32"), layers=["a", "b"], freq=2, training=True, bins=5,
        histogram_range=(-1, 1), saturation_tolerance=0.05, log_dir=str(tmp_path), verbose=2,
    )
    clone = assert_config_round_trip(monitor)
    np.testing.assert_array_equal(clone.x, monitor.x)
    assert_config_round_trip(ActivationMonitor([X[:2], X[:2]]))
