"""kerastools.regularizers: penalties, gradients, the course's lambda/(2m), serialisation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools import regularizers as kr
from tests.regularizers import reference
from tests.conformance import assert_config_round_trip, assert_model_round_trip

W = np.random.default_rng(0).standard_normal((5, 4))


def _value_and_grad(reg, w):
    w = tf.Variable(w)
    with tf.GradientTape() as tape:
        value = reg(w)
    return float(value), tape.gradient(value, w).numpy()


def test_l2_value_gradient_and_keras_parity():
    value, grad = _value_and_grad(kr.L2(0.03), W)
    assert value == pytest.approx(0.03 * np.sum(W**2), rel=1e-12)
    np.testing.assert_allclose(grad, 2 * 0.03 * W, rtol=1e-12)
    # Keras rounds its factor to float32 (relative error <= 6e-8).
    assert value == pytest.approx(float(keras.regularizers.L2(0.03)(tf.constant(W))), rel=1e-7)


def test_l1_and_l1l2_parity_with_keras():
    value, grad = _value_and_grad(kr.L1(0.2), W)
    assert value == pytest.approx(0.2 * np.sum(np.abs(W)), rel=1e-12)
    np.testing.assert_allclose(grad, 0.2 * np.sign(W), rtol=1e-12)
    both = kr.L1L2(l1=0.1, l2=0.02)
    w = tf.constant(W)
    assert float(both(w)) == pytest.approx(float(keras.regularizers.L1L2(l1=0.1, l2=0.02)(w)), rel=1e-7)
    assert float(kr.L1L2()(W)) == 0.0


def test_from_course_maps_lambda_over_2m():
    lambd, m = 0.7, 1437
    reg = kr.L2.from_course(lambd, m)
    assert reg.l2 == pytest.approx(lambd / (2 * m))
    value, grad = _value_and_grad(reg, W)
    assert value == pytest.approx(reference.l2_cost_tail([W], lambd, m), rel=1e-12)
    np.testing.assert_allclose(grad, reference.l2_gradient_tail(W, lambd, m), rtol=1e-12)
    assert kr.L1.from_course(lambd, m).l1 == pytest.approx(lambd / (2 * m))


def test_full_batch_keras_gradient_equals_the_course_cost_gradient():
    """Keras's mean loss + L2.from_course(lambd, m) has the gradient of the
    course's J = (1/m) sum L + lambd/(2m) ||W||^2 when the batch is the whole set."""
    rng = np.random.default_rng(1)
    m, lambd = 40, 2.0
    x, y = rng.standard_normal((m, 3)), rng.standard_normal((m, 1))
    dense = keras.layers.Dense(1, use_bias=False, kernel_regularizer=kr.L2.from_course(lambd, m), dtype="float64")
    dense.build((None, 3))
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError(dtype="float64")(y, dense(x)) + tf.add_n(dense.losses)
    (grad,) = tape.gradient(loss, [dense.kernel.value])
    w = dense.kernel.numpy()
    # Course: J = (1/m) sum (x w - y)^2 + lambd/(2m) ||w||^2.
    course_grad = 2.0 / m * x.T @ (x @ w - y) + reference.l2_gradient_tail(w, lambd, m)
    np.testing.assert_allclose(grad.numpy(), course_grad, rtol=1e-10)


@pytest.mark.parametrize("reg", [kr.L2(0.25), kr.L1(0.5), kr.L1L2(0.1, 0.2), kr.L2.from_course(1.0, 100)])
def test_config_round_trip(reg):
    clone = assert_config_round_trip(reg)
    assert float(clone(W)) == float(reg(W))


def test_model_round_trip(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, kernel_regularizer=kr.L2(0.1)),
            keras.layers.Dense(3, kernel_regularizer=kr.L1(0.1), bias_regularizer=kr.L1L2(0.1, 0.2)),
        ]
    )
    restored = assert_model_round_trip(model, np.ones((2, 4), "float32"), tmp_path)
    for fmt, loaded in restored.items():
        np.testing.assert_allclose(sum(float(v) for v in loaded.losses), sum(float(v) for v in model.losses), err_msg=fmt)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: kr.L2(-0.1), ValueError, r"Argument `l2` must be >= 0. Received: l2=-0.1"),
        (lambda: kr.L1(float("nan")), ValueError, r"Argument `l1` must be finite and >= 0. Received: l1=nan"),
        (lambda: kr.L1L2(l1="a"), TypeError, r"Argument `l1` must be a real number. Received: l1='a'"),
        (lambda: kr.L2.from_course(-1.0, 10), ValueError, r"Argument `lambd` must be >= 0. Received: lambd=-1.0"),
        (lambda: kr.L2.from_course(1.0, 0), ValueError, r"Argument `num_examples` must be an integer >= 1. Received: num_examples=0"),
        (lambda: kr.L1.from_course(1.0, 2.5), TypeError, r"Argument `num_examples` must be an integer. Received: num_examples=2.5"),
    ],
)
def test_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()
