"""kerastools optimizers against the Keras built-ins, measured in the same run.

    python benchmarks/optimizers.py            # about 4 minutes on 2 cores
    python benchmarks/optimizers.py --quick    # about 1 minute: fewer, shorter repeats

Prints three tables and writes them to ``benchmarks/results/optimizers.json``
(``--out DIR`` writes elsewhere):

1. Step time of ``optimizer.apply`` on 80 float32 variables holding 10.5 M
   parameters (40 kernels 512x512, 40 biases 512: an MLP's shapes), in a
   ``tf.function`` without and with XLA (``jit_compile=True``), kerastools against
   its Keras twin (Momentum against ``SGD(momentum=0.9)``, the same work).
   Targets: ratio <= 0.60 without XLA, <= 1.05 with XLA.
2. Effective bandwidth: the bytes the rule must read and write per step (4 bytes
   times the parameter count times the arrays touched: w, g and the slots) over
   the step time, next to a streaming baseline over the same variables
   (``w -= 0.001 * g``, one fused kernel: read w and g, write w).
3. One ``fit`` epoch of the digits MLP (64-128-64-10, 1437 images, batch 64),
   kerastools against the same model with the Keras optimizer.

Keras and kerastools runs alternate within each repeat, and medians are
reported, so that load from other processes hits both alike; on a shared
machine the figures are still noisy.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerastools as kt  # noqa: E402

LAYERS, WIDTH = 40, 512

# name: (kerastools optimizer, its Keras twin, arrays touched per parameter per step)
CLASSES = {
    "SGD": (lambda: kt.SGD(1e-3), lambda: keras.optimizers.SGD(1e-3), 3),
    "Momentum": (
        lambda: kt.Momentum(1e-2, beta=0.9),
        lambda: keras.optimizers.SGD(1e-3, momentum=0.9),
        5,
    ),
    "Adagrad": (lambda: kt.Adagrad(), lambda: keras.optimizers.Adagrad(), 5),
    "RMSprop": (lambda: kt.RMSprop(), lambda: keras.optimizers.RMSprop(), 5),
    "Adam": (lambda: kt.Adam(), lambda: keras.optimizers.Adam(), 7),
    "AdamW": (lambda: kt.AdamW(), lambda: keras.optimizers.AdamW(), 7),
}


def make_problem(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(WIDTH, WIDTH), (WIDTH,)] * LAYERS
    variables = [keras.Variable(0.01 * rng.standard_normal(s).astype("float32")) for s in shapes]
    grads = [tf.constant(0.01 * rng.standard_normal(s).astype("float32")) for s in shapes]
    return variables, grads


def step_function(optimizer, variables, grads, jit_compile):
    optimizer.build(variables)

    @tf.function(jit_compile=jit_compile)
    def step():
        optimizer.apply(grads, variables)

    return step


def streaming_function(variables, grads, jit_compile):
    @tf.function(jit_compile=jit_compile)
    def step():
        for v, g in zip(variables, grads):
            tf.raw_ops.ResourceApplyGradientDescent(var=v.handle, alpha=1e-3, delta=g)

    return step


def compare(functions, repeats, steps):
    """Median seconds per step of each function, alternating their order."""
    timers = [_common.per_call(fn, steps) for fn in functions]
    # One untimed round of `steps` calls: the first traces (and compiles under
    # XLA), the others run the compiled step before timing.
    return _common.medians(_common.interleave(timers, repeats, measure=lambda timer: timer()))


def fit_epoch_times(make_optimizers, repeats):
    x, y = _common.digits()
    x, y = x[:1437], y[:1437]
    models = []
    for make in make_optimizers:
        model = _common.mlp((128, 64), "relu", seed=0)
        model.compile(optimizer=make(), loss=keras.losses.SparseCategoricalCrossentropy())
        models.append(model)

    def epoch(model):
        return lambda: model.fit(x, y, batch_size=64, epochs=1, verbose=0)

    # The warm-up epoch traces the train step.
    return _common.medians(_common.interleave([epoch(m) for m in models], repeats))


def main(argv=None):
    parser = _common.parser("optimizers", __doc__, "fewer and shorter repeats (about a minute)")
    parser.add_argument("--only", nargs="*", choices=list(CLASSES), help="benchmark these classes only")
    args = _common.parse_args(parser, argv)
    repeats, steps, fit_repeats = (3, 5, 3) if args.quick else (7, 15, 7)
    names = args.only or list(CLASSES)

    variables, grads = make_problem()
    n = sum(int(np.prod(v.shape)) for v in variables)
    setting = f"{len(variables)} float32 variables, {n / 1e6:.2f} M parameters; median of {repeats} repeats x {steps} steps"
    print(f"{setting}; Keras and kerastools alternate")

    results = {}
    for jit in (False, True):
        results[("stream", jit)] = compare([streaming_function(variables, grads, jit)], repeats, steps)[0]
        for name in names:
            ours, theirs, _ = CLASSES[name]
            fns = [step_function(theirs(), variables, grads, jit), step_function(ours(), variables, grads, jit)]
            results[(name, jit)] = compare(fns, repeats, steps)

    step_rows = []
    for name in names:
        (k, o), (kx, ox) = results[(name, False)], results[(name, True)]
        step_rows.append([name, k * 1e3, o * 1e3, o / k, kx * 1e3, ox * 1e3, ox / kx])
    step_rows.append(["target ratio", None, None, "<= 0.60", None, None, "<= 1.05"])
    step_table = _common.table(
        f"Step time of optimizer.apply, ms ({setting}); ratio = kerastools / Keras",
        ["class", "Keras", "kerastools", "ratio", "XLA Keras", "XLA kerastools", "XLA ratio"],
        step_rows,
    )

    stream, stream_xla = results[("stream", False)], results[("stream", True)]
    gb = lambda arrays, seconds: arrays * 4 * n / seconds / 1e9  # noqa: E731
    bandwidth_rows = [["streaming baseline (w -= 0.001 * g)", 3, None, gb(3, stream), 1.0, None, gb(3, stream_xla)]]
    for name in names:
        arrays = CLASSES[name][2]
        (k, o), (kx, ox) = results[(name, False)], results[(name, True)]
        bandwidth_rows.append([name, arrays, gb(arrays, k), gb(arrays, o), gb(arrays, o) / gb(3, stream), gb(arrays, kx), gb(arrays, ox)])
    bandwidth_table = _common.table(
        "Effective bandwidth, GB/s (bytes the rule must read and write per step / step time)",
        ["class", "arrays", "Keras", "kerastools", "kerastools / streaming", "XLA Keras", "XLA kerastools"],
        bandwidth_rows,
    )

    fit_rows = []
    for name in names:
        ours, theirs, _ = CLASSES[name]
        k, o = fit_epoch_times([theirs, ours], fit_repeats)
        fit_rows.append([name, k * 1e3, o * 1e3, o / k])
    fit_table = _common.table(
        f"One fit epoch of the digits MLP 64-128-64-10 (1437 images, 23 steps of 64), median of {fit_repeats}, ms",
        ["class", "Keras", "kerastools", "ratio"],
        fit_rows,
    )
    tables = [step_table, bandwidth_table, fit_table]
    for t in tables:
        _common.print_table(t)
    _common.write_result(
        args, tables,
        "Momentum is compared with Keras's SGD(momentum=0.9), the same work. "
        "Targets for the step-time ratio: <= 0.60 without XLA, <= 1.05 with XLA.",
    )


if __name__ == "__main__":
    main()
