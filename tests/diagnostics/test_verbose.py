"""One rule for `verbose` in the three monitors: 0 prints nothing, 1 prints only
an epoch with a problem, 2 prints every recorded epoch."""

import keras
import numpy as np
import pytest

from kerastools.diagnostics import ActivationMonitor, BiasVarianceMonitor, GradientNormMonitor

X = np.random.default_rng(0).standard_normal((32, 8)).astype("float32")
Y = np.random.default_rng(1).standard_normal((32, 1)).astype("float32")


def _model(healthy):
    """Two tanh layers. Healthy: small weights (nothing saturated, moderate
    gradients). Unhealthy: huge weights, so both hidden layers saturate and the
    output layer's gradient explodes."""
    scale = 0.1 if healthy else 1e3
    init = keras.initializers.RandomNormal(stddev=scale, seed=2)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation="tanh", kernel_initializer=init, name="hidden_1"),
            keras.layers.Dense(8, activation="tanh", kernel_initializer=init, name="hidden_2"),
            keras.layers.Dense(1, kernel_initializer=init, name="output"),
        ]
    )
    model.compile("sgd", "mse")
    return model


def _bias_variance_logs(healthy):
    # Healthy: 1% train error, 2% dev error. Unhealthy: 40% and 60%: high bias and high variance.
    return {"accuracy": 0.99, "val_accuracy": 0.98} if healthy else {"accuracy": 0.6, "val_accuracy": 0.4}


def _run_one_epoch(kind, healthy, verbose):
    """Drive the monitor through one recorded epoch as `fit` would, and return
    it (with its record) after the epoch."""
    if kind == "bias_variance":
        monitor = BiasVarianceMonitor(verbose=verbose)
        monitor.on_train_begin()
        monitor.on_epoch_end(0, _bias_variance_logs(healthy))
        problem = monitor.records[-1].verdict != "good"
    else:
        model = _model(healthy)
        if kind == "activations":
            monitor = ActivationMonitor(X, verbose=verbose)
        else:
            monitor = GradientNormMonitor(X, Y, verbose=verbose)
        monitor.set_model(model)
        monitor.on_train_begin()
        monitor.on_epoch_end(0, {})
        monitor.on_train_end()
        record = monitor.records[-1]
        problem = bool(record.saturated_layers) if kind == "activations" else record.verdict != "ok"
    assert problem == (not healthy), "the fixture must be healthy / unhealthy as labelled"
    return monitor


@pytest.mark.parametrize("verbose", [0, 1, 2])
@pytest.mark.parametrize("healthy", [True, False], ids=["healthy", "problem"])
@pytest.mark.parametrize("kind", ["activations", "gradients", "bias_variance"])
def test_verbose_rule_is_the_same_for_every_monitor(kind, healthy, verbose, capsys):
    """(Before: ActivationMonitor and GradientNormMonitor printed nothing at
    verbose=1 on a healthy model, BiasVarianceMonitor printed every epoch.)"""
    monitor = _run_one_epoch(kind, healthy, verbose)
    out = capsys.readouterr().out
    expected = verbose == 2 or (verbose == 1 and not healthy)
    assert bool(out.strip()) == expected, out
    assert len(monitor.records) == 1  # recorded whatever verbose is
    if expected:
        assert "epoch 1" in out  # the printed report says which epoch
