"""BatchNormalization: course formulas, hand-derived backward, Keras parity, gradient checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import BatchNormalization
from kerastools.layers._batch_norm_ops import batch_norm_train
from tests.layers import reference


def _rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"momentum": 1.5}, ValueError, r"Argument `momentum` must be in \[0, 1\]. Received: momentum=1.5"),
        ({"epsilon": 0.0}, ValueError, r"Argument `epsilon` must be > 0. Received: epsilon=0.0"),
        ({"center": "yes"}, TypeError, r"Argument `center` must be a bool. Received: center='yes'"),
        ({"scale": 1}, TypeError, r"Argument `scale` must be a bool. Received: scale=1"),
        ({"synchronized": None}, TypeError, r"Argument `synchronized` must be a bool"),
        ({"axis": "channels"}, TypeError, r"Argument `axis` must be an integer or a non-empty tuple"),
        ({"axis": ()}, TypeError, r"Received: axis=\(\)"),
        ({"axis": (1, 1)}, ValueError, r"Argument `axis` must not repeat an axis. Received: axis=\(1, 1\)"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNormalization(**kwargs)


@pytest.mark.parametrize("axis", [3, (0, -5), (0, -2)])
def test_axes_outside_the_input_are_refused(axis):
    with pytest.raises(ValueError, match=r"Argument `axis` must name distinct axes of the 2-D input"):
        BatchNormalization(axis=axis)(np.ones((4, 3), "float32"))


def _train_step(layer, x, dy):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * dy)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return y.numpy(), dx.numpy(), dgamma.numpy(), dbeta.numpy()


@pytest.mark.parametrize(
    "shape, axis",
    [((8, 5), -1), ((4, 3, 3, 2), -1), ((4, 2, 3, 3), 1), ((5, 2, 3, 2), (1, 2, 3))],
    ids=["dense", "conv-channels-last", "conv-channels-first", "per-activation"],
)
def test_training_step_matches_the_course_step_by_step(shape, axis):
    rng = _rng(1)
    x = rng.standard_normal(shape) * 3 + 1
    dy = rng.standard_normal(shape)
    layer = BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-5, dtype="float64")
    layer.build(shape)
    feature_axes = layer._feature_axes
    gamma = rng.random(layer.gamma.shape) + 0.5
    beta = rng.standard_normal(layer.beta.shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    y, dx, dgamma, dbeta = _train_step(layer, x, dy)

    y_ref, cache = reference.batch_norm_forward(x, gamma, beta, 1e-5, feature_axes)
    dx_ref, dgamma_ref, dbeta_ref = reference.batch_norm_backward(dy, cache)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.ravel(dgamma), dgamma_ref, rtol=1e-12)
    np.testing.assert_allclose(np.ravel(dbeta), dbeta_ref, rtol=1e-12)
    np.testing.assert_allclose(np.ravel(layer.moving_mean.numpy()), reference.ewma(0.0, cache["mu"], 0.9), rtol=1e-12)
    np.testing.assert_allclose(np.ravel(layer.moving_variance.numpy()), reference.ewma(1.0, cache["var"], 0.9), rtol=1e-12)

    x_new = rng.standard_normal(shape)
    expected = reference.batch_norm_inference(
        x_new, gamma, beta, layer.moving_mean.numpy(), layer.moving_variance.numpy(), 1e-5, feature_axes
    )
    np.testing.assert_allclose(layer(x_new, training=False), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, axis", [((16, 6), -1), ((8, 5, 5, 4), -1), ((8, 4, 5, 5), 1)])
def test_float32_parity_with_keras_batch_normalization(shape, axis):
    rng = _rng(2)
    ours = BatchNormalization(axis=axis, momentum=0.8)
    theirs = keras.layers.BatchNormalization(axis=axis, momentum=0.8)
    for layer in (ours, theirs):
        layer.build(shape)
    gamma = rng.random(ours.gamma.shape).astype("float32") + 0.5
    beta = rng.standard_normal(ours.beta.shape).astype("float32")
    for layer in (ours, theirs):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    for step in range(3):  # moving statistics accumulate over steps
        x = (rng.standard_normal(shape) * 2 + step).astype("float32")
        dy = rng.standard_normal(shape).astype("float32")
        got, expected = _train_step(ours, x, dy), _train_step(theirs, x, dy)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=1e-5)
    x = rng.standard_normal(shape).astype("float32")
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 4), (3, 3, 2, 3)], ids=["2-D", "4-D"])
@pytest.mark.parametrize("training", [True, False], ids=["batch-stats", "moving-stats"])
def test_gradient_check_float64(shape, training):
    rng = _rng(3)
    layer = BatchNormalization(epsilon=1e-3)
    layer.build(shape)
    layer.gamma.assign(rng.random(layer.gamma.shape) + 0.5)
    layer.beta.assign(rng.standard_normal(layer.beta.shape))
    layer.moving_mean.assign(rng.standard_normal(layer.moving_mean.shape))
    layer.moving_variance.assign(rng.random(layer.moving_variance.shape) + 0.5)
    x = rng.standard_normal(shape) * 2 + 0.5
    report = assert_gradients_close(layer, x, wrt="both", training=training, seed=1)
    assert set(report.per_variable) == {layer.gamma.path, layer.beta.path, "input"}


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_without_offset_or_scale(center, scale):
    x = _rng(4).standard_normal((6, 3)) + 2
    layer = BatchNormalization(center=center, scale=scale, epsilon=1e-4)
    layer.build(x.shape)
    assert len(layer.trainable_variables) == int(center) + int(scale)
    if center or scale:
        assert_gradients_close(layer, x, wrt="both", training=True, seed=2)
    else:
        # No weights: check the float64 op itself with respect to the input.
        layer64 = BatchNormalization(center=False, scale=False, epsilon=1e-4, dtype="float64")
        assert_gradients_close(lambda t: layer64(t, training=True), x, seed=2)
    y = layer(x.astype("float32"), training=True).numpy()
    if not center:
        np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)


def test_returned_statistics_are_differentiable_too():
    """The op's `mean` and `variance` outputs get exact gradients (course: dmu/dx = 1/N,
    dvar/dx = 2(x - mu)/N), so the hand-written op is correct whatever is differentiated."""
    rng = _rng(5)
    gamma = tf.constant(rng.random((1, 1, 1, 3)) + 0.5)
    beta = tf.constant(rng.standard_normal((1, 1, 1, 3)))
    w1, w2, w3 = (tf.constant(rng.standard_normal(s)) for s in [(2, 3, 2, 3), (1, 1, 1, 3), (1, 1, 1, 3)])

    def cost(x):
        y, mean, variance = batch_norm_train(x, gamma, beta, [0, 1, 2], 1e-3)
        return tf.reduce_sum(y * w1) + tf.reduce_sum(mean * w2) + tf.reduce_sum(variance * w3)

    assert_gradients_close(cost, rng.standard_normal((2, 3, 2, 3)))


def test_non_trainable_layer_runs_in_inference_mode_like_keras():
    layer = BatchNormalization()
    x = (_rng(6).standard_normal((8, 3)) * 5 + 3).astype("float32")
    layer.build(x.shape)
    layer.trainable = False
    np.testing.assert_allclose(layer(x, training=True), layer(x, training=False))
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)


def test_mixed_precision_statistics_are_float32():
    # float16 overflows at 65504: squares of 300 would be inf in float16.
    layer = BatchNormalization(dtype="mixed_float16")
    x = (_rng(7).standard_normal((64, 4)) * 50 + 300).astype("float16")
    y = layer(x, training=True)
    assert y.dtype == tf.float16
    assert all(v.dtype == "float32" for v in layer.variables)
    assert np.isfinite(layer.moving_variance.numpy()).all()
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-3)
    np.testing.assert_allclose(y.numpy().astype(np.float64), expected, atol=5e-3)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 + 0.01 * x64.var(0), rtol=1e-5)
