"""MaxPooling2D and AveragePooling2D: output sizes, padding, Keras parity, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import AveragePooling2D, MaxPooling2D
from tests.layers import reference

POOLS = {"max": (MaxPooling2D, keras.layers.MaxPooling2D), "average": (AveragePooling2D, keras.layers.AveragePooling2D)}


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"pool_size": 0}, ValueError, r"Argument `pool_size` must hold integers >= 1. Received: pool_size=0"),
        ({"strides": (2, 0)}, ValueError, r"Argument `strides` must hold integers >= 1. Received: strides=\(2, 0\)"),
        ({"strides": -1}, ValueError, r"Received: strides=-1"),
        ({"padding": "causal"}, ValueError, r"Argument `padding` must be 'valid', 'same', .* Received: padding='causal'"),
        ({"pool_size": 2, "padding": 2}, ValueError, r"at most half of `pool_size` .* Received: padding=2, pool_size=\(2, 2\)"),
        ({"pool_size": "2"}, TypeError, r"Argument `pool_size` must be an integer or a tuple of 2 integers"),
    ],
)
def test_bad_arguments_raise_clear_errors(mode, kwargs, error, match):
    with pytest.raises(error, match=match):
        POOLS[mode][0](**kwargs)


@pytest.mark.parametrize("mode", POOLS)
def test_window_larger_than_the_input_with_valid_padding_is_refused(mode):
    # The layer is built at construction (no weights), so the check runs on use:
    # symbolically (functional model) and eagerly.
    with pytest.raises(ValueError, match=r"pool_size=\(3, 3\) does not fit in the input .* input_shape=\(None, 2, 5, 1\)"):
        POOLS[mode][0](3)(keras.Input((2, 5, 1)))
    with pytest.raises(ValueError, match=r"pool_size=\(3, 3\) does not fit in the input .* input_shape=\(1, 2, 5, 1\)"):
        POOLS[mode][0](3)(np.ones((1, 2, 5, 1), "float32"))


# (H, W, pool, stride, P): OH = (H + 2P - pool) // S + 1.
SIZE_CASES = [(4, 4, 2, 2, 0), (5, 5, 2, 2, 0), (7, 5, 3, 2, 1), (6, 9, 3, 1, 1), (9, 9, 3, 3, 0), (5, 7, 2, 1, 1)]


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize("h, w, pool, stride, p", SIZE_CASES)
def test_output_size_is_the_course_formula(mode, h, w, pool, stride, p):
    layer = POOLS[mode][0](pool, strides=stride, padding=p)
    expected = (2, (h + 2 * p - pool) // stride + 1, (w + 2 * p - pool) // stride + 1, 3)
    assert layer(np.zeros((2, h, w, 3), "float32")).shape == expected
    assert layer.compute_output_shape((2, h, w, 3)) == expected


def test_strides_default_to_the_pool_size():
    assert MaxPooling2D((3, 2)).strides == (3, 2)
    assert AveragePooling2D(3, strides=1).strides == (1, 1)


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"pool_size": 2},
        {"pool_size": 3, "strides": 2, "padding": "same"},
        {"pool_size": (2, 3), "strides": (1, 2)},
        {"pool_size": 3, "strides": 1, "padding": "same"},
        {"pool_size": 2, "padding": "same", "data_format": "channels_first"},
    ],
)
def test_parity_with_keras(mode, kwargs):
    ours, theirs = POOLS[mode]
    channels_first = kwargs.get("data_format") == "channels_first"
    x = np.random.default_rng(0).standard_normal((2, 7, 9, 3)).astype("float32")
    if channels_first:
        x_cf = np.transpose(x, (0, 3, 1, 2))
        got = np.transpose(ours(**kwargs)(x_cf), (0, 2, 3, 1))
        expected = theirs(**{**kwargs, "data_format": "channels_last"})(x)
    else:
        got, expected = ours(**kwargs)(x), theirs(**kwargs)(x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize(
    "pool, stride, padding",
    [(2, 2, 1), (3, 2, ((1, 0), (0, 1))), ((3, 2), (1, 2), ((1, 1), (1, 0))), (3, 3, 0)],
)
def test_explicit_padding_matches_the_definition(mode, pool, stride, padding):
    x = -np.abs(np.random.default_rng(1).standard_normal((2, 6, 7, 2)))  # negatives: padding must not win
    layer = POOLS[mode][0](pool, strides=stride, padding=padding, dtype="float64")
    expected = reference.pool2d_direct(x, layer.pool_size, layer.strides, layer.padding, mode)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", POOLS)
def test_explicit_padding_equal_to_same_padding_gives_the_same_result(mode):
    x = np.random.default_rng(2).standard_normal((1, 8, 7, 2)).astype("float32")
    pads = (reference.same_pads(8, 3, 2), reference.same_pads(7, 3, 2))  # ((0, 1), (1, 1))
    cls = POOLS[mode][0]
    np.testing.assert_allclose(cls(3, 2, padding=pads)(x), cls(3, 2, padding="same")(x), rtol=1e-6)


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize("kwargs", [{}, {"pool_size": 3, "strides": 2, "padding": 1}, {"pool_size": 2, "strides": 1, "padding": "same"}])
def test_gradient_check(mode, kwargs):
    # A permutation of distinct values: no ties, so max pooling is differentiable.
    x = np.random.default_rng(3).permutation(2 * 5 * 5 * 2).reshape(2, 5, 5, 2) / 10.0
    assert_gradients_close(POOLS[mode][0](**kwargs), x, wrt="inputs", seed=0)


def test_max_pooling_routes_the_gradient_to_the_maximum_only():
    x = tf.constant(np.array([[1.0, 5.0], [3.0, 2.0]]).reshape(1, 2, 2, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = MaxPooling2D(2, dtype="float64")(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy().reshape(2, 2), [[0.0, 1.0], [0.0, 0.0]])
