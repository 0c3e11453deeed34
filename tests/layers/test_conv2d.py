"""Conv2D: output sizes, padding P and stride S, native vs im2col, Keras parity, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools import initializers, regularizers
from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import Conv2D
from kerastools.layers._im2col import col2im, im2col
from tests.layers import reference

IMPLEMENTATIONS = ["native", "im2col"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"filters": 0}, ValueError, r"Argument `filters` must be an integer >= 1. Received: filters=0"),
        ({"kernel_size": (3, 3, 3)}, TypeError, r"Argument `kernel_size` must be an integer or a tuple of 2"),
        ({"kernel_size": 0}, ValueError, r"Argument `kernel_size` must hold integers >= 1. Received: kernel_size=0"),
        ({"strides": 0}, ValueError, r"Argument `strides` must hold integers >= 1. Received: strides=0"),
        ({"strides": (1, -2)}, ValueError, r"Received: strides=\(1, -2\)"),
        ({"strides": 1.5}, TypeError, r"Argument `strides` must be an integer or a tuple of 2 integers"),
        ({"padding": "full"}, ValueError, r"Argument `padding` must be 'valid', 'same', .* Received: padding='full'"),
        ({"padding": -1}, ValueError, r"Received: padding=-1"),
        ({"padding": (1, 2, 3)}, TypeError, r"Received: padding=\(1, 2, 3\)"),
        ({"implementation": "fft"}, ValueError, r"Argument `implementation` must be one of 'native', 'im2col'. Received: implementation='fft'"),
        ({"data_format": "NHWC"}, ValueError, r"Argument `data_format` must be one of 'channels_last', 'channels_first'"),
        ({"strides": 2, "dilation_rate": 2}, ValueError, r"`strides` > 1 and `dilation_rate` > 1 cannot be combined"),
        ({"use_bias": 1}, TypeError, r"Argument `use_bias` must be a bool"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    arguments = {"filters": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(error, match=match):
        Conv2D(**arguments)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_kernel_larger_than_the_input_with_valid_padding_is_refused(implementation):
    layer = Conv2D(2, 5, implementation=implementation)
    with pytest.raises(ValueError, match=r"kernel_size=\(5, 5\) does not fit in the input .* input_shape=\(None, 4, 6, 1\)"):
        layer.build((None, 4, 6, 1))
    # The same kernel fits once padded: (4 + 2 * 1 - 5) // 1 + 1 = 2.
    assert Conv2D(2, 5, padding=1, implementation=implementation)(np.zeros((1, 4, 6, 1))).shape == (1, 2, 4, 2)


def test_inputs_must_be_4d_and_im2col_needs_a_static_size():
    with pytest.raises(ValueError, match=r"expects 4-D inputs .* Received: input_shape=\(2, 5, 5\)"):
        Conv2D(2, 3).build((2, 5, 5))
    with pytest.raises(ValueError, match=r"implementation='im2col' needs a known input height and width"):
        Conv2D(2, 3, implementation="im2col").build((None, None, 8, 1))


# (H, W, FH, FW, S, P) -> OH = (H + 2P - FH) // S + 1, odd sizes and non-dividing strides included.
SIZE_CASES = [
    (5, 5, 3, 3, 1, 0), (7, 7, 3, 3, 2, 0), (7, 9, 3, 5, 2, 1), (8, 8, 3, 3, 1, 1),
    (9, 6, 2, 2, 3, 0), (11, 13, 5, 3, 3, 2), (4, 4, 4, 4, 1, 0), (6, 5, 1, 1, 2, 0),
    (5, 8, 3, 2, 2, 1), (10, 10, 7, 7, 4, 3),
]


@pytest.mark.parametrize("h, w, fh, fw, s, p", SIZE_CASES)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_output_size_is_the_course_formula(h, w, fh, fw, s, p, implementation):
    layer = Conv2D(3, (fh, fw), strides=s, padding=p, implementation=implementation)
    expected = (2, (h + 2 * p - fh) // s + 1, (w + 2 * p - fw) // s + 1, 3)
    assert layer(np.zeros((2, h, w, 2), "float32")).shape == expected
    assert layer.compute_output_shape((2, h, w, 2)) == expected


def _layer64(implementation, seed=0, **kwargs):
    kwargs.setdefault("kernel_initializer", initializers.GlorotUniform(seed=seed))
    kwargs.setdefault("bias_initializer", keras.initializers.RandomNormal(seed=seed + 1))
    return Conv2D(dtype="float64", implementation=implementation, **kwargs)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "kernel_size, strides, padding",
    # (3, 1, 1) equals "same" padding and runs as such; (3, 2, 1) does in height only.
    [(3, 1, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (2, 1), ((0, 1), (2, 1))), (3, 1, "same"), (4, 3, "same")],
)
def test_forward_and_backward_match_the_definition(implementation, kernel_size, strides, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6, 3))
    layer = _layer64(implementation, filters=4, kernel_size=kernel_size, strides=strides, padding=padding)
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y = layer(x_t)
    dy = rng.standard_normal(y.shape)
    dx, dk, db = tape.gradient(y, [x_t, layer.kernel, layer.bias], output_gradients=tf.constant(dy))

    fh, fw = layer.kernel_size
    if padding == "same":
        pads = tuple(reference.same_pads(n, f, s) for n, f, s in zip((7, 6), (fh, fw), layer.strides))
    else:
        pads = layer.padding
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    np.testing.assert_allclose(y, reference.conv2d_direct(x, kernel, bias, layer.strides, pads), rtol=1e-12, atol=1e-12)
    dx_ref, dk_ref, db_ref = reference.conv2d_direct_backward(x, kernel, dy, layer.strides, pads)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dk, dk_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, db_ref, rtol=1e-12)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_dilation_matches_the_definition(implementation):
    x = np.random.default_rng(1).standard_normal((2, 9, 8, 2))
    layer = _layer64(implementation, filters=3, kernel_size=3, dilation_rate=(2, 3), padding="same")
    pads = (reference.same_pads(9, 5, 1), reference.same_pads(8, 7, 1))  # effective 5 x 7 windows
    y = layer(x).numpy()
    expected = reference.conv2d_direct(x, layer.kernel.numpy(), layer.bias.numpy(), (1, 1), pads, (2, 3))
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3},
        {"kernel_size": 3, "strides": 2, "padding": "same"},
        {"kernel_size": (2, 4), "strides": (1, 3), "padding": "valid", "activation": "relu"},
        {"kernel_size": 3, "padding": "same", "dilation_rate": 2, "use_bias": False},
        {"kernel_size": 3, "padding": "same", "data_format": "channels_first"},
    ],
)
def test_parity_with_keras_conv2d(implementation, kwargs):
    rng = np.random.default_rng(2)
    channels_first = kwargs.get("data_format") == "channels_first"
    x = rng.standard_normal((2, 3, 9, 8) if channels_first else (2, 9, 8, 3)).astype("float32")
    ours = Conv2D(5, implementation=implementation, **kwargs)
    theirs = keras.layers.Conv2D(5, **kwargs)
    ours.build(x.shape)
    theirs.build(x.shape)
    for a, b in zip(ours.weights, theirs.weights):
        value = rng.standard_normal(a.shape).astype("float32")
        a.assign(value)
        b.assign(value)
    if channels_first:
        # TensorFlow has no NCHW convolution on CPU: compare with Keras on NHWC data.
        theirs = keras.layers.Conv2D(5, **{**kwargs, "data_format": "channels_last"})
        theirs.build((2, 9, 8, 3))
        theirs.set_weights(ours.get_weights())
        expected = np.transpose(theirs(np.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))
    else:
        expected = theirs(x)
    np.testing.assert_allclose(ours(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "padding": 1},
        {"kernel_size": (3, 2), "strides": 2, "padding": ((1, 0), (0, 1))},
        {"kernel_size": 2, "dilation_rate": 2, "padding": "same"},
        {"kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
    ],
)
def test_gradient_check_weights_and_inputs(implementation, kwargs):
    channels_first = kwargs.get("data_format") == "channels_first"
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 4) if channels_first else (2, 5, 4, 2))
    layer = Conv2D(3, activation="tanh", implementation=implementation,
                   kernel_regularizer=regularizers.L2(0.1), **kwargs)
    layer(x.astype("float32"))
    report = assert_gradients_close(layer, x, wrt="both", seed=4)
    assert set(report.per_variable) == {layer.kernel.path, layer.bias.path, "input"}


def test_im2col_and_col2im_are_adjoint():
    """<im2col(x), c> == <x, col2im(c)> for every x, c: col2im sums overlaps exactly."""
    rng = np.random.default_rng(5)
    for kernel, strides, dilation, pads in [((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),
                                            ((3, 2), (2, 3), (1, 1), ((0, 2), (1, 0))),
                                            ((2, 2), (1, 1), (2, 2), ((1, 1), (0, 0)))]:
        x = tf.constant(rng.standard_normal((2, 7, 8, 3)))
        col = im2col(x, kernel, strides, dilation, pads)
        c = tf.constant(rng.standard_normal(col.shape))
        back = col2im(c, tuple(x.shape), kernel, strides, dilation, pads)
        assert back.shape == x.shape
        np.testing.assert_allclose(tf.reduce_sum(col * c), tf.reduce_sum(x * back), rtol=1e-12)


def test_im2col_matches_the_course_layout():
    """Row (n, i, j) of the course's im2col holds the (FH, FW, C) window at output (i, j)."""
    x = np.arange(2 * 5 * 5 * 2, dtype=np.float64).reshape(2, 5, 5, 2)
    col = im2col(tf.constant(x), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1))).numpy()
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    assert col.shape == (2, 3, 3, 18)
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(col[:, i, j], xp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :].reshape(2, -1))


def test_default_initializer_is_glorot_uniform_like_keras():
    layer = Conv2D(8, 3)
    assert isinstance(layer.kernel_initializer, initializers.GlorotUniform)
    layer.build((None, 8, 8, 4))
    limit = np.sqrt(6.0 / (9 * 4 + 9 * 8))
    kernel = layer.kernel.numpy()
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_mixed_precision_computes_in_float16_with_float32_weights(implementation):
    layer = Conv2D(4, 3, padding="same", implementation=implementation, dtype="mixed_float16")
    x = np.random.default_rng(6).standard_normal((2, 6, 6, 3)).astype("float32")
    y = layer(x)
    assert y.dtype == tf.float16
    assert layer.kernel.dtype == "float32"
    reference_layer = Conv2D(4, 3, padding="same")
    reference_layer.build(x.shape)
    reference_layer.set_weights(layer.get_weights())
    np.testing.assert_allclose(y.numpy().astype("float32"), reference_layer(x), atol=2e-2)
