"""Throughput of kerastools' data pipelines and cost of kerastools' saving, each
against the Keras/TensorFlow built-in doing the same job, measured in the same run.

    python benchmarks/hdf5_data.py [--quick] [--megabytes 256] [--repeats 3] [--out DIR]

Table 1 streams one epoch of (x, y) batches:
  * `hdf5_dataset` (from disk, file order / shuffled) vs the same arrays in
    memory through `tf.data.Dataset.from_tensor_slices(...).batch(...)` (shuffled
    with `.shuffle(buffer)` of the same number of rows as kerastools' window);
  * `mini_batches(..., as_dataset=True)` (in memory, full shuffle each epoch) vs
    `from_tensor_slices(...).shuffle(n).batch(...)`.
  ratio = kerastools throughput / built-in throughput (> 1: kerastools faster).
  The HDF5 file is read once before timing, so the OS page cache holds it: this
  measures the pipeline, not the disk.

Table 2 saves and loads a model with an Adam state:
  `kerastools.saving.save_model`/`load_model` vs `model.save`/`keras.models.load_model`.
  ratio = kerastools time / Keras time (< 1: kerastools faster). kerastools also
  fsyncs the file and computes a checksum; Keras's `.h5` load does not restore
  the optimizer slots at all (it rebuilds them empty), so it does less work.

Each pair of timings alternates (ABBA) and the best of the repeats is kept. The
tables are also written to ``benchmarks/results/hdf5_data.json`` (``--out DIR``
elsewhere).
"""

import logging
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerastools import data, saving  # noqa: E402

WIDTH = 256  # float32 features per example: 1 KiB rows


def best_pair(ours, theirs, repeats):
    """Best seconds of one call of `ours` and of `theirs`, alternating (ABBA) after
    a warm-up call of each (tracing, thread pools, page cache)."""
    return _common.bests(_common.interleave([ours, theirs], repeats))


def consume(dataset):
    def run():
        for _ in dataset:
            pass

    return run


def pipeline_rows(directory, rows, batch_size, repeats):
    x = np.random.default_rng(0).normal(size=(rows, WIDTH)).astype("float32")
    y = np.arange(rows)
    path = os.path.join(directory, "data.h5")
    data.write_hdf5(path, x=x, y=y)
    window = (32 << 20) // (WIDTH * 4)
    slices = tf.data.Dataset.from_tensor_slices((x, y))
    cases = [
        ("hdf5_dataset, file order", data.hdf5_dataset(path, "x", "y", batch_size, shuffle=False),
         "from_tensor_slices.batch", slices.batch(batch_size).prefetch(tf.data.AUTOTUNE)),
        ("hdf5_dataset, shuffled", data.hdf5_dataset(path, "x", "y", batch_size, seed=0),
         f"from_tensor_slices.shuffle({window}).batch", slices.shuffle(window, seed=0).batch(batch_size).prefetch(tf.data.AUTOTUNE)),
        ("mini_batches(as_dataset=True)", data.mini_batches(x, y, batch_size, seed=0, as_dataset=True),
         f"from_tensor_slices.shuffle({rows}).batch", slices.shuffle(rows, seed=0).batch(batch_size).prefetch(tf.data.AUTOTUNE)),
    ]
    table = []
    for kt_name, kt_ds, tf_name, tf_ds in cases:
        t_kt, t_tf = best_pair(consume(kt_ds), consume(tf_ds), repeats)
        table.append([kt_name, rows / t_kt, tf_name, rows / t_tf, t_tf / t_kt])
    return table


def saving_rows(directory, units, repeats):
    model = keras.Sequential([keras.Input((units,)), keras.layers.Dense(units), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.MeanSquaredError())
    x = np.random.default_rng(0).normal(size=(64, units)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    table = []
    # .keras first: Keras's own .h5 writer drops the optimizer from the compile
    # config, after which Keras's .keras files reload without their optimizer state.
    for suffix in (".keras", ".h5"):
        kt_path = os.path.join(directory, f"kt{suffix}")
        keras_path = os.path.join(directory, f"keras{suffix}")
        t_kt, t_keras = best_pair(lambda: saving.save_model(model, kt_path), lambda: model.save(keras_path), repeats)
        table.append([f"save {suffix}", t_kt, t_keras, t_kt / t_keras])
        t_kt, t_keras = best_pair(lambda: saving.load_model(kt_path), lambda: keras.models.load_model(keras_path), repeats)
        table.append([f"load {suffix}", t_kt, t_keras, t_kt / t_keras])
    size = os.path.getsize(os.path.join(directory, "kt.h5")) / 2**20
    return table, size


def main(argv=None):
    parser = _common.parser("hdf5_data", __doc__, "32 MiB of data, a 5 MiB model, 1 repeat")
    parser.add_argument("--megabytes", type=int, default=256, help="size of x in MiB")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--units", type=int, default=1024, help="width of the saved model's layers")
    parser.add_argument("--repeats", type=int, default=3)
    args = _common.parse_args(parser, argv)
    if args.quick:
        args.megabytes, args.units, args.repeats = 32, 512, 1
    rows = (args.megabytes << 20) // (WIDTH * 4)
    logging.getLogger("absl").setLevel("ERROR")  # Keras's "HDF5 is legacy" notice on every model.save
    with tempfile.TemporaryDirectory() as directory:
        pipes = pipeline_rows(directory, rows, args.batch_size, args.repeats)
        saves, size = saving_rows(directory, args.units, args.repeats)
    tables = [
        _common.table(
            f"One epoch of {rows} examples x {WIDTH} float32 ({args.megabytes} MiB), batch {args.batch_size}, "
            f"best of {args.repeats}; ratio = kerastools throughput / built-in throughput (> 1: kerastools faster)",
            ["kerastools", "examples/s", "built-in", "built-in examples/s", "ratio"],
            pipes,
        ),
        _common.table(
            f"Saving a {size:.1f} MiB model (3 Dense {args.units}, Adam state), best of {args.repeats}; "
            "ratio = kerastools time / Keras time (< 1: kerastools faster)",
            ["operation", "kerastools s", "Keras s", "ratio"],
            saves,
        ),
    ]
    for t in tables:
        _common.print_table(t)
    _common.write_result(
        args, tables,
        "The HDF5 file is in the OS page cache when timed: this measures the pipeline, not the disk. "
        "kerastools' save also fsyncs and checksums the file; Keras's .h5 load does not restore the optimizer slots.",
    )


if __name__ == "__main__":
    main()
