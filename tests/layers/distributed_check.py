"""Checks run under `tf.distribute.MirroredStrategy` on two logical CPU devices.

Run as a script (``python -m tests.layers.distributed_check``) by
`test_distributed.py`: logical devices must be configured before TensorFlow
initialises, which a fresh process guarantees. Raises `AssertionError` on failure
and prints one line per passed check.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerastools import layers as L  # noqa: E402

STRATEGY = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
RNG = np.random.default_rng(0)
X = (RNG.standard_normal((8, 3, 3, 2)) * 2 + 1).astype("float32")  # 4 examples per replica
V = RNG.standard_normal(X.shape).astype("float32")


def _per_replica(array):
    halves = np.split(array, 2)
    return STRATEGY.experimental_distribute_values_from_function(
        lambda context: tf.constant(halves[context.replica_id_in_sync_group])
    )


def _batch_norm_step(layer, x, v, mask=None):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True, mask=mask)
        loss = tf.reduce_sum(y * v)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return y, dx, dgamma, dbeta


def _local(values):
    return [np.asarray(v) for v in STRATEGY.experimental_local_results(values)]


def _distributed_batch_norm(synchronized):
    with STRATEGY.scope():
        layer = L.BatchNormalization(momentum=0.9, synchronized=synchronized)
        layer.build(X.shape)
    step = tf.function(lambda x, v: STRATEGY.run(_batch_norm_step, args=(layer, x, v)))
    y, dx, dgamma, dbeta = (_local(r) for r in step(_per_replica(X), _per_replica(V)))
    return layer, np.concatenate(y), np.concatenate(dx), sum(dgamma), sum(dbeta)


def _single_device(x, v):
    layer = L.BatchNormalization(momentum=0.9)
    layer.build(x.shape)
    results = _batch_norm_step(layer, tf.constant(x), tf.constant(v))
    return layer, [np.asarray(r) for r in results]


def _replica_copies(variable):
    return [np.asarray(v) for v in variable.value.values]


def check_synchronized_batch_norm_uses_the_global_batch():
    layer, y, dx, dgamma, dbeta = _distributed_batch_norm(synchronized=True)
    reference, (y_ref, dx_ref, dgamma_ref, dbeta_ref) = _single_device(X, V)
    for got, expected in [(y, y_ref), (dx, dx_ref), (dgamma, dgamma_ref), (dbeta, dbeta_ref)]:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    for variable, expected in [(layer.moving_mean, reference.moving_mean), (layer.moving_variance, reference.moving_variance)]:
        for copy in _replica_copies(variable):
            np.testing.assert_allclose(copy, np.asarray(expected), rtol=1e-5, atol=1e-6)


def check_unsynchronized_batch_norm_uses_each_replica_slice():
    layer, y, dx, dgamma, dbeta = _distributed_batch_norm(synchronized=False)
    halves = [_single_device(x, v) for x, v in zip(np.split(X, 2), np.split(V, 2))]
    np.testing.assert_allclose(y, np.concatenate([h[1][0] for h in halves]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, np.concatenate([h[1][1] for h in halves]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dgamma, sum(h[1][2] for h in halves), rtol=1e-5, atol=1e-5)
    # Moving statistics: every replica holds the mean of the replicas' updates.
    for name in ("moving_mean", "moving_variance"):
        expected = np.mean([np.asarray(getattr(h[0], name)) for h in halves], axis=0)
        for copy in _replica_copies(getattr(layer, name)):
            np.testing.assert_allclose(copy, expected, rtol=1e-5, atol=1e-6)


MASK = RNG.random(X.shape[:-1]) < 0.6  # Keras's masks: one dimension less than the input
MASK[:, 0, 0] = True  # every replica keeps some entries
RENORM = {"renorm": True, "renorm_clipping": {"rmax": 1.3, "rmin": 0.8, "dmax": 0.5}, "renorm_momentum": 0.8}
STATISTICS = ("moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev")


def _run_distributed(make_layer, mask=None):
    """One training step of a layer made in the strategy's scope, on X split in two."""
    with STRATEGY.scope():
        layer = make_layer()
        layer.build(X.shape)
        if getattr(layer, "renorm", False):  # renorm statistics away from the batch's
            layer.renorm_mean.assign(np.full(X.shape[-1], 0.5, "float32"))
            layer.renorm_stddev.assign(np.full(X.shape[-1], 1.5, "float32"))
    args = (_per_replica(X), _per_replica(V)) + (() if mask is None else (_per_replica(mask),))
    step = tf.function(lambda *a: STRATEGY.run(_batch_norm_step, args=(layer, *a)))
    y, dx, dgamma, dbeta = (_local(r) for r in step(*args))
    return layer, [np.concatenate(y), np.concatenate(dx), sum(dgamma), sum(dbeta)]


def _run_single(make_layer, x, v, mask=None):
    layer = make_layer()
    layer.build(x.shape)
    if getattr(layer, "renorm", False):
        layer.renorm_mean.assign(np.full(x.shape[-1], 0.5, "float32"))
        layer.renorm_stddev.assign(np.full(x.shape[-1], 1.5, "float32"))
    results = _batch_norm_step(layer, tf.constant(x), tf.constant(v), None if mask is None else tf.constant(mask))
    return layer, [np.asarray(r) for r in results]


def _assert_same_step(got, expected, got_layer, expected_layers):
    """Outputs and gradients agree (float32, ~1e-5); every replica's copy of every
    moving statistic equals the mean of the expected layers' values."""
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for name in STATISTICS:
        if getattr(got_layer, name, None) is None:
            continue
        expected_value = np.mean([np.asarray(getattr(e, name)) for e in expected_layers], axis=0)
        for copy in _replica_copies(getattr(got_layer, name)):
            np.testing.assert_allclose(copy, expected_value, rtol=1e-5, atol=1e-6, err_msg=name)


def check_synchronized_masked_batch_norm_uses_the_global_kept_entries():
    def make():
        return L.BatchNormalization(momentum=0.9, synchronized=True)

    layer, got = _run_distributed(make, MASK)
    reference, expected = _run_single(make, X, V, MASK)
    _assert_same_step(got, expected, layer, [reference])


def check_unsynchronized_masked_batch_norm_matches_keras_per_replica():
    layer, got = _run_distributed(lambda: L.BatchNormalization(momentum=0.9), MASK)
    keras_layer, expected = _run_distributed(lambda: keras.layers.BatchNormalization(momentum=0.9), MASK)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    halves = [_run_single(lambda: L.BatchNormalization(momentum=0.9), x, v, m)
              for x, v, m in zip(np.split(X, 2), np.split(V, 2), np.split(MASK, 2))]
    _assert_same_step(got[:2], [np.concatenate([h[1][i] for h in halves]) for i in range(2)],
                      layer, [h[0] for h in halves])


def check_synchronized_renorm_batch_norm_matches_keras_and_the_global_batch():
    layer, got = _run_distributed(lambda: L.BatchNormalization(momentum=0.9, synchronized=True, **RENORM))
    keras_layer, expected = _run_distributed(
        lambda: keras.layers.BatchNormalization(momentum=0.9, synchronized=True, **RENORM))
    _assert_same_step(got, expected, layer, [keras_layer])
    reference, expected_single = _run_single(lambda: L.BatchNormalization(momentum=0.9, **RENORM), X, V)
    _assert_same_step(got, expected_single, layer, [reference])


def check_synchronized_masked_renorm_batch_norm_uses_the_global_kept_entries():
    def make():
        return L.BatchNormalization(momentum=0.9, synchronized=True, **RENORM)

    layer, got = _run_distributed(make, MASK)
    reference, expected = _run_single(make, X, V, MASK)
    _assert_same_step(got, expected, layer, [reference])


def check_dropout_draws_a_different_mask_on_each_replica():
    with STRATEGY.scope():
        layer = L.Dropout(0.5, seed=3)
    ones = np.ones((8, 64), "float32")  # both replicas receive identical inputs
    step = tf.function(lambda x: STRATEGY.run(lambda t: layer(t, training=True), args=(x,)))
    first, second = _local(step(_per_replica(ones)))
    assert not np.array_equal(first, second), "replicas drew the same dropout mask"
    assert set(np.unique(first)) == {0.0, 2.0}


def check_a_cnn_of_every_layer_trains_with_fit():
    with STRATEGY.scope():
        model = keras.Sequential([
            keras.Input((8, 8, 1)),
            L.Conv2D(4, 3, padding=1, activation="relu"),
            L.BatchNormalization(synchronized=True),
            L.MaxPooling2D(2),
            L.Conv2D(4, 3, padding="same", implementation="im2col"),
            L.AveragePooling2D(2),
            keras.layers.Flatten(),
            L.Dropout(keep_prob=0.8, seed=1),
            keras.layers.Dense(3),
            L.Softmax(),
        ])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy())
    x = RNG.random((32, 8, 8, 1)).astype("float32")
    y = RNG.integers(0, 3, 32)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    first, second = _replica_copies(model.layers[1].moving_variance)
    np.testing.assert_array_equal(first, second)


def main():
    assert STRATEGY.num_replicas_in_sync == 2
    for name, check in sorted(globals().items()):
        if name.startswith("check_"):
            check()
            print(f"passed: {name}", flush=True)


if __name__ == "__main__":
    main()
