"""Dropout: inverted dropout, rate/keep_prob, noise_shape, seed values, same mask backward."""

import numpy as np
import pytest
import tensorflow as tf

from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import Dropout
from tests.layers import reference


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, r"Pass exactly one of `rate` and `keep_prob`. Received: rate=None, keep_prob=None"),
        ({"rate": 0.2, "keep_prob": 0.8}, ValueError, r"exactly one .* Received: rate=0.2, keep_prob=0.8"),
        ({"keep_prob": 0}, ValueError, r"Argument `keep_prob` must be in \(0, 1\]. Received: keep_prob=0.0"),
        ({"keep_prob": 1.5}, ValueError, r"Argument `keep_prob` must be in \(0, 1\]. Received: keep_prob=1.5"),
        # Keras's wording for `rate` (its own tests pin it), with the range and value.
        ({"rate": 1.0}, ValueError, r"Invalid value received for argument `rate`. Expected a float value "
         r"between 0 and 1 \(0 <= rate < 1\). Received: rate=1.0"),
        ({"rate": -0.1}, ValueError, r"between 0 and 1 \(0 <= rate < 1\). Received: rate=-0.1"),
        ({"rate": float("nan")}, ValueError, r"Argument `rate` must be finite. Received: rate=nan"),
        ({"rate": "0.5"}, TypeError, r"Argument `rate` must be a real number. Received: rate='0.5'"),
        ({"rate": 0.5, "seed": -1}, ValueError, r"Argument `seed` must be an integer >= 0. Received: seed=-1"),
        # Every bad `noise_shape` is a ValueError, as in Keras.
        ({"rate": 0.5, "noise_shape": (None, 0)}, ValueError,
         r"Expected all dimensions to be positive integers or None. Received: noise_shape=\(None, 0\)"),
        ({"rate": 0.5, "noise_shape": (2, -1)}, ValueError, r"positive integers or None. Received: noise_shape=\(2, -1\)"),
        ({"rate": 0.5, "noise_shape": "abc"}, ValueError,
         r"Expected a tuple or list of integers. Received: noise_shape='abc'"),
        ({"rate": 0.5, "noise_shape": 3}, ValueError,
         r"Expected an iterable of integers \(e.g., a tuple or list\). Received: noise_shape=3"),
        ({"rate": 0.5, "noise_shape": (2, 1.5)}, ValueError,
         r"Expected all elements to be integers or None. Received: noise_shape=\(2, 1.5\)"),
        ({"rate": 0.5, "noise_shape": (2, True)}, ValueError, r"integers or None. Received: noise_shape=\(2, True\)"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Dropout(**kwargs)


def test_noise_shape_of_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r"one entry per input dimension \(2\). Received: noise_shape=\(1, 1, 1\)"):
        Dropout(0.5, noise_shape=(1, 1, 1))(np.ones((2, 3)), training=True)


def test_rate_and_keep_prob_are_two_names_for_one_probability():
    assert Dropout(rate=0.25).keep_prob == 0.75
    assert Dropout(keep_prob=0.75).rate == 0.25
    x = np.random.default_rng(0).random((8, 16)).astype("float32")
    a = Dropout(rate=0.25, seed=3)(x, training=True)
    b = Dropout(keep_prob=0.75, seed=3)(x, training=True)
    np.testing.assert_array_equal(a, b)


def test_inference_is_the_identity_and_keep_prob_one_never_drops():
    x = np.random.default_rng(1).random((4, 7)).astype("float32")
    np.testing.assert_array_equal(Dropout(0.5)(x), x)
    np.testing.assert_array_equal(Dropout(0.5)(x, training=False), x)
    np.testing.assert_array_equal(Dropout(keep_prob=1.0)(x, training=True), x)


def test_training_output_is_the_course_formula_with_a_bernoulli_mask():
    x = np.random.default_rng(2).random((64, 50)) + 0.5  # no zeros: the mask is readable
    keep_prob = 0.8
    out = Dropout(keep_prob=keep_prob, seed=5, dtype="float64")(x, training=True).numpy()
    mask = (out != 0).astype(np.float64)
    np.testing.assert_allclose(out, reference.dropout_forward(x, mask, keep_prob), rtol=1e-15, atol=0)
    assert 0 < mask.mean() < 1


def test_expectation_is_preserved_and_keep_fraction_is_keep_prob():
    # n Bernoulli(p) draws: the kept fraction has standard deviation
    # sqrt(p(1-p)/n) = 4e-4 for p = 0.8, n = 10**6; mean(out) = fraction / p has
    # 5e-4. Five standard deviations: a correct layer fails with probability < 1e-6.
    n, keep_prob = 10**6, 0.8
    out = Dropout(keep_prob=keep_prob, seed=11)(np.ones((1000, 1000), "float32"), training=True).numpy()
    sigma = np.sqrt(keep_prob * (1 - keep_prob) / n)
    assert abs((out != 0).mean() - keep_prob) < 5 * sigma
    assert abs(out.mean() - 1.0) < 5 * sigma / keep_prob


def test_backward_uses_the_same_mask_scaled_by_one_over_keep_prob():
    layer = Dropout(keep_prob=0.6, seed=7)
    x = tf.constant(np.random.default_rng(3).random((16, 32)) + 0.5, tf.float32)
    v = tf.constant(np.random.default_rng(4).standard_normal((16, 32)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
        loss = tf.reduce_sum(out * v)
    grad = tape.gradient(loss, x).numpy()
    mask = (out.numpy() != 0).astype(np.float32)
    # d out / d in = D / keep_prob, so d loss / d in = v * D / keep_prob.
    np.testing.assert_allclose(grad, v.numpy() * mask / 0.6, rtol=1e-6)


def test_noise_shape_shares_the_mask_along_broadcast_axes():
    x = np.ones((6, 5, 4), "float32")
    out = Dropout(0.5, noise_shape=(None, 1, 4), seed=2)(x, training=True).numpy()
    # One mask per (sample, feature), repeated along axis 1.
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))
    assert set(np.unique(out)) == {0.0, 2.0}


def test_seeded_layers_are_reproducible_and_successive_calls_differ():
    x = np.ones((32, 32), "float32")
    first, second = Dropout(0.5, seed=42), Dropout(0.5, seed=42)
    a1, a2 = first(x, training=True), first(x, training=True)
    b1 = second(x, training=True)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a1, a2)


def test_stateless_call_is_deterministic_given_the_seed_state():
    layer = Dropout(0.5, seed=0)
    layer.build((4, 8))
    state = [v.value for v in layer.non_trainable_variables]
    x = np.ones((4, 8), "float32")
    out1, new_state = layer.stateless_call([], state, x, training=True)
    out2, _ = layer.stateless_call([], state, x, training=True)
    np.testing.assert_array_equal(out1, out2)
    assert not np.array_equal(new_state[0], state[0])  # the seed advanced


def test_mask_is_drawn_in_float32_under_mixed_precision():
    layer = Dropout(keep_prob=0.7, seed=1, dtype="mixed_float16")
    out = layer(np.ones((200, 200), "float32"), training=True)
    assert out.dtype == tf.float16
    values = set(np.unique(out.numpy()))
    assert values == {np.float16(0.0), np.float16(1 / 0.7)}


def test_gradient_check_with_a_fixed_mask():
    x = np.random.default_rng(5).random((6, 9))
    report = assert_gradients_close(Dropout(0.4, seed=3), x, wrt="inputs", training=True, seed=0)
    # The mask really was applied: some gradients are 0, the others 1 / keep_prob times v.
    assert (report.analytic["input"] == 0).any()
