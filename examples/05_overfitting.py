"""Over-fitting, and L2 regularisation and dropout against it: the train/dev gap.

    python examples/05_overfitting.py [--epochs 150] [--lambd 10] [--keep-prob 0.5] [--out DIR] [--smoke]

Over-fitting needs a network with many parameters and few examples (the
book); it shows most clearly when there is noise to memorise. Here 300 digits
of the training split train a wide network (3 hidden layers of 256 ReLU units,
He initialisation), and 20% of the training and dev labels are replaced by a
wrong class, as if annotators erred: no classifier can get below 20% error on
them, the course's "optimal (Bayes) error", like its blurry images. The test
split keeps its true labels and tells how well each network really learned.

The network is trained three times from the same weights on the same
mini-batches (Adam, 150 epochs):

    none      no regularisation
    L2        kt.regularizers.L2.from_course(lambd=10, m=300) on every kernel:
              the course's cost tail lambd/(2m) * sum ||W||**2
    dropout   kt.layers.Dropout(keep_prob=0.5) after every hidden layer
              (inverted dropout; 0.5, the course's usual value)

`kerastools.callbacks.BiasVarianceMonitor(baseline_error=0.2, train_data=...)`
diagnoses every epoch (training error of the weights at the end of the epoch,
in inference mode); the last verdict of each run is printed with the test
accuracy. Writes `overfitting.png`: training and dev accuracy of each run and
the train/dev gap (the monitor's `variance`) of the three. Expected: without
regularisation the network learns the wrong labels by heart (training error 0,
below the Bayes error) while its dev accuracy falls (high variance); L2 keeps
the training error at about the Bayes error and the gap near the tolerance;
dropout delays the memorising (the gap opens only after some 60 epochs). Both
end with a higher test accuracy (about 0.91 and 0.88 against 0.82).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402
from kerastools.callbacks import BiasVarianceMonitor  # noqa: E402

FIGURES = ("overfitting.png",)
SEED = 0
TRAIN_EXAMPLES = 300
LABEL_NOISE = 0.2
VARIANCE_TOLERANCE = 0.05  # the monitor's default, drawn in the plot


def mislabel(y, rng):
    """Replace a `LABEL_NOISE` share of the labels by another class (never the
    true one, so exactly that share is wrong)."""
    y = y.copy()
    wrong = rng.random(len(y)) < LABEL_NOISE
    y[wrong] = (y[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    return y


def build_model(regularization, lambd, keep_prob, num_train, hidden=3, units=256):
    regularizer = kt.regularizers.L2.from_course(lambd, num_train) if regularization == "L2" else None
    layers = [keras.Input((64,))]
    for i in range(hidden):
        layers.append(
            keras.layers.Dense(
                units,
                activation="relu",
                kernel_initializer=kt.initializers.HeNormal(seed=SEED + i),
                kernel_regularizer=regularizer,
            )
        )
        if regularization == "dropout":
            layers.append(kt.layers.Dropout(keep_prob=keep_prob, seed=SEED + 100 + i))
    layers.append(
        keras.layers.Dense(
            10, activation="softmax", kernel_initializer=kt.initializers.XavierNormal(seed=SEED + hidden), kernel_regularizer=regularizer
        )
    )
    model = keras.Sequential(layers)
    model.compile(
        optimizer=kt.Adam(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def plot(runs, out, filename):
    fig, axes = _common.figure(2, 2, width=4.0, height=3.0)
    for ax, (name, run) in zip(axes.flat, runs.items()):
        epochs = np.arange(1, len(run["train"]) + 1)
        ax.plot(epochs, run["train"], label="train")
        ax.plot(epochs, run["dev"], label="dev")
        ax.axhline(1 - LABEL_NOISE, color="gray", linestyle=":", label="1 − Bayes error")
        ax.set(ylim=(0, 1.02), xlabel="epoch", ylabel="accuracy (noisy labels)", title=f"{name}: {run['verdict']}")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
    gap = axes[1][1]
    for name, run in runs.items():
        gap.plot(np.arange(1, len(run["variance"]) + 1), run["variance"], label=name)
    gap.axhline(VARIANCE_TOLERANCE, color="gray", linestyle=":", label="variance tolerance")
    gap.set(xlabel="epoch", ylabel="dev error - train error", title="train/dev gap (variance)")
    gap.grid(True, alpha=0.3)
    gap.legend()
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    def configure(parser):
        parser.add_argument("--epochs", type=int, default=150, help="epochs per run (default 150)")
        parser.add_argument("--lambd", type=float, default=10.0, help="the course's L2 lambda (default 10)")
        parser.add_argument("--keep-prob", type=float, default=0.5, help="dropout keep probability (default 0.5)")

    args = _common.parse_args(__doc__, "05_overfitting", argv, configure)
    (x_train, y_train), (x_dev, y_dev), (x_test, y_test) = _common.digits()
    num_train, epochs = (64, 3) if args.smoke else (TRAIN_EXAMPLES, args.epochs)
    rng = np.random.default_rng(SEED)
    x_train, y_train = x_train[:num_train], mislabel(y_train[:num_train], rng)
    y_dev = mislabel(y_dev, rng)
    runs = {}
    for name in ("none", "L2", "dropout"):
        keras.utils.set_random_seed(SEED)
        model = build_model(name, args.lambd, args.keep_prob, num_train)
        monitor = BiasVarianceMonitor(
            baseline_error=LABEL_NOISE, variance_tolerance=VARIANCE_TOLERANCE, train_data=(x_train, y_train)
        )
        batches = kt.data.mini_batches(x_train, y_train, batch_size=50, seed=SEED, as_dataset=True)
        model.fit(batches, epochs=epochs, validation_data=(x_dev, y_dev), shuffle=False, verbose=0, callbacks=[monitor])
        records = monitor.records
        _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
        runs[name] = {
            "train": [1.0 - r.train_error for r in records],
            "dev": [1.0 - r.dev_error for r in records],
            "variance": [r.variance for r in records],
            "verdict": monitor.verdict,
            "test": test_accuracy,
        }
        print(f"{name:8} test accuracy (true labels) {test_accuracy:.3f}; {records[-1]}")
        if not _common.finite(runs[name]["variance"]):
            raise SystemExit(f"{name}: non-finite errors")
    plot(runs, args.out, FIGURES[0])
    return runs


if __name__ == "__main__":
    main()
