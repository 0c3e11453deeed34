"""Tiny digits tasks and hypermodels built from kerastools components, shared by the tuning tests."""

import keras
import numpy as np
from sklearn.datasets import load_digits

import kerastools as kt
from kerastools import tuning


def digits_subset(n_train=200, n_dev=100, seed=0):
    """``(x, y), (x_dev, y_dev)``: scikit-learn's digits in [0, 1], a small random split."""
    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    order = np.random.RandomState(seed).permutation(len(x))
    train, dev = order[:n_train], order[n_train : n_train + n_dev]
    return (x[train], data.target[train]), (x[dev], data.target[dev])


def build_digits_model(hp):
    """A one-hidden-layer network from kerastools layers, optimizers and schedules."""
    units = hp.Choice("units", [8, 16])
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(units, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=0)),
            kt.layers.Dropout(rate=0.1, seed=0),
            keras.layers.Dense(10),
            kt.layers.Softmax(),
        ]
    )
    rate = tuning.schedule(hp, decay_steps=4, choices=("constant", "inverse_time"))
    optimizer = tuning.optimizer(hp, ("adam", "momentum"), learning_rate=rate)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model
