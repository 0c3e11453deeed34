"""Batch normalisation against none, across initial weight scales (the book's experiment).

    python examples/04_batch_norm.py [--scales 16] [--epochs 20] [--out DIR] [--smoke]

The book trains a 5-hidden-layer, 100-unit ReLU network with SGD (learning rate
0.01, mini-batches of 100, 1,000 training examples, 20 epochs) twice for each
initial weight standard deviation in `np.logspace(0, -4, 16)`: with a Batch
Norm layer between every affine layer and its ReLU, and without. Here on the
training split of the digits (1,078 examples), with `kt.layers.BatchNormalization`
(the hand-derived backward pass; the book's momentum 0.9 and epsilon 1e-6),
weights drawn
from `kt.initializers.ScaledNormal(std)` and `kt.SGD(0.01)`.

Writes `batch_norm.png`: one panel per standard deviation, the training
accuracy per epoch with Batch Norm (solid) and without (dashed), as in the
book's figure; prints the final accuracies. Expected: with Batch Norm training
progresses for every scale, without it only for a well-chosen scale.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402

FIGURES = ("batch_norm.png",)
SEED = 0


def build_model(std, batch_norm, hidden=5, units=100):
    layers = [keras.Input((64,))]
    for i in range(hidden):
        layers.append(keras.layers.Dense(units, kernel_initializer=kt.initializers.ScaledNormal(std, seed=SEED + i)))
        if batch_norm:
            # The book's momentum and epsilon (its `10e-7`). Keras's default
            # epsilon=1e-3 would swamp the batch variance of the smallest scales
            # (about 5e-8 for std 1e-4) and leave them unnormalised.
            layers.append(kt.layers.BatchNormalization(momentum=0.9, epsilon=1e-6))
        layers.append(keras.layers.ReLU())
    layers.append(keras.layers.Dense(10, kernel_initializer=kt.initializers.ScaledNormal(std, seed=SEED + hidden)))
    layers.append(kt.layers.Softmax())
    model = keras.Sequential(layers)
    model.compile(
        optimizer=kt.SGD(learning_rate=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def plot(stds, curves, out, filename):
    cols = 4
    rows = -(-len(stds) // cols)
    fig, axes = _common.figure(rows, cols, width=2.4, height=1.9, sharex=True, sharey=True)
    for i, (ax, std) in enumerate(zip(axes.flat, stds)):
        epochs = np.arange(1, len(curves[std, True]) + 1)
        ax.plot(epochs, curves[std, True], "-", label="Batch Norm")
        ax.plot(epochs, curves[std, False], "--", label="none")
        ax.set_title(f"W: N(0, {std:.2g}²)", fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(True, alpha=0.3)
        if i % cols == 0:
            ax.set_ylabel("train accuracy")
    for ax in axes.flat[len(stds):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("training accuracy with Batch Norm (solid) and without (dashed)")
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    def configure(parser):
        parser.add_argument("--scales", type=int, default=16, help="weight standard deviations in logspace(0, -4) (default 16)")
        parser.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20)")

    args = _common.parse_args(__doc__, "04_batch_norm", argv, configure)
    (x_train, y_train), _, _ = _common.digits()
    scales, epochs = (2, 2) if args.smoke else (args.scales, args.epochs)
    if args.smoke:
        x_train, y_train = x_train[:200], y_train[:200]
    stds = np.logspace(0, -4, scales)
    curves = {}
    print(f"{'weight std':>10} {'with BN':>8} {'without':>8}   (training accuracy after {epochs} epochs)")
    for std in stds:
        for batch_norm in (True, False):
            keras.utils.set_random_seed(SEED)
            model = build_model(std, batch_norm)
            batches = kt.data.mini_batches(x_train, y_train, batch_size=100, seed=SEED, as_dataset=True)
            history = model.fit(batches, epochs=epochs, shuffle=False, verbose=0)
            curves[std, batch_norm] = history.history["accuracy"]
        print(f"{std:10.2e} {curves[std, True][-1]:8.3f} {curves[std, False][-1]:8.3f}")
    wins = sum(curves[std, True][-1] > curves[std, False][-1] for std in stds)
    print(f"Batch Norm ends with the higher training accuracy for {wins} of {len(stds)} scales")
    plot(stds, curves, args.out, FIGURES[0])
    return curves


if __name__ == "__main__":
    main()
