"""kerastools demo: train a small network on the bundled digits, save it to HDF5,
reload it and evaluate it.

    python examples/demo.py [--epochs 30] [--out out/demo]

Uses only data that ships with scikit-learn (1,797 8x8 digit images), so it
runs offline.
"""

import argparse
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import kerastools as kt  # noqa: E402


def load_data(seed=0):
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_train = int(0.8 * len(x))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def build_mlp(num_train):
    reg = kt.regularizers.L2.from_course(lambd=0.5, num_examples=num_train)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=1), kernel_regularizer=reg),
            keras.layers.Dense(64, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=2), kernel_regularizer=reg),
            keras.layers.Dense(10, activation="softmax", kernel_initializer=kt.initializers.XavierNormal(seed=3)),
        ],
        name="digits_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="out/demo", help="folder for the saved model")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    (x_train, y_train), (x_test, y_test) = load_data()
    model = build_mlp(len(x_train))
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"MLP trained {args.epochs} epochs: test accuracy {accuracy:.4f}")

    path = out / "digits_mlp.h5"
    model.save(path)
    reloaded = keras.models.load_model(path)
    _, reloaded_accuracy = reloaded.evaluate(x_test, y_test, verbose=0)
    print(f"reloaded from {path}: test accuracy {reloaded_accuracy:.4f}")
    if reloaded_accuracy != accuracy:
        raise SystemExit("the reloaded model does not reproduce the saved one")
    return accuracy


if __name__ == "__main__":
    main()
