"""The optimizers compared on digits: loss curves of SGD, Momentum, AdaGrad,
RMSprop, Adam and AdamW training the same network from the same weights.

    python examples/02_optimizers_digits.py [--epochs 40] [--out DIR] [--smoke]

The book's experiment (a 5-layer, 100-unit ReLU network on MNIST) on
scikit-learn's 8x8 digits, split 60/20/20: 4 hidden layers of 100 ReLU units
with He initialisation (`kt.initializers.HeNormal`, the same seed values for every
optimizer), mini-batches of 64 (`kt.data.mini_batches`, the same order for
every optimizer), the book's learning rates:

    SGD       kt.SGD(0.01)
    Momentum  kt.Momentum(0.1, beta=0.9)   = the book's Momentum(lr=0.01, momentum=0.9)
    AdaGrad   kt.Adagrad(0.01, initial_accumulator_value=0)   the book's AdaGrad
    RMSprop   kt.RMSprop(0.001, rho=0.9, epsilon=1e-8)        the course's RMSprop
    Adam      kt.Adam(0.001)
    AdamW     kt.AdamW(0.001, weight_decay=0.004)

Prints each optimizer's final training loss and dev/test accuracy, and writes
`optimizers_digits.png`: training loss (log scale) and dev accuracy per epoch.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402

FIGURES = ("optimizers_digits.png",)
SEED = 0


def optimizers():
    return {
        "SGD": kt.SGD(learning_rate=0.01),
        "Momentum": kt.Momentum(learning_rate=0.1, beta=0.9),
        "AdaGrad": kt.Adagrad(learning_rate=0.01, initial_accumulator_value=0.0),
        "RMSprop": kt.RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-8),
        "Adam": kt.Adam(learning_rate=0.001),
        "AdamW": kt.AdamW(learning_rate=0.001, weight_decay=0.004),
    }


def build_model(optimizer, hidden=4, units=100):
    layers = [keras.Input((64,))]
    for i in range(hidden):
        # Fixed seed values: every optimizer starts from the same weights.
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=i)))
    layers.append(keras.layers.Dense(10, activation="softmax", kernel_initializer=kt.initializers.XavierNormal(seed=hidden)))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def plot(histories, out, filename):
    fig, axes = _common.figure(1, 2, width=4.8, height=3.6)
    loss_ax, accuracy_ax = axes[0]
    for name, history in histories.items():
        epochs = np.arange(1, len(history["loss"]) + 1)
        style = "--" if name == "AdamW" else "-"  # AdamW's small decay keeps it on Adam's curve
        loss_ax.plot(epochs, history["loss"], style, label=name)
        accuracy_ax.plot(epochs, history["val_accuracy"], style, label=name)
    loss_ax.set(yscale="log", xlabel="epoch", ylabel="training loss", title="training loss (log scale)")
    accuracy_ax.set(xlabel="epoch", ylabel="dev accuracy", title="dev accuracy")
    for ax in axes[0]:
        ax.grid(True, alpha=0.3)
    loss_ax.legend()
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    def configure(parser):
        parser.add_argument("--epochs", type=int, default=40, help="epochs per optimizer (default 40)")

    args = _common.parse_args(__doc__, "02_optimizers_digits", argv, configure)
    (x_train, y_train), (x_dev, y_dev), (x_test, y_test) = _common.digits()
    epochs, units = (1, 16) if args.smoke else (args.epochs, 100)
    if args.smoke:
        x_train, y_train = x_train[:256], y_train[:256]
    histories, results = {}, {}
    print(f"{'optimizer':10} {'train loss':>10} {'dev acc':>8} {'test acc':>8}")
    for name, optimizer in optimizers().items():
        keras.utils.set_random_seed(SEED)
        model = build_model(optimizer, units=units)
        # The same shuffled order for every optimizer (epoch e uses seed SEED + e).
        batches = kt.data.mini_batches(x_train, y_train, batch_size=64, seed=SEED, as_dataset=True)
        history = model.fit(batches, epochs=epochs, validation_data=(x_dev, y_dev), shuffle=False, verbose=0)
        histories[name] = history.history
        _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
        results[name] = {"loss": history.history["loss"][-1], "dev": history.history["val_accuracy"][-1], "test": test_accuracy}
        print(f"{name:10} {results[name]['loss']:10.4f} {results[name]['dev']:8.4f} {test_accuracy:8.4f}")
        if not _common.finite(history.history["loss"]):
            raise SystemExit(f"{name}: the training loss is not finite")
    best = min(results, key=lambda name: results[name]["loss"])
    print(f"lowest training loss after {epochs} epochs: {best}")
    plot(histories, args.out, FIGURES[0])
    return results


if __name__ == "__main__":
    main()
