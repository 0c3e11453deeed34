"""Cost of the diagnostics next to Keras's own work on the same model and batch.

    python benchmarks/diagnostics.py [--quick]

The model is the course's deep MLP (64 -> 5 x 100 sigmoid, He init -> 10 softmax)
on scikit-learn's digits (1,437 training examples, batch 32); the diagnostic
sample batch is 256 examples. Two tables:

* one diagnosis vs one Keras call of the same kind on the same 256 examples:
  a monitor's record (compiled forward pass, float64 statistics and histograms)
  vs ``extractor.predict_on_batch`` (Keras's feature-extraction idiom: the same
  forward pass, no statistics); a gradient-norm record (compiled) vs
  ``model.train_on_batch`` (one forward/backward/update step); the one-off
  functions, which run eagerly, vs the same Keras work run eagerly;
* a training epoch with each monitor (recording every epoch) vs a plain
  ``model.fit`` epoch, and vs Keras's ``TensorBoard(histogram_freq=1)`` when the
  ``tensorboard`` package is installed; "in the callback" is the time measured
  inside the monitor's ``on_epoch_end``, the robust figure on a busy machine.

Every time is the median of several repeats after a warm-up; a ratio is
kerastools / Keras (1.00 = the same cost, lower is faster). The CPU may be
shared: compare ratios, not absolute times, and re-run on a quiet machine.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import kerastools as kt  # noqa: E402
from kerastools.diagnostics.activation_monitor import ActivationMonitor  # noqa: E402
from kerastools.diagnostics import (  # noqa: E402
    BiasVarianceMonitor,
    GradientNormMonitor,
    activation_statistics,
    gradient_norms,
)


def data():
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    return (x[:1437], digits.target[:1437]), (x[1437:], digits.target[1437:])


def build():
    keras.utils.set_random_seed(0)
    hidden = [keras.layers.Dense(100, activation="sigmoid", kernel_initializer=kt.initializers.HeNormal()) for _ in range(5)]
    model = keras.Sequential([keras.Input((64,)), *hidden, keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def median_time(fn, repeats):
    fn()  # warm-up: tracing, first allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(title, rows):
    print(f"\n{title}")
    header = ("kerastools", "ms", "Keras", "ms", "ratio")
    lines = [header] + [(a, f"{ta * 1e3:.2f}", b, f"{tb * 1e3:.2f}", f"{ta / tb:.2f}") for a, ta, b, tb in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def one_call(model, xs, ys, repeats):
    hidden = [layer.name for layer in model.layers[:-1]]

    def extractor():
        return keras.Model(model.inputs[0], {name: model.get_layer(name).output for name in hidden})

    compiled_extractor = extractor()
    monitor = ActivationMonitor(xs)
    monitor.set_model(model)
    monitor.on_train_begin()
    grad_monitor = GradientNormMonitor(xs, ys)
    grad_monitor.set_model(model)
    grad_monitor.on_train_begin()
    eager = build()
    eager.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(), run_eagerly=True)
    weights = model.get_weights()

    def train_step(target):
        target.train_on_batch(xs, ys)
        target.set_weights(weights)  # every repeat on the same weights

    keras_predict = median_time(lambda: compiled_extractor.predict_on_batch(xs), repeats)
    keras_step = median_time(lambda: train_step(model), repeats)
    rows = [
        ("ActivationMonitor, one record", median_time(lambda: monitor.on_epoch_end(0), repeats),
         "extractor.predict_on_batch", keras_predict),
        ("GradientNormMonitor, one record", median_time(lambda: grad_monitor.on_epoch_end(0), repeats),
         "train_on_batch", keras_step),
        ("activation_statistics (eager)", median_time(lambda: activation_statistics(model, xs), repeats),
         "new extractor, eager call", median_time(lambda: extractor()(xs), repeats)),
        ("gradient_norms (eager)", median_time(lambda: gradient_norms(model, xs, ys), repeats),
         "train_on_batch, run_eagerly", median_time(lambda: train_step(eager), repeats)),
    ]
    table(f"One diagnosis on {len(xs)} examples vs one Keras call of the same kind", rows)


class _HookTimer:
    """Adds up the time spent in a callback's ``on_epoch_end``."""

    def __init__(self, callback):
        self.total, self._hook = 0.0, callback.on_epoch_end
        callback.on_epoch_end = self

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        self._hook(*args, **kwargs)
        self.total += time.perf_counter() - start


def epochs(train, dev, xs, ys, n_epochs, repeats):
    x, y = train
    folder = tempfile.mkdtemp()
    configs = {
        "fit": lambda: [],
        "BiasVarianceMonitor()": lambda: [BiasVarianceMonitor()],
        "BiasVarianceMonitor(train_data=256)": lambda: [BiasVarianceMonitor(train_data=(xs, ys))],
        "ActivationMonitor(256)": lambda: [ActivationMonitor(xs)],
        "ActivationMonitor(256, log_dir)": lambda: [ActivationMonitor(xs, log_dir=folder + "/a")],
        "GradientNormMonitor(256)": lambda: [GradientNormMonitor(xs, ys)],
        "GradientNormMonitor(256, log_dir)": lambda: [GradientNormMonitor(xs, ys, log_dir=folder + "/g")],
    }
    try:
        import tensorboard  # noqa: F401

        configs["TensorBoard(histogram_freq=1)"] = lambda: [keras.callbacks.TensorBoard(folder + "/k", histogram_freq=1)]
    except ImportError:
        print("\n(Keras's TensorBoard callback needs the `tensorboard` package, not installed: its row is skipped)")
    epoch_times = {name: [] for name in configs}
    hook_times = {name: [] for name in configs}
    for _ in range(repeats):  # interleaved, so that a busy moment hits every configuration
        for name, make_callbacks in configs.items():
            model = build()
            callbacks = make_callbacks()
            model.fit(x[:32], y[:32], validation_data=dev, epochs=1, verbose=0, callbacks=callbacks)  # tracing
            timers = [_HookTimer(c) for c in callbacks]
            start = time.perf_counter()
            model.fit(x, y, validation_data=dev, epochs=n_epochs, batch_size=32, verbose=0, callbacks=callbacks)
            epoch_times[name].append((time.perf_counter() - start) / n_epochs)
            hook_times[name].append(sum(t.total for t in timers) / n_epochs)
    plain = statistics.median(epoch_times["fit"])
    keras_rows = [name for name in configs if name.startswith("TensorBoard")]
    reference = statistics.median(epoch_times[keras_rows[0]]) if keras_rows else None
    print(f"\nSeconds per epoch of fit on {len(x)} examples (batch 32, with validation), median of {repeats}")
    header = ("callbacks", "ms/epoch", "in the callback", "vs fit", "vs TensorBoard")
    lines = [header]
    for name in configs:
        epoch = statistics.median(epoch_times[name])
        lines.append(
            (
                name,
                f"{epoch * 1e3:.1f}",
                f"{statistics.median(hook_times[name]) * 1e3:.2f} ms",
                f"{epoch / plain:.2f}",
                "-" if reference is None else f"{epoch / reference:.2f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs (a smoke run)")
    args = parser.parse_args(argv)
    repeats, n_epochs = (3, 2) if args.quick else (15, 5)
    train, dev = data()
    xs, ys = train[0][:256], train[1][:256]
    one_call(build(), xs, ys, repeats)
    epochs(train, dev, xs, ys, n_epochs, 1 if args.quick else 5)


if __name__ == "__main__":
    main()
