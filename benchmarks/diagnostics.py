"""Cost of the diagnostics next to Keras's own work on the same model and batch.

    python benchmarks/diagnostics.py [--quick] [--out DIR]

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
shared: compare ratios, not absolute times, and re-run on a quiet machine. The
tables are also written to ``benchmarks/results/diagnostics.json`` (``--out DIR``
elsewhere).
"""

import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402

import kerastools as kt  # noqa: E402
from kerastools.diagnostics.activation_monitor import ActivationMonitor  # noqa: E402
from kerastools.diagnostics import (  # noqa: E402
    BiasVarianceMonitor,
    GradientNormMonitor,
    activation_statistics,
    gradient_norms,
)


def data():
    x, y = _common.digits()
    return (x[:1437], y[:1437]), (x[1437:], y[1437:])


def build():
    model = _common.mlp((100,) * 5, "sigmoid", seed=0, kernel_initializer=kt.initializers.HeNormal())
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def median_pair(ours, theirs, repeats):
    """Median seconds of one call of `ours` and of `theirs`, alternating (ABBA)
    after a warm-up call of each (tracing, first allocation)."""
    return _common.medians(_common.interleave([ours, theirs], repeats))


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

    pairs = [
        ("ActivationMonitor, one record", lambda: monitor.on_epoch_end(0),
         "extractor.predict_on_batch", lambda: compiled_extractor.predict_on_batch(xs)),
        ("GradientNormMonitor, one record", lambda: grad_monitor.on_epoch_end(0),
         "train_on_batch", lambda: train_step(model)),
        ("activation_statistics (eager)", lambda: activation_statistics(model, xs),
         "new extractor, eager call", lambda: extractor()(xs)),
        ("gradient_norms (eager)", lambda: gradient_norms(model, xs, ys),
         "train_on_batch, run_eagerly", lambda: train_step(eager)),
    ]
    rows = []
    for ours_name, ours, keras_name, theirs in pairs:
        t_ours, t_keras = median_pair(ours, theirs, repeats)
        rows.append([ours_name, t_ours * 1e3, keras_name, t_keras * 1e3, t_ours / t_keras])
    return _common.table(
        f"One diagnosis on {len(xs)} examples vs one Keras call of the same kind, median of {repeats}; "
        "ratio = kerastools / Keras",
        ["kerastools", "ms", "Keras", "Keras ms", "ratio"],
        rows,
    )


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
    rows = []
    for name in configs:
        epoch = statistics.median(epoch_times[name])
        rows.append(
            [name, epoch * 1e3, statistics.median(hook_times[name]) * 1e3, epoch / plain,
             None if reference is None else epoch / reference]
        )
    return _common.table(
        f"Milliseconds per epoch of fit on {len(x)} examples (batch 32, with validation), median of {repeats}",
        ["callbacks", "ms/epoch", "ms in the callback", "vs fit", "vs TensorBoard"],
        rows,
    )


def main(argv=None):
    parser = _common.parser("diagnostics", __doc__, "fewer repeats and epochs (a smoke run)")
    args = _common.parse_args(parser, argv)
    repeats, n_epochs = (3, 2) if args.quick else (15, 5)
    train, dev = data()
    xs, ys = train[0][:256], train[1][:256]
    tables = [one_call(build(), xs, ys, repeats), epochs(train, dev, xs, ys, n_epochs, 1 if args.quick else 5)]
    for t in tables:
        _common.print_table(t)
    _common.write_result(
        args, tables,
        "\"in the callback\" is the time measured inside the monitor's on_epoch_end, the robust figure on a busy machine.",
    )


if __name__ == "__main__":
    main()
