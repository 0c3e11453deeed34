"""Cost of a learning-rate schedule inside the compiled train step of the digits MLP.

Trains the 64-128-64-10 MLP of examples/demo.py on scikit-learn's digits
(batch 32, 45 steps per epoch) with a constant learning rate, with Keras's
built-in schedules and with every kerastools schedule, and prints the time per
step and its ratio to the constant rate, all measured in the same run. The goal:
a kerastools schedule costs <= 2 % of the step (ratio <= 1.02).

Each epoch is one call of Keras's compiled train function (`steps_per_execution`
= steps per epoch) and only the epoch itself is timed, so Python overhead does
not hide the schedule's cost. The rounds are interleaved and the fastest epoch
is kept, which filters out interference from other processes; on a shared
machine the figures are still preliminary. A second table times each schedule
alone in a compiled loop: its absolute cost per evaluation, which is less
sensitive to noise than the ratio of two train steps.

    python benchmarks/schedules.py            # SGD and Adam, XLA on and off
    python benchmarks/schedules.py --quick    # a short run, SGD only

The tables are also written to ``benchmarks/results/schedules.json`` (``--out DIR``
writes elsewhere).
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerastools import schedules as S  # noqa: E402

tf.get_logger().setLevel("ERROR")  # one model per schedule: retracing warnings are expected

K = keras.optimizers.schedules
BATCH = 32


def schedules_to_compare():
    """(label, factory) pairs; the factory builds a fresh schedule (or float)."""
    return [
        ("constant 0.01", lambda: 0.01),
        ("keras ExponentialDecay", lambda: K.ExponentialDecay(0.01, 100, 0.9)),
        ("keras PiecewiseConstantDecay", lambda: K.PiecewiseConstantDecay([500, 1000], [0.01, 0.005, 0.001])),
        ("keras CosineDecay", lambda: K.CosineDecay(0.01, 1000)),
        ("keras CosineDecayRestarts", lambda: K.CosineDecayRestarts(0.01, 100)),
        ("InverseTimeDecay (epochs)", lambda: S.InverseTimeDecay(0.01, 1, 0.5, steps_per_epoch=45)),
        ("ExponentialDecay", lambda: S.ExponentialDecay(0.01, 100, 0.9)),
        ("NaturalExpDecay", lambda: S.NaturalExpDecay(0.01, 100, 0.1, staircase=True)),
        ("PiecewiseConstantDecay", lambda: S.PiecewiseConstantDecay([500, 1000], [0.01, 0.005, 0.001])),
        ("PolynomialDecay (cycle)", lambda: S.PolynomialDecay(0.01, 100, 1e-4, 2.0, cycle=True)),
        ("CosineDecay", lambda: S.CosineDecay(0.01, 1000)),
        ("LinearCosineDecay", lambda: S.LinearCosineDecay(0.01, 1000)),
        ("NoisyLinearCosineDecay", lambda: S.NoisyLinearCosineDecay(0.01, 1000, initial_variance=0.01, seed=0)),
        ("CosineDecayRestarts", lambda: S.CosineDecayRestarts(0.01, 100)),
        ("CyclicalLearningRate", lambda: S.CyclicalLearningRate(0.001, 0.01, 90, mode="triangular2")),
        ("OneCycle", lambda: S.OneCycle(0.001, 0.01, 2000)),
        ("Warmup(CosineDecay)", lambda: S.Warmup(S.CosineDecay(0.01, 1000), 90)),
        ("Sequential(Poly, Cosine)", lambda: S.Sequential([S.PolynomialDecay(0.0, 90, 0.01), S.CosineDecay(0.01, 900)], [90])),
        ("ScaledSchedule(Warmup(Cosine))", lambda: S.ScaledSchedule(S.Warmup(S.CosineDecay(0.01, 1000), 90))),
    ]


def load_data():
    x, y = _common.digits()
    n = (len(x) * 4 // 5) // BATCH * BATCH  # whole batches: every step has the same shape
    return x[:n], y[:n]


def build(learning_rate, optimizer, jit, steps_per_epoch):
    model = _common.mlp((128, 64), "relu", seed=0)
    opt = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}[optimizer](learning_rate=learning_rate)
    model.compile(
        optimizer=opt,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        jit_compile=jit,
        steps_per_execution=steps_per_epoch,
    )
    return model


class _EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch alone (fit's set-up and tear-down excluded)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def measure_steps(optimizer, jit, rounds, epochs, x, y):
    """Seconds per train step for each schedule: the fastest epoch over `rounds`
    interleaved rounds of `epochs` epochs."""
    steps_per_epoch = len(x) // BATCH
    entries = schedules_to_compare()
    models = [build(factory(), optimizer, jit, steps_per_epoch) for _, factory in entries]

    def fastest_epoch(model):
        def run():
            timer = _EpochTimer()
            model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[timer])
            return min(timer.seconds) / steps_per_epoch

        return run

    # The warm-up round compiles every model.
    samples = _common.interleave([fastest_epoch(m) for m in models], rounds, measure=lambda run: run())
    return [label for label, _ in entries], _common.bests(samples)


def measure_evaluations(jit, rounds, n=20_000):
    """Seconds per evaluation of each schedule in a compiled loop of `n` steps,
    minus the same loop with a constant: the schedule's own cost."""
    loops = []
    for _, factory in schedules_to_compare():
        schedule = factory()
        fn = (lambda s: (lambda step: s(step)))(schedule) if callable(schedule) else (lambda v: (lambda step: tf.constant(v)))(schedule)

        @tf.function(jit_compile=jit)
        def loop(fn=fn):
            def body(i, total):
                return i + 1, total + tf.cast(fn(i), tf.float32)

            return tf.while_loop(lambda i, total: i < n, body, (tf.constant(0, tf.int64), tf.constant(0.0)))[1]

        loops.append(loop)
    best = _common.bests(_common.interleave(loops, rounds))  # the warm-up call traces and compiles
    return [(b - best[0]) / n for b in best]


def main(argv=None):
    parser = _common.parser("schedules", __doc__, "fewer rounds and epochs, SGD only")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per timed round")
    args = _common.parse_args(parser, argv)
    rounds = args.rounds or (3 if args.quick else 5)
    epochs = args.epochs or (5 if args.quick else 20)
    configs = [("sgd", True), ("sgd", False)] + ([] if args.quick else [("adam", True), ("adam", False)])
    x, y = load_data()
    setting = (
        f"digits MLP 64-128-64-10, batch {BATCH}, {len(x) // BATCH} steps per epoch (one compiled call); "
        f"fastest epoch of {rounds} rounds of {epochs}"
    )
    print(setting)
    labels, steps = None, {}
    for optimizer, jit in configs:
        labels, steps[f"{optimizer} {'xla' if jit else 'graph'}"] = measure_steps(optimizer, jit, rounds, epochs, x, y)
    evals = {mode: measure_evaluations(mode == "xla", rounds) for mode in ("xla", "graph")}

    columns = ["schedule"]
    for name in steps:
        columns += [f"{name} us/step", f"{name} ratio"]
    rows, worst = [], dict.fromkeys(steps, 0.0)
    for row, label in enumerate(labels):
        cells = [label]
        for name, seconds in steps.items():
            ratio = seconds[row] / seconds[0]
            cells += [seconds[row] * 1e6, ratio]
            if not label.startswith(("keras", "constant")):
                worst[name] = max(worst[name], ratio)
        rows.append(cells)
    step_table = _common.table(
        f"Train step with each schedule: microseconds per step and ratio to the constant rate (goal <= 1.02); {setting}",
        columns, rows,
    )

    step_xla = steps["sgd xla"][0]
    step_graph = steps["sgd graph"][0]
    alone = _common.table(
        "The schedule alone in a compiled loop: microseconds per evaluation (constant subtracted), "
        "and as a share of the constant-rate SGD step of the same compilation mode",
        ["schedule", "XLA us", "XLA % of step", "graph us", "graph % of step"],
        [
            [label, evals["xla"][row] * 1e6, 100 * evals["xla"][row] / step_xla, evals["graph"][row] * 1e6, 100 * evals["graph"][row] / step_graph]
            for row, label in enumerate(labels[1:], start=1)
        ],
    )
    for t in (step_table, alone):
        _common.print_table(t)
    summary = "worst kerastools ratio: " + ", ".join(f"{name} {ratio:.3f}" for name, ratio in worst.items())
    print(summary)
    _common.write_result(args, [step_table, alone], summary + ". Keras's built-in schedules are the peers in the same run.")


if __name__ == "__main__":
    main()
