"""HDF5 save and exact resume: train N epochs, save, load in a fresh process,
train M more, and compare with N + M epochs trained without stopping.

    python examples/09_hdf5_resume.py [--epochs 10] [--more 10] [--out DIR] [--smoke]

The model is a small CNN of kerastools components (Conv2D, BatchNormalization,
MaxPooling2D, Dropout, Softmax, He initialisation, the course's L2) trained by
`kt.Adam` with a `kt.schedules.ExponentialDecay` learning rate on the digits:
its state is the weights, the batch-norm moving statistics, Adam's moments and
step count, the schedule and the dropout layer's random-seed state.

1. Uninterrupted: one `fit` of N + M epochs.
2. Interrupted: the same model from the same seed, `fit` of N epochs,
   `kt.saving.save_model(model, "run.h5")`; then a **new Python process** (this
   script with `--resume`) calls `kt.saving.load_model("run.h5")`, trains M
   more epochs (`initial_epoch=N`) and saves `resumed.h5` and its losses.

Both read the training data through `kt.data.mini_batches(..., as_dataset=True,
seed=0, initial_epoch=...)`, whose epoch e is shuffled with seed + e in any
process, and run with `tf.config.experimental.enable_op_determinism()`. The
script prints whether the resumed weights are bit-identical to the
uninterrupted ones (it stops with an error if not) and writes
`hdf5_resume.png`: the training loss and dev accuracy per epoch of both runs,
on top of each other. The `.h5` files stay in the output folder.
"""

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402

FIGURES = ("hdf5_resume.png",)
SEED = 0


def build_model(num_train):
    keras.utils.set_random_seed(SEED)
    reg = kt.regularizers.L2.from_course(lambd=0.5, num_examples=num_train)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            kt.layers.Conv2D(16, 3, padding=1, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=1), kernel_regularizer=reg),
            kt.layers.BatchNormalization(momentum=0.9),
            kt.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            kt.layers.Dropout(keep_prob=0.8, seed=2),
            keras.layers.Dense(10, kernel_initializer=kt.initializers.XavierNormal(seed=3), kernel_regularizer=reg),
            kt.layers.Softmax(),
        ]
    )
    schedule = kt.schedules.ExponentialDecay(3e-3, decay_steps=100, decay_rate=0.7)
    model.compile(
        optimizer=kt.Adam(learning_rate=schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def data(smoke):
    (x_train, y_train), (x_dev, y_dev), _ = _common.digits(images=True)
    if smoke:
        x_train, y_train, x_dev, y_dev = x_train[:128], y_train[:128], x_dev[:64], y_dev[:64]
    return (x_train, y_train), (x_dev, y_dev)


def train(model, train_data, dev_data, initial_epoch, epochs):
    """`epochs` epochs from `initial_epoch`; the data order depends only on the epoch."""
    batches = kt.data.mini_batches(*train_data, batch_size=64, seed=SEED, as_dataset=True, initial_epoch=initial_epoch)
    history = model.fit(
        batches, initial_epoch=initial_epoch, epochs=initial_epoch + epochs, validation_data=dev_data, shuffle=False, verbose=0
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def resume(args):
    """The fresh process: load, train `--more` epochs, save the model and the losses."""
    train_data, dev_data = data(args.smoke)
    model = kt.saving.load_model(args.resume)
    print(f"  [new process {os.getpid()}] loaded {args.resume}: optimizer step {int(model.optimizer.iterations.numpy())}")
    history = train(model, train_data, dev_data, args.initial_epoch, args.more)
    kt.saving.save_model(model, args.out / "resumed.h5")
    (args.out / "resumed_history.json").write_text(json.dumps(history))
    print(f"  [new process {os.getpid()}] trained {args.more} more epochs, saved {args.out / 'resumed.h5'}")


def plot(full, first, resumed, n, identical, out, filename):
    fig, axes = _common.figure(1, 2, width=4.4, height=3.3)
    total = len(full["loss"])
    for ax, key, label in ((axes[0][0], "loss", "training loss"), (axes[0][1], "val_accuracy", "dev accuracy")):
        ax.plot(np.arange(1, total + 1), full[key], "-", linewidth=3, alpha=0.4, label="uninterrupted")
        ax.plot(np.arange(1, n + 1), first[key], "o", markersize=4, label="before saving")
        ax.plot(np.arange(n + 1, total + 1), resumed[key], "s", markersize=4, label="resumed in a new process")
        ax.axvline(n + 0.5, color="gray", linestyle=":", label="save / load")
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_yscale("log")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"HDF5 save and resume: weights {'bit-identical' if identical else 'DIFFERENT'} after {total} epochs")
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    def configure(parser):
        parser.add_argument("--epochs", type=int, default=10, help="epochs before saving (default 10)")
        parser.add_argument("--more", type=int, default=10, help="epochs after loading (default 10)")
        parser.add_argument("--resume", help=argparse.SUPPRESS)
        parser.add_argument("--initial-epoch", type=int, default=0, help=argparse.SUPPRESS)

    args = _common.parse_args(__doc__, "09_hdf5_resume", argv, configure)
    # Deterministic kernels: the same inputs give the same bits in both processes.
    tf.config.experimental.enable_op_determinism()
    if args.resume:
        return resume(args)
    n, m = (1, 1) if args.smoke else (args.epochs, args.more)
    train_data, dev_data = data(args.smoke)

    model = build_model(len(train_data[0]))
    full = train(model, train_data, dev_data, 0, n + m)
    print(f"uninterrupted: {n + m} epochs, final training loss {full['loss'][-1]:.4f}, dev accuracy {full['val_accuracy'][-1]:.4f}")

    interrupted = build_model(len(train_data[0]))
    first = train(interrupted, train_data, dev_data, 0, n)
    path = args.out / "run.h5"
    kt.saving.save_model(interrupted, path)
    print(f"interrupted: {n} epochs, saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    command = [sys.executable, os.path.abspath(__file__), "--resume", str(path), "--initial-epoch", str(n), "--more", str(m), "--out", str(args.out)]
    command += ["--smoke"] if args.smoke else []
    subprocess.run(command, check=True)
    resumed_history = json.loads((args.out / "resumed_history.json").read_text())
    resumed = kt.saving.load_model(args.out / "resumed.h5")

    pairs = list(zip(model.get_weights(), resumed.get_weights()))
    identical = all(np.array_equal(a, b) for a, b in pairs)
    largest = max(float(np.max(np.abs(a - b))) for a, b in pairs)
    same_losses = resumed_history["loss"] == full["loss"][n:]
    print(f"resumed: {m} more epochs, final training loss {resumed_history['loss'][-1]:.4f}, dev accuracy {resumed_history['val_accuracy'][-1]:.4f}")
    print(f"weights bit-identical to the uninterrupted run: {identical} (largest difference {largest:.1e}); "
          f"per-epoch losses identical: {same_losses}")
    plot(full, first, resumed_history, n, identical, args.out, FIGURES[0])
    if not (identical and same_losses):
        raise SystemExit("resuming from HDF5 did not reproduce uninterrupted training")
    return {"identical": identical, "loss": full["loss"], "resumed_loss": first["loss"] + resumed_history["loss"]}


if __name__ == "__main__":
    main()
