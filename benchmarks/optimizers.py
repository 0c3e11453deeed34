"""kerastools optimizers against the Keras built-ins, measured in the same run.

    python benchmarks/optimizers.py            # about 4 minutes on 2 cores
    python benchmarks/optimizers.py --quick    # about 1 minute: fewer, shorter repeats

Prints three tables:

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

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


def time_steps(fn, steps):
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def compare(functions, repeats, steps):
    """Median seconds per step of each function, alternating their order."""
    for fn in functions:
        fn()  # trace / compile
        fn()
    samples = [[] for _ in functions]
    for r in range(repeats):
        order = range(len(functions)) if r % 2 == 0 else reversed(range(len(functions)))
        for i in order:
            samples[i].append(time_steps(functions[i], steps))
    return [float(np.median(s)) for s in samples]


def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    return x[:1437], data.target[:1437].astype("int64")


def fit_epoch_times(make_optimizers, repeats):
    x, y = digits()
    models = []
    for make in make_optimizers:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer=make(), loss=keras.losses.SparseCategoricalCrossentropy())
        model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # trace
        models.append(model)
    samples = [[] for _ in models]
    for r in range(repeats):
        order = range(len(models)) if r % 2 == 0 else reversed(range(len(models)))
        for i in order:
            start = time.perf_counter()
            models[i].fit(x, y, batch_size=64, epochs=1, verbose=0)
            samples[i].append(time.perf_counter() - start)
    return [float(np.median(s)) for s in samples]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter repeats")
    parser.add_argument("--only", nargs="*", choices=list(CLASSES), help="benchmark these classes only")
    args = parser.parse_args(argv)
    repeats, steps, fit_repeats = (3, 5, 3) if args.quick else (7, 15, 7)
    names = args.only or list(CLASSES)

    variables, grads = make_problem()
    n = sum(int(np.prod(v.shape)) for v in variables)
    print(
        f"kerastools {kt.__version__} vs Keras {keras.__version__} built-ins, TensorFlow {tf.__version__}, "
        f"{len(variables)} float32 variables, {n / 1e6:.2f} M parameters"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"median of {repeats} repeats x {steps} steps; Keras and kerastools alternate\n")

    results = {}
    for jit in (False, True):
        stream = compare([streaming_function(variables, grads, jit)], repeats, steps)[0]
        results[("stream", jit)] = stream
        for name in names:
            ours, theirs, _ = CLASSES[name]
            fns = [step_function(theirs(), variables, grads, jit), step_function(ours(), variables, grads, jit)]
            results[(name, jit)] = compare(fns, repeats, steps)

    print("1. step time, ms (ratio = kerastools / Keras)")
    print(f"{'class':<10}{'Keras':>9}{'ours':>9}{'ratio':>8}  {'XLA Keras':>10}{'XLA ours':>9}{'ratio':>8}")
    for name in names:
        (k, o), (kx, ox) = results[(name, False)], results[(name, True)]
        print(
            f"{name:<10}{k * 1e3:>9.2f}{o * 1e3:>9.2f}{o / k:>8.2f}  {kx * 1e3:>10.2f}{ox * 1e3:>9.2f}{ox / kx:>8.2f}"
        )
    print(f"{'targets':<10}{'':>18}{'<=0.60':>8}  {'':>19}{'<=1.05':>8}\n")

    stream, stream_xla = results[("stream", False)], results[("stream", True)]
    gb = lambda arrays, seconds: arrays * 4 * n / seconds / 1e9  # noqa: E731
    print("2. effective bandwidth, GB/s (useful bytes per step / step time)")
    print(f"streaming baseline (w -= 0.001 * g, 3 arrays): {gb(3, stream):.1f} GB/s, XLA {gb(3, stream_xla):.1f} GB/s")
    print(f"{'class':<10}{'arrays':>7}{'Keras':>8}{'ours':>8}{'of stream':>11}  {'XLA Keras':>10}{'XLA ours':>9}")
    for name in names:
        arrays = CLASSES[name][2]
        (k, o), (kx, ox) = results[(name, False)], results[(name, True)]
        print(
            f"{name:<10}{arrays:>7}{gb(arrays, k):>8.1f}{gb(arrays, o):>8.1f}{gb(arrays, o) / gb(3, stream):>10.0%}"
            f"  {gb(arrays, kx):>10.1f}{gb(arrays, ox):>9.1f}"
        )
    print()

    print(f"3. fit: one epoch of the digits MLP (23 steps of 64), median of {fit_repeats}, ms")
    print(f"{'class':<10}{'Keras':>9}{'ours':>9}{'ratio':>8}")
    for name in names:
        ours, theirs, _ = CLASSES[name]
        k, o = fit_epoch_times([theirs, ours], fit_repeats)
        print(f"{name:<10}{k * 1e3:>9.1f}{o * 1e3:>9.1f}{o / k:>8.2f}")


if __name__ == "__main__":
    main()
