"""Run by `test_distributed.py` in a subprocess: the optimizers under
`tf.distribute.MirroredStrategy` on two logical CPU devices against one device.

The logical devices must be configured before TensorFlow initialises its
devices, hence a fresh process. Prints one JSON object: for each case, the
largest difference between the two runs' weights, how many copies of the fused
kernel the mirrored update graph holds, and how far training moved the weights.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests.optimizers import cases as C  # noqa: E402

DEVICES = ["/cpu:0", "/cpu:1"]
EXTRA = ["sgd_momentum", "rmsprop_centered", "adam_outside"]  # more kernels


def _dense_model():
    return keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )


def _embedding_model():
    return keras.Sequential(
        [keras.Input((3,), dtype="int32"), keras.layers.Embedding(20, 4), keras.layers.Flatten(),
         keras.layers.Dense(1)]
    )  # fmt: skip


def _train(case, build, x, y, strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build()
        model.compile(optimizer=case.make(), loss=keras.losses.MeanSquaredError())
    start = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return start, model.get_weights()


def _kernel_copies(case, strategy):
    """Nodes of the case's kernel in one traced mirrored `apply`."""
    with strategy.scope():
        variable = keras.Variable(np.ones((4, 3)))
        optimizer = case.make()
        optimizer.build([variable])

    @tf.function
    def step():
        # Each replica makes its own gradient, as in a real step.
        strategy.run(lambda: optimizer.apply([tf.ones((4, 3), "float64")], [variable]))

    graph = step.get_concrete_function().graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return sum(node.op == case.kernel for node in nodes)


def main():
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5))
    y = x @ rng.standard_normal((5, 1))
    ids = rng.integers(0, 12, (64, 3)).astype("int32")  # repeated ids: sparse rows with duplicates
    mirrored = tf.distribute.MirroredStrategy(DEVICES)
    single = tf.distribute.OneDeviceStrategy(DEVICES[0])
    chosen = C.ONE_PER_CLASS + [c for c in C.CASES if c.id in EXTRA]
    report = {"replicas": mirrored.num_replicas_in_sync}
    for case in chosen:
        builds = [("dense", _dense_model, x)]
        if case.id in ("sgd", "adagrad"):  # their sparse row-wise path
            builds.append(("embedding", _embedding_model, ids))
        for label, build, inputs in builds:
            start, one = _train(case, build, inputs, y, single)
            _, two = _train(case, build, inputs, y, mirrored)
            report[f"{case.id}/{label}"] = {
                "max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(one, two)),
                "moved": max(float(np.max(np.abs(a - b))) for a, b in zip(one, start)),
                "kernel_copies": _kernel_copies(case, mirrored) if case.kernel else None,
            }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
