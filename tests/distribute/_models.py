"""The model, data and training runs shared by the multi-worker tests and their references.

Imported both by the worker script (`_worker.py`, run once per worker) and by
the single-process references, so the two sides build the same model from the
same seeds and read the same batches.
"""

import itertools

import keras
import numpy as np
import tensorflow as tf

import kerastools as kt

SEED = 0
GLOBAL_BATCH = 48  # divisible by 1, 2 and 3 workers: every replica gets an equal share
NUM_TRAIN = 240  # 5 full global batches per epoch: no partial batch
NUM_TEST = 96
EPOCHS = 3
# The configurations every run trains: kerastools layers with kt.Adam, with
# kt.Momentum under a kerastools schedule, with dropout active; and the same
# CNN of Keras's built-in layers with keras.optimizers.Adam.
CORE_CONFIGS = ("adam", "momentum", "adam_dropout")
CONFIGS = (*CORE_CONFIGS, "keras_builtin")


def digits():
    """The first NUM_TRAIN + NUM_TEST digits as (n, 8, 8, 1) float32 images in [0, 1]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    y = data.target.astype("int64")
    n = NUM_TRAIN
    return (x[:n], y[:n]), (x[n : n + NUM_TEST], y[n : n + NUM_TEST])


def optimizer(name):
    if name.startswith("adam"):
        return kt.Adam(learning_rate=3e-3)
    schedule = kt.schedules.ExponentialDecay(0.05, decay_steps=5, decay_rate=0.7)
    return kt.Momentum(learning_rate=schedule, beta=0.9)


def build_keras_cnn():
    """The same CNN of Keras's built-in layers (no dropout), with Keras's Adam."""
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, padding="same", use_bias=False, kernel_initializer=keras.initializers.HeNormal(seed=1)),
            keras.layers.BatchNormalization(synchronized=True),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_initializer=keras.initializers.GlorotNormal(seed=3)),
            keras.layers.Softmax(),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def build_cnn(name):
    """The CNN of kerastools layers, compiled with the configuration's optimizer.

    Call inside ``strategy.scope()`` for a distributed run. Dropout is active
    (keep_prob 0.8) only in ``adam_dropout``; elsewhere keep_prob is 1 so that
    the run is comparable with one process drawing one mask for the global batch.
    """
    if name == "keras_builtin":
        return build_keras_cnn()
    keras.utils.set_random_seed(SEED)
    keep_prob = 0.8 if name.endswith("dropout") else 1.0
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            # No bias before batch norm (its true gradient is zero: BN subtracts
            # the mean); Adam would turn the float32 noise of that zero gradient
            # into steps of +-lr, so distributed and single runs would drift
            # apart by up to 2 * lr * steps in a parameter that changes nothing.
            kt.layers.Conv2D(8, 3, padding=1, use_bias=False, kernel_initializer=kt.initializers.HeNormal(seed=1)),
            kt.layers.BatchNormalization(synchronized=True),
            keras.layers.ReLU(),
            kt.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            kt.layers.Dropout(keep_prob=keep_prob, seed=2),
            keras.layers.Dense(10, kernel_initializer=kt.initializers.XavierNormal(seed=3)),
            kt.layers.Softmax(),
        ]
    )
    model.compile(
        optimizer=optimizer(name),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def train_batches(x, y, initial_epoch=0):
    """Global batches; epoch e's order depends only on the seed and e (any process)."""
    return kt.data.mini_batches(x, y, batch_size=GLOBAL_BATCH, seed=SEED, as_dataset=True, initial_epoch=initial_epoch)


def batches_after_a_first_pass(x, y):
    """`train_batches` for a single-process strategy (`MirroredStrategy`).

    There, Keras pulls one batch before the first epoch to build the model
    (kept as Keras does it: kerastools changes nothing outside multi-worker
    runs), which starts one pass over the dataset. This dataset gives that
    extra pass epoch 0's order as well, so epoch e is still trained on epoch
    e's order, as in the multi-worker and the plain single-process runs.
    """
    passes = itertools.count(-1)

    def one_epoch():
        yield from kt.data.mini_batches(x, y, GLOBAL_BATCH, seed=SEED, initial_epoch=max(next(passes), 0))

    signature = (tf.TensorSpec((None, *x.shape[1:]), tf.float32), tf.TensorSpec((None,), tf.int64))
    dataset = tf.data.Dataset.from_generator(one_epoch, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(x) // GLOBAL_BATCH))


def run(name, scope, callbacks=(), epochs=EPOCHS, batches=train_batches):
    """Train configuration `name` under `scope`; returns the model and a dict of NumPy results."""
    (x, y), (x_test, y_test) = digits()
    with scope:
        model = build_cnn(name)
    history = model.fit(batches(x, y), epochs=epochs, verbose=0, callbacks=list(callbacks))
    evaluation = model.evaluate(x_test, y_test, batch_size=GLOBAL_BATCH, verbose=0, return_dict=True)
    predictions = model.predict(x_test, batch_size=GLOBAL_BATCH, verbose=0)
    result = {
        "loss": np.asarray(history.history["loss"], np.float64),
        "accuracy": np.asarray(history.history["accuracy"], np.float64),
        "eval_loss": np.float64(evaluation["loss"]),
        "eval_accuracy": np.float64(evaluation["accuracy"]),
        "predictions": np.asarray(predictions),
        "iterations": np.int64(keras.ops.convert_to_numpy(model.optimizer.iterations)),
    }
    for i, weight in enumerate(model.get_weights()):
        result[f"weight{i}"] = np.asarray(weight)
    return model, result


def save_results(path, results):
    """One .npz holding every configuration's results as ``<config>/<key>``."""
    flat = {f"{name}/{key}": value for name, result in results.items() for key, value in result.items()}
    np.savez(path, **flat)


def load_results(path):
    with np.load(path) as data:
        results = {}
        for flat, value in data.items():
            name, key = flat.split("/", 1)
            results.setdefault(name, {})[key] = value
    return results


def weights(result):
    """The ``weight<i>`` arrays of a result, in model order."""
    return [result[f"weight{i}"] for i in range(sum(key.startswith("weight") for key in result))]


def write_digits_hdf5(path):
    """The training digits as an HDF5 file with small chunks (several blocks per shard)."""
    (x, y), _ = digits()
    kt.data.write_hdf5(path, x=x, y=y, chunks=16)


def hdf5_shards_as_one(path, num_shards):
    """One process's view of `sharded_hdf5_dataset` over `num_shards` workers:
    global batch j = batch j of shard 0, ..., batch j of shard k-1, concatenated."""
    shards = [
        kt.data.hdf5_dataset(path, "x", "y", batch_size=GLOBAL_BATCH // num_shards, seed=SEED, shard=(num_shards, i))
        for i in range(num_shards)
    ]
    return tf.data.Dataset.zip(tuple(shards)).map(lambda *b: tuple(tf.concat(parts, 0) for parts in zip(*b)))


def run_hdf5(model_scope, dataset):
    """Adam on HDF5 batches; returns a dict of NumPy results."""
    with model_scope:
        model = build_cnn("adam")
    history = model.fit(dataset, epochs=EPOCHS, verbose=0)
    result = {"loss": np.asarray(history.history["loss"], np.float64), "iterations": np.int64(model.optimizer.iterations.numpy())}
    for i, weight in enumerate(model.get_weights()):
        result[f"weight{i}"] = np.asarray(weight)
    return result
