"""Subprocess side of the kill test: ``python -m tests.saving._kill_worker PATH``.

Saves a model of about 16 MB to PATH, prints ``ready``, then saves it again and
again with every weight set to the save's number (1, 2, ...) until it is killed.
Any complete file therefore holds one single number in all its weights.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerastools import saving  # noqa: E402

WIDTH = 2000


def model_of_size():
    model = keras.Sequential([keras.Input((WIDTH,)), keras.layers.Dense(WIDTH)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def fill(model, number):
    for variable in model.weights:
        variable.assign(np.full(variable.shape, number, dtype="float32"))


if __name__ == "__main__":
    path = sys.argv[1]
    model = model_of_size()
    fill(model, 0)
    saving.save_model(model, path)
    print("ready", flush=True)
    number = 0
    while True:
        number += 1
        fill(model, number)
        saving.save_model(model, path)
