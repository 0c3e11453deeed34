"""Throughput of kerastools' data pipelines and cost of kerastools' saving, each
against the Keras/TensorFlow built-in doing the same job, measured in the same run.

    python benchmarks/hdf5_data.py [--quick] [--megabytes 256] [--repeats 3]

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
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerastools import data, saving  # noqa: E402

WIDTH = 256  # float32 features per example: 1 KiB rows


def best_time(fn, repeats):
    fn()  # warm-up: tracing, thread pools, page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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
        t_kt = best_time(consume(kt_ds), repeats)
        t_tf = best_time(consume(tf_ds), repeats)
        table.append((kt_name, rows / t_kt, tf_name, rows / t_tf, t_tf / t_kt))
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
        t_kt = best_time(lambda: saving.save_model(model, kt_path), repeats)
        t_keras = best_time(lambda: model.save(keras_path), repeats)
        table.append((f"save {suffix}", t_kt, t_keras, t_kt / t_keras))
        t_kt = best_time(lambda: saving.load_model(kt_path), repeats)
        t_keras = best_time(lambda: keras.models.load_model(keras_path), repeats)
        table.append((f"load {suffix}", t_kt, t_keras, t_kt / t_keras))
    size = os.path.getsize(os.path.join(directory, "kt.h5")) / 2**20
    return table, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="32 MiB of data, a 5 MiB model, 1 repeat")
    parser.add_argument("--megabytes", type=int, default=256, help="size of x in MiB")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--units", type=int, default=1024, help="width of the saved model's layers")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.megabytes, args.units, args.repeats = 32, 512, 1
    rows = (args.megabytes << 20) // (WIDTH * 4)
    logger = __import__("logging").getLogger("absl")
    logger.setLevel("ERROR")  # Keras's "HDF5 is legacy" notice on every model.save
    with tempfile.TemporaryDirectory() as directory:
        pipes = pipeline_rows(directory, rows, args.batch_size, args.repeats)
        saves, size = saving_rows(directory, args.units, args.repeats)
    print(f"\nOne epoch of {rows} examples x {WIDTH} float32 ({args.megabytes} MiB), batch {args.batch_size}, best of {args.repeats}")
    print(f"{'kerastools':32s} {'examples/s':>12s}   {'built-in':40s} {'examples/s':>12s}  {'ratio':>6s}")
    for kt_name, kt_rate, tf_name, tf_rate, ratio in pipes:
        print(f"{kt_name:32s} {kt_rate:12,.0f}   {tf_name:40s} {tf_rate:12,.0f}  {ratio:6.2f}")
    print(f"\nSaving a {size:.1f} MiB model (3 Dense {args.units}, Adam state), best of {args.repeats}")
    print(f"{'operation':12s} {'kerastools s':>13s} {'Keras s':>9s} {'ratio':>6s}")
    for name, t_kt, t_keras, ratio in saves:
        print(f"{name:12s} {t_kt:13.3f} {t_keras:9.3f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
