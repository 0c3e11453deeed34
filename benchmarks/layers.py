"""Layer speed: forward + backward of each kerastools layer against its Keras built-in.

    python benchmarks/layers.py [--quick] [--xla] [--clock wall|cpu] [--repeats 21] [--only TEXT]

For every case both layers get the same input and weights, and one compiled
step (`tf.function`, XLA with ``--xla``) computes the output and the gradients
with respect to the input and every trainable weight. The two steps are timed
alternately, in ABBA order, so that a busy machine slows both alike; the table
gives the median time per step and the median of the paired ratios
kerastools / Keras (< 1 is faster). Targets: <= 1.1
for the native paths, <= 1.0 for BatchNormalization's hand-written backward
pass, <= 1.1 for its masked and batch-renormalised cases (against Keras's
masked and renorm BatchNormalization, same mask and clipping); the course's
im2col convolution is reported separately, for information. The tables are
printed and written to ``benchmarks/results/layers.json``.

The last table times one training epoch (`model.fit`, batch 32) on scikit-learn's
1,797 8x8 digits of a small CNN built from kerastools layers and of the same CNN
built from Keras layers (same initial weights).
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from kerastools import layers as kt  # noqa: E402

K = keras.layers

RENORM = {"renorm": True, "renorm_clipping": {"rmax": 3.0, "rmin": 1 / 3, "dmax": 5.0}}

# (name, kerastools factory, Keras factory, input shape, training, group); a
# "masked" case also passes a mask keeping about 70% of the positions.
CASES = [
    ("Dropout(rate=0.5)", lambda: kt.Dropout(0.5, seed=0), lambda: K.Dropout(0.5, seed=0), (256, 1024), True, "native"),
    ("BatchNormalization 2-D", lambda: kt.BatchNormalization(), lambda: K.BatchNormalization(), (256, 512), True, "bn"),
    ("BatchNormalization 4-D", lambda: kt.BatchNormalization(), lambda: K.BatchNormalization(), (64, 16, 16, 32), True, "bn"),
    ("BatchNormalization masked 3-D", lambda: kt.BatchNormalization(), lambda: K.BatchNormalization(), (64, 64, 128), True, "bn-masked"),
    ("BatchNormalization masked 4-D", lambda: kt.BatchNormalization(), lambda: K.BatchNormalization(), (64, 16, 16, 32), True, "bn-masked"),
    ("BatchNormalization renorm 2-D", lambda: kt.BatchNormalization(**RENORM), lambda: K.BatchNormalization(**RENORM), (256, 512), True, "bn-renorm"),
    ("BatchNormalization renorm 4-D", lambda: kt.BatchNormalization(**RENORM), lambda: K.BatchNormalization(**RENORM), (64, 16, 16, 32), True, "bn-renorm"),
    ("BatchNormalization renorm+mask 3-D", lambda: kt.BatchNormalization(**RENORM), lambda: K.BatchNormalization(**RENORM), (64, 64, 128), True, "bn-masked"),
    ("BatchNormalization inference", lambda: kt.BatchNormalization(), lambda: K.BatchNormalization(), (64, 16, 16, 32), False, "native"),
    ("Conv2D 3x3 same", lambda: kt.Conv2D(32, 3, padding="same"), lambda: K.Conv2D(32, 3, padding="same"), (32, 16, 16, 16), False, "native"),
    ("Conv2D 3x3 stride 2 valid", lambda: kt.Conv2D(32, 3, strides=2), lambda: K.Conv2D(32, 3, strides=2), (32, 17, 17, 16), False, "native"),
    ("Conv2D 5x5 padding=2", lambda: kt.Conv2D(16, 5, padding=2), lambda: K.Conv2D(16, 5, padding="same"), (32, 16, 16, 8), False, "native"),
    ("MaxPooling2D 2x2", lambda: kt.MaxPooling2D(2), lambda: K.MaxPooling2D(2), (64, 16, 16, 32), False, "native"),
    ("MaxPooling2D 3x3/2 same", lambda: kt.MaxPooling2D(3, 2, padding="same"), lambda: K.MaxPooling2D(3, 2, padding="same"), (64, 16, 16, 32), False, "native"),
    ("AveragePooling2D 2x2", lambda: kt.AveragePooling2D(2), lambda: K.AveragePooling2D(2), (64, 16, 16, 32), False, "native"),
    ("Softmax", lambda: kt.Softmax(), lambda: K.Softmax(), (256, 1000), False, "native"),
    ("Conv2D im2col 3x3 same", lambda: kt.Conv2D(32, 3, padding="same", implementation="im2col"), lambda: K.Conv2D(32, 3, padding="same"), (32, 16, 16, 16), False, "im2col"),
    ("Conv2D im2col 3x3 stride 2", lambda: kt.Conv2D(32, 3, strides=2, implementation="im2col"), lambda: K.Conv2D(32, 3, strides=2), (32, 17, 17, 16), False, "im2col"),
]
TARGETS = {"native": 1.1, "bn": 1.0, "bn-masked": 1.1, "bn-renorm": 1.1, "im2col": None}


def _step(layer, x, dy, training, jit, mask=None):
    call_kwargs = {"training": training} if mask is None else {"training": training, "mask": mask}

    @tf.function(jit_compile=jit)
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, **call_kwargs)
        return tape.gradient(y, [x, *layer.trainable_variables], output_gradients=dy)

    return step


# Wall-clock time by default; `--clock cpu` measures the CPU time of this process
# (all its threads), which other users of a shared machine barely disturb.
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCK["wall"]


def _time(step, iterations):
    start = _clock()
    for _ in range(iterations):
        result = step()
    keras.ops.convert_to_numpy(result[0])  # wait for the last step
    return (_clock() - start) / iterations


def _iterations_for(step, budget=0.03):
    """Enough iterations for a sample of about `budget` seconds."""
    per_step = _time(step, 3)
    return max(3, int(budget / max(per_step, 1e-6)))


def benchmark_layer(ours, theirs, shape, training, repeats, jit, masked=False):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(shape).astype("float32"))
    mask = tf.constant(rng.random(shape[:-1]) < 0.7) if masked else None
    dy = tf.constant(rng.standard_normal(ours.compute_output_shape(shape)).astype("float32"))
    ours.build(shape)
    theirs.build(shape)
    for a, b in zip(ours.weights, theirs.weights):
        if "seed" not in a.path:
            b.assign(a)
    steps = [_step(ours, x, dy, training, jit, mask), _step(theirs, x, dy, training, jit, mask)]
    iterations = max(_iterations_for(s) for s in steps)
    samples = np.zeros((repeats, 2))
    for r in range(repeats):
        # ABBA order: a load change during the pair hits both sides alike.
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            samples[r, i] = _time(steps[i], iterations)
    return _summary(samples)


def _summary(samples):
    """Median times, and the median of the paired ratios (robust on a busy machine)."""
    t_ours, t_keras = np.median(samples, axis=0)
    return float(t_ours), float(t_keras), float(np.median(samples[:, 0] / samples[:, 1]))


def build_cnn(layers_module, seed=0):
    """The same small CNN from either module: conv-BN-pool, conv-pool, dropout, softmax."""
    m = layers_module
    keras.utils.set_random_seed(seed)
    init = lambda s: keras.initializers.HeNormal(seed=s)  # noqa: E731 - identical draws in both models
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        m.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer=init(1)),
        m.BatchNormalization(),
        m.MaxPooling2D(2),
        m.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer=init(2)),
        m.AveragePooling2D(2),
        keras.layers.Flatten(),
        m.Dropout(0.3, seed=3),
        keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotUniform(seed=4)),
        m.Softmax(),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def benchmark_cnn(epochs):
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32").reshape(-1, 8, 8, 1)
    y = digits.target
    models = [build_cnn(kt), build_cnn(K)]
    for model in models:  # trace and warm up
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    samples = np.zeros((epochs, 2))
    for r in range(epochs):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            start = _clock()
            models[i].fit(x, y, batch_size=32, epochs=1, verbose=0)
            samples[r, i] = _clock() - start
    accuracy = [model.evaluate(x, y, verbose=0)[1] for model in models]
    return _summary(samples), accuracy








def main(argv=None):
    parser = _common.parser("layers", __doc__, "fewer repeats and epochs (a smoke run)")
    parser.add_argument("--xla", action="store_true", help="compile the layer steps with XLA")
    parser.add_argument("--repeats", type=int, default=None, help="timed samples per layer (default 21, quick 5)")
    parser.add_argument("--clock", choices=sorted(CLOCK), default="wall",
                        help="wall-clock time, or CPU time of this process (steadier on a shared machine)")
    parser.add_argument("--only", default=None,
                        help="run only the layer cases whose name contains this text (and skip the CNN)")
    args = _common.parse_args(parser, argv)
    global _clock
    _clock = CLOCK[args.clock]
    repeats = args.repeats or (5 if args.quick else 21)
    load_before = os.getloadavg()[0]
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, "
          f"XLA {'on' if args.xla else 'off'}, {args.clock} clock, {repeats} samples per layer")
    rows = []
    for name, ours, theirs, shape, training, group in CASES:
        if args.only is not None and args.only not in name:
            continue
        masked = "mask" in name
        rows.append((group, name, *benchmark_layer(ours(), theirs(), shape, training, repeats, args.xla, masked)))
    columns = ["layer (forward + backward)", "kerastools ms", "Keras ms", "ratio", "target"]
    tables = []
    for title, groups in [("Native paths", ("native", "bn", "bn-masked", "bn-renorm")),
                          ("Course's im2col (for information)", ("im2col",))]:
        table_rows = []
        for group, name, t_ours, t_keras, ratio in rows:
            if group in groups:
                target = TARGETS[group]
                mark = "" if target is None else (f"<= {target}" + (" ok" if ratio <= target else " MISS"))
                table_rows.append([name, round(1e3 * t_ours, 3), round(1e3 * t_keras, 3), round(ratio, 2), mark])
        if table_rows:
            tables.append({"title": title, "columns": columns, "rows": table_rows})

    if args.only is None:
        epochs = 2 if args.quick else 5
        (t_ours, t_keras, ratio), accuracy = benchmark_cnn(epochs)
        tables.append({
            "title": f"Small CNN on digits, one epoch of fit (median of {epochs}, after a warm-up epoch); "
                     f"training accuracy after {epochs + 1} epochs: kerastools {accuracy[0]:.3f}, Keras {accuracy[1]:.3f}",
            "columns": ["model", "kerastools s", "Keras s", "ratio"],
            "rows": [["conv-BN-pool-conv-pool-dropout", round(t_ours, 3), round(t_keras, 3), round(ratio, 2)]],
        })
    for table in tables:
        _common.print_table(table)
    notes = (f"XLA {'on' if args.xla else 'off'}, {args.clock} clock, {repeats} samples per layer; ratio = median "
             "of the paired (ABBA) ratios kerastools / Keras measured in the same run, < 1 is faster. "
             "Masked cases keep ~70% of the positions; renorm cases clip with rmax=3, rmin=1/3, dmax=5. "
             "The Conv2D im2col rows (the course's implementation) are for information; they have no target.")
    _common.write_result(args, tables, notes)


if __name__ == "__main__":
    main()
