"""Cost of multi-worker training on one machine: step time and all-reduce volume per
step for 1, 2 and 3 local workers, kerastools components against Keras's built-ins
measured in the same run.

    python benchmarks/distribute.py [--quick] [--steps 40] [--workers 1 2 3]

Each configuration trains the same CNN (Conv2D 16 3x3 without bias,
BatchNormalization(synchronized=True), ReLU, MaxPooling2D, Dense 10, Softmax) on
synthetic 28x28 images with Adam and a fixed global batch of 96 (so more workers
means smaller per-worker batches: strong scaling):

* "kerastools": `kt.layers.*`, `kt.Adam`; "Keras": `keras.layers.*`,
  `keras.optimizers.Adam` (the same maths);
* "1 process": plain `fit`, no strategy; "N workers": N local processes under
  `kt.distribute.multi_worker_strategy` (started by `kt.distribute.LocalCluster`).

Step time: median wall time between consecutive `on_train_batch_end` calls of
worker 0 after `--warmup` steps (the workers run in lock-step). All-reduce
volume: bytes handed to the strategy's all-reduces (gradients, synchronised
batch-norm sums, metrics) while the training step is traced, i.e. per step and
per worker; a ring all-reduce of B bytes over N workers sends 2 (N - 1) / N * B
bytes from each worker.

ratio columns: "vs 1 process" = step time / the same stack's 1-process step
time; "vs Keras" = kerastools step time / Keras's, same number of workers.
All workers share this machine's cores, so no speed-up is expected: the table
is the overhead of the collective machinery (gRPC ring all-reduce over
localhost, synchronisation), not what several machines would give.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# This checkout's kerastools, also when another one is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

GLOBAL_BATCH = 96
STACKS = ("keras", "kerastools")
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def build(stack):
    import keras

    import kerastools as kt

    keras.utils.set_random_seed(0)
    if stack == "kerastools":
        layers = [
            kt.layers.Conv2D(16, 3, padding=1, use_bias=False),
            kt.layers.BatchNormalization(synchronized=True),
            keras.layers.ReLU(),
            kt.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
            kt.layers.Softmax(),
        ]
        optimizer = kt.Adam(1e-3)
    else:
        layers = [
            keras.layers.Conv2D(16, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(synchronized=True),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
            keras.layers.Softmax(),
        ]
        optimizer = keras.optimizers.Adam(1e-3)
    model = keras.Sequential([keras.Input((28, 28, 1)), *layers])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


class _Volume:
    """Counts the bytes given to the strategy's reductions while a function is traced.

    Wraps the three TensorFlow internals every reduction of the strategy goes
    through (cross-replica `reduce_to` / `batch_reduce_to`, and the all-reduce
    of a replica context); a reduction that calls another is counted once.
    """

    _METHODS = ("_reduce_to", "_batch_reduce_to", "_replica_ctx_all_reduce")

    def __init__(self, extended_class):
        import tensorflow as tf

        self._tf = tf
        self.per_graph = {}
        self._depth = 0
        for name in self._METHODS:
            if hasattr(extended_class, name):
                setattr(extended_class, name, self._wrap(getattr(extended_class, name), name))

    def _bytes(self, value):
        local = getattr(value, "values", (value,))[0]
        return int(local.shape.num_elements() or 0) * self._tf.as_dtype(local.dtype).size

    def _values(self, name, value):
        if name == "_batch_reduce_to":
            return [v for v, _ in value]
        if name == "_replica_ctx_all_reduce":
            return list(value)
        return [value]

    def _wrap(self, original, name):
        def counted(extended, reduce_op, value, *args, **kwargs):
            tf = self._tf
            if self._depth == 0 and not tf.executing_eagerly():
                graph = id(tf.compat.v1.get_default_graph())
                self.per_graph[graph] = self.per_graph.get(graph, 0) + sum(self._bytes(v) for v in self._values(name, value))
            self._depth += 1
            try:
                return original(extended, reduce_op, value, *args, **kwargs)
            finally:
                self._depth -= 1

        return counted

    def per_step(self):
        return max(self.per_graph.values(), default=0)


def train(stack, strategy, steps, warmup):
    """Fit `warmup + steps` steps; returns (median step seconds, all-reduce bytes per step)."""
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    n = GLOBAL_BATCH * (steps + warmup)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = data.with_options(options)
    volume = _Volume(type(strategy.extended)) if strategy is not None else None
    stamps = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stamps.append(time.perf_counter())

    if strategy is None:
        model = build(stack)
    else:
        with strategy.scope():
            model = build(stack)
    model.fit(data, epochs=1, verbose=0, callbacks=[Clock()])
    gaps = np.diff(stamps[warmup - 1 :])
    return float(statistics.median(gaps)), (volume.per_step() if volume else 0)


def worker_main(args):
    import kerastools as kt

    strategy = kt.distribute.multi_worker_strategy(collective_timeout=120)
    step, volume = train(args.stack, strategy, args.steps, args.warmup)
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    (pathlib.Path(args.worker_dir) / f"{args.stack}-{strategy.num_replicas_in_sync}-{index}.json").write_text(
        json.dumps({"step_s": step, "allreduce_bytes": volume})
    )


def run_workers(stack, workers, args, directory):
    import kerastools as kt

    here = pathlib.Path(__file__).resolve()
    command = [sys.executable, str(here), "--worker", "--stack", stack, "--worker-dir", directory,
               "--steps", str(args.steps), "--warmup", str(args.warmup)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(here.parents[1]), os.environ.get("PYTHONPATH")])))
    with kt.distribute.LocalCluster(command, workers, log_dir=pathlib.Path(directory) / f"logs-{stack}-{workers}", env=env) as cluster:
        codes = cluster.wait(timeout=600)
        if codes != [0] * workers:
            raise SystemExit(f"{stack} with {workers} workers failed ({codes}):\n{cluster.logs_tail()}")
    result = json.loads((pathlib.Path(directory) / f"{stack}-{workers}-0.json").read_text())
    return result["step_s"], result["allreduce_bytes"]


def versions():
    import keras
    import numpy as np
    import tensorflow as tf

    import kerastools

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "kerastools": kerastools.__version__}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 timed steps, 1 and 2 workers")
    parser.add_argument("--steps", type=int, default=40, help="timed steps (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed first steps (default 5)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", default=str(RESULTS),
                        help="folder for distribute.json (created; default benchmarks/results, the committed results)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stack", choices=STACKS, help=argparse.SUPPRESS)
    parser.add_argument("--worker-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    if args.quick:
        args.steps, args.workers = 10, [1, 2]
    rows, single = [], {}
    with tempfile.TemporaryDirectory() as directory:
        for stack in STACKS:
            single[stack] = train(stack, None, args.steps, args.warmup)[0]
        measured = {(stack, n): run_workers(stack, n, args, directory) for n in args.workers for stack in STACKS}
    for stack in STACKS:
        rows.append([stack, "1 process", GLOBAL_BATCH, round(single[stack] * 1e3, 2), 1.0, 0.0,
                     round(single[stack] / single["keras"], 2)])
    for n in args.workers:
        for stack in STACKS:
            step, volume = measured[(stack, n)]
            rows.append([stack, f"{n} worker{'s' if n > 1 else ''}", GLOBAL_BATCH, round(step * 1e3, 2),
                         round(step / single[stack], 2), round(volume / 1024, 2), round(step / measured[("keras", n)][0], 2)])
    columns = ["stack", "workers", "global batch", "step ms (median)", "vs 1 process", "all-reduce KiB/step/worker", "vs Keras"]
    title = f"Multi-worker step time on one machine ({os.cpu_count()} cores), {args.steps} timed steps"
    print(title)
    print("  ".join(f"{c:>{max(len(c), 10)}s}" for c in columns))
    for row in rows:
        print("  ".join(f"{str(v):>{max(len(c), 10)}s}" for v, c in zip(row, columns)))
    notes = ("Quick mode (--quick): 10 timed steps, 1 and 2 workers; figures are indicative. " if args.quick else "") + (
        "Strong scaling: the global batch of 96 is split over the workers, which all share this "
        "machine's cores, so no speed-up is expected; the ratios show the overhead of the collective "
        "all-reduce over localhost gRPC and of synchronising the workers every step. The all-reduce "
        "volume is the bytes handed to the strategy's reductions per step and worker (gradients, "
        "synchronised batch-norm sums, metrics), counted while the step is traced."
    )
    print(notes)
    result = {
        "benchmark": "distribute",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/distribute.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "tables": [{"title": title, "columns": columns, "rows": rows}],
        "notes": notes,
    }
    output = pathlib.Path(args.out) / "distribute.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
