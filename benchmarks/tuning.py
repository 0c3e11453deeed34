"""Coarse-to-fine search against KerasTuner's random search at the same trial budget.

The task: scikit-learn's digits split 60/20/20, a 64-32-10 MLP built from
kerastools components, trained a few epochs per trial with `kerastools.Momentum`
whose learning rate (log-uniform in [1e-4, 1]) and beta (``1 - 10**r`` in
[0.5, 0.999]) are searched. For each seed, `kerastools.tuning.CoarseToFine` and
`keras_tuner.RandomSearch` get the same number of trials and the same seed; the
table gives the best validation accuracy (mean and standard deviation over the
seeds), the test accuracy of that best trial's model, and the wall time of a
search, with ratios to random search measured in the same run. Every trial
builds its model from the same weight seed, so the score depends only on the
hyperparameters.

    python benchmarks/tuning.py            # 12 trials (3 rounds), 5 epochs, 5 seeds: a few minutes
    python benchmarks/tuning.py --quick    # 6 trials (2 rounds), 2 epochs, 2 seeds

On a shared CPU the times are preliminary; the accuracies do not depend on the load.
"""

import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import kerastools as kt  # noqa: E402
from kerastools import tuning  # noqa: E402

tf.get_logger().setLevel("ERROR")  # one model per trial: retracing warnings are expected


def digits():
    data = load_digits()
    x = (data.images / 16.0).astype("float32").reshape(len(data.images), -1)
    return kt.data.train_dev_test_split(x, data.target.astype("int64"), seed=0, stratify=data.target)


def build(hp):
    keras.utils.set_random_seed(0)  # the same initial weights in every trial
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=0)),
            keras.layers.Dense(10),
            kt.layers.Softmax(),
        ]
    )
    optimizer = tuning.optimizer(hp, ("momentum",), ranges={"beta": (0.5, 0.999)})
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def run(kind, seed, trials, rounds, epochs, data, directory):
    (x, y), (x_dev, y_dev), (x_test, y_test) = data
    common = dict(objective="val_accuracy", max_trials=trials, seed=seed, directory=directory, project_name=f"{kind}-{seed}", overwrite=True)
    if kind == "CoarseToFine":
        tuner = tuning.CoarseToFine(build, rounds=rounds, **common)
    else:
        tuner = keras_tuner.RandomSearch(build, **common)
    start = time.perf_counter()
    tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.hypermodel.build(best.hyperparameters)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    test_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    keras.backend.clear_session()
    return best.score, test_accuracy, seconds, tuning.hyperparameter_values(best.hyperparameters)


def main(argv=None):
    parser = _common.parser("tuning", __doc__, "6 trials in 2 rounds, 2 epochs, 2 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5, or 2 with --quick)")
    args = _common.parse_args(parser, argv)
    trials, rounds, epochs, seeds = (6, 2, 2, 2) if args.quick else (12, 3, 5, 5)
    seeds = args.seeds or seeds
    data = digits()
    directory = tempfile.mkdtemp(prefix="kt-tuning-bench-")
    results = {"RandomSearch": [], "CoarseToFine": []}
    try:
        # KerasTuner draws the k-th value with Random(seed + k): nearby seeds share most
        # of their draws, and RandomSearch takes seed=0 as "no seed". Spaced seeds.
        for seed in (1 + 1000 * i for i in range(seeds)):
            for kind in results:  # interleaved, so that load changes hit both alike
                results[kind].append(run(kind, seed, trials, rounds, epochs, data, directory))
                score, test, seconds, values = results[kind][-1]
                shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items() if k != "optimizer"}
                print(f"seed {seed} {kind:13s} best val_accuracy {score:.4f}  test {test:.4f}  {seconds:6.1f} s  {shown}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    print(f"\n{trials} trials per search ({rounds} rounds for CoarseToFine), {epochs} epochs per trial, {seeds} seeds")
    print(f"{'tuner':14s}{'best val acc':>14s}{'std':>8s}{'test acc':>10s}{'val error ratio':>17s}{'seconds':>9s}{'time ratio':>12s}")
    base = np.array(results["RandomSearch"], dtype=object)
    base_error = 1.0 - np.mean([r[0] for r in base])
    base_time = np.mean([r[2] for r in base])
    for kind, rows in results.items():
        val = np.array([r[0] for r in rows])
        test = np.array([r[1] for r in rows])
        secs = np.array([r[2] for r in rows])
        error_ratio = (1.0 - val.mean()) / base_error if base_error > 0 else float("nan")
        print(f"{kind:14s}{val.mean():14.4f}{val.std():8.4f}{test.mean():10.4f}{error_ratio:17.3f}{secs.mean():9.1f}{secs.mean() / base_time:12.3f}")
    print("val error ratio < 1: CoarseToFine's best trial makes fewer validation errors than random search's.")
    summary = []
    for kind, rows in results.items():
        val, test, secs = (np.array([r[i] for r in rows]) for i in range(3))
        error_ratio = (1.0 - val.mean()) / base_error if base_error > 0 else float("nan")
        summary.append([kind, val.mean(), val.std(), test.mean(), error_ratio, secs.mean(), secs.mean() / base_time])
    _common.write_result(args, [_common.table(
        f"{trials} trials per search ({rounds} rounds for CoarseToFine), {epochs} epochs per trial, {seeds} seeds; "
        "ratios to keras_tuner.RandomSearch",
        ["tuner", "best val acc", "std", "test acc", "val error ratio", "seconds", "time ratio"],
        summary,
    )], "val error ratio < 1: CoarseToFine's best trial makes fewer validation errors than random search's.")


if __name__ == "__main__":
    main()
