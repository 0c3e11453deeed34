"""kerastools demo: train small networks built from kerastools components on the
bundled digits, save them to HDF5, reload them in a fresh process, evaluate them
and continue training exactly where they stopped.

    python examples/demo.py [--epochs 20] [--out out/demo]

Steps:
1. split scikit-learn's 1,797 8x8 digits 60/20/20 (`kerastools.data`);
2. train an MLP (He/Xavier initializers, the course's L2 lambda/(2m)) and a CNN
   (kerastools Conv2D, BatchNormalization, pooling, Dropout, Softmax);
3. save each with `kerastools.saving.save_model` to `.h5` (optimizer state
   included), load it in a new Python process, evaluate it, train it further
   and save it again;
4. train the in-memory model for the same epochs and check that both agree
   bit for bit.

Runs offline: the data ships with scikit-learn.
"""

import argparse
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import kerastools as kt  # noqa: E402

SEED = 0


def load_data():
    """Digits scaled to [0, 1], split 60/20/20 (the course's small-data rule)."""
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]  # (1797, 8, 8, 1)
    y = digits.target.astype("int64")
    return kt.data.train_dev_test_split(x, y, seed=SEED, stratify=y)


def compile_model(model, learning_rate):
    model.compile(
        optimizer=kt.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def build_mlp(num_train):
    reg = kt.regularizers.L2.from_course(lambd=0.5, num_examples=num_train)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=1), kernel_regularizer=reg),
            keras.layers.Dense(64, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=2), kernel_regularizer=reg),
            keras.layers.Dense(10, activation="softmax", kernel_initializer=kt.initializers.XavierNormal(seed=3)),
        ],
        name="digits_mlp",
    )
    return compile_model(model, 1e-3)


def build_cnn(num_train):
    reg = kt.regularizers.L2.from_course(lambd=0.5, num_examples=num_train)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            kt.layers.Conv2D(16, 3, padding=1, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=4), kernel_regularizer=reg),
            kt.layers.BatchNormalization(momentum=0.9),
            kt.layers.MaxPooling2D(2),
            kt.layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=5), kernel_regularizer=reg),
            kt.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            kt.layers.Dropout(keep_prob=0.8, seed=6),
            keras.layers.Dense(10, kernel_initializer=kt.initializers.XavierNormal(seed=7)),
            kt.layers.Softmax(),
        ],
        name="digits_cnn",
    )
    return compile_model(model, 3e-3)


def epochs_of(x, y, initial_epoch):
    """The course's shuffled mini-batches; epoch e is shuffled with seed + e, so
    a resumed run sees the same order as an uninterrupted one."""
    return kt.data.mini_batches(x, y, batch_size=64, seed=SEED, as_dataset=True, initial_epoch=initial_epoch)


def resume(path, epochs, initial_epoch, out_path):
    """In a fresh process: load, evaluate, train `epochs` more, save."""
    (x_train, y_train), _, (x_test, y_test) = load_data()
    model = kt.saving.load_model(path)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"  [new process] loaded {path}: test accuracy {accuracy:.4f}")
    model.fit(epochs_of(x_train, y_train, initial_epoch), initial_epoch=initial_epoch, epochs=initial_epoch + epochs, shuffle=False, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"  [new process] after {epochs} more epochs: test accuracy {accuracy:.4f}")
    kt.saving.save_model(model, out_path)


def run(name, build, epochs, out):
    (x_train, y_train), (x_dev, y_dev), (x_test, y_test) = load_data()
    keras.utils.set_random_seed(SEED)
    model = build(len(x_train))
    model.fit(epochs_of(x_train, y_train, 0), epochs=epochs, validation_data=(x_dev, y_dev), shuffle=False, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name}: {model.count_params()} parameters, {epochs} epochs, test accuracy {accuracy:.4f}")

    path, resumed_path = out / f"{name}.h5", out / f"{name}_resumed.h5"
    kt.saving.save_model(model, path)
    command = [sys.executable, __file__, "--resume", str(path), "--epochs", str(epochs), "--initial-epoch", str(epochs), "--resumed", str(resumed_path)]
    subprocess.run(command, check=True)

    # The same model trained on in this process must equal the resumed one.
    model.fit(epochs_of(x_train, y_train, epochs), initial_epoch=epochs, epochs=2 * epochs, shuffle=False, verbose=0)
    resumed = kt.saving.load_model(resumed_path)
    exact = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), resumed.get_weights()))
    _, accuracy = resumed.evaluate(x_test, y_test, verbose=0)
    print(f"{name}: resumed from HDF5 in a new process, {2 * epochs} epochs in all, test accuracy {accuracy:.4f}; "
          f"weights {'identical to' if exact else 'DIFFERENT from'} uninterrupted training")
    if not exact:
        raise SystemExit(f"{name}: resuming from {path} did not reproduce uninterrupted training")
    return accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=15, help="epochs before and after the reload")
    parser.add_argument("--out", default="out/demo", help="folder for the saved models")
    parser.add_argument("--resume", help=argparse.SUPPRESS)
    parser.add_argument("--initial-epoch", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--resumed", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Deterministic kernels make the resumed run reproducible bit for bit.
    tf.config.experimental.enable_op_determinism()
    if args.resume:
        return resume(args.resume, args.epochs, args.initial_epoch, args.resumed)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"device: {tf.config.list_logical_devices()[-1].name}")
    return {name: run(name, build, args.epochs, out) for name, build in [("mlp", build_mlp), ("cnn", build_cnn)]}


if __name__ == "__main__":
    main()
