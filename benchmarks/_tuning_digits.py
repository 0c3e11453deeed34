"""The digits task of ``benchmarks/tuning.py``: a 64-32-10 MLP, its learning rate and momentum searched.

Every trial builds its model from the same weight seed, so the score depends
only on the hyperparameters (and on float rounding). Hyperband gets
``max_epochs=3`` (the epochs of one trial of the other tuners) and three
iterations: 33 epochs in 18 trials, the closest it comes to the others'
12 x 3 = 36 without going over.
"""

import time

import keras
import keras_tuner
import tensorflow as tf
from sklearn.datasets import load_digits

import kerastools as kt
from kerastools import tuning

tf.get_logger().setLevel("ERROR")  # one model per trial: retracing warnings are expected


def load():
    data = load_digits()
    x = (data.images / 16.0).astype("float32").reshape(len(data.images), -1)
    return kt.data.train_dev_test_split(x, data.target.astype("int64"), seed=0, stratify=data.target)


def build(hp):
    keras.utils.set_random_seed(0)  # the same initial weights in every trial
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=0)),
            keras.layers.Dense(10),
            kt.layers.Softmax(),
        ]
    )
    optimizer = tuning.optimizer(hp, ("momentum",), ranges={"beta": (0.5, 0.999)})
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


class EpochCounter(keras.callbacks.Callback):
    """Counts the epochs a search trains (Hyperband's budget is in epochs)."""

    epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        EpochCounter.epochs += 1


def search(kind, seed, trials, epochs, data, directory):
    (x, y), (x_dev, y_dev), (x_test, y_test) = data
    common = dict(objective="val_accuracy", seed=seed, directory=directory, project_name=f"{kind}-{seed}", overwrite=True)
    if kind == "CoarseToFine":
        tuner = tuning.CoarseToFine(build, max_trials=trials, **common)
    elif kind == "RandomSearch":
        tuner = keras_tuner.RandomSearch(build, max_trials=trials, **common)
    elif kind == "BayesianOptimization":
        tuner = keras_tuner.BayesianOptimization(build, max_trials=trials, **common)
    elif kind == "Hyperband":
        tuner = keras_tuner.Hyperband(build, max_epochs=epochs, factor=3, hyperband_iterations=3, **common)
    else:
        raise ValueError(kind)
    EpochCounter.epochs = 0
    start = time.perf_counter()
    tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=epochs, batch_size=32, verbose=0, callbacks=[EpochCounter()])
    seconds = time.perf_counter() - start
    used = EpochCounter.epochs
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.hypermodel.build(best.hyperparameters)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    test_accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    keras.backend.clear_session()
    return dict(score=float(best.score), test_accuracy=test_accuracy, seconds=seconds, epochs=used, trials=len(tuner.oracle.trials))
