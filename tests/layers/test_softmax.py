"""Softmax: stable for huge logits, any axis, masks, Keras parity, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import Softmax
from tests.layers import reference


@pytest.mark.parametrize(
    "axis, error, match",
    [
        ("last", TypeError, r"Argument `axis` must be an integer or a non-empty tuple of integers. Received: axis='last'"),
        ((), TypeError, r"Received: axis=\(\)"),
        ((1, 1), ValueError, r"Argument `axis` must not repeat an axis. Received: axis=\(1, 1\)"),
    ],
)
def test_bad_axis_raises_clear_errors(axis, error, match):
    with pytest.raises(error, match=match):
        Softmax(axis=axis)


def test_axis_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"Argument `axis` must name distinct axes of the 2-D input. Received: axis=2"):
        Softmax(axis=2)(np.ones((2, 3), "float32"))


@pytest.mark.parametrize("axis", [-1, 0, 1, (1, 2), (0, 2)])
def test_matches_the_reference_on_any_axis(axis):
    z = np.random.default_rng(0).standard_normal((3, 4, 5)) * 3
    got = Softmax(axis=axis, dtype="float64")(z).numpy()
    np.testing.assert_allclose(got, reference.softmax(z, axis=axis), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-13)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("axis", [-1, (0, 1)])
def test_huge_logits_give_no_nan_or_inf(dtype, axis):
    big = 6e4 if dtype == "float16" else 1e4  # float16 tops out at 65504
    z = np.array([[big, -big, 0.0], [-big, -big, -big], [big, big, 1.0]], dtype)
    layer = Softmax(axis=axis, dtype=dtype)
    x = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * tf.constant(np.arange(9.0).reshape(3, 3), dtype))
    grad = tape.gradient(loss, x)
    assert np.isfinite(y.numpy()).all() and np.isfinite(grad.numpy()).all()
    np.testing.assert_allclose(y.numpy().astype(np.float64), reference.softmax(z.astype(np.float64), axis=axis), atol=1e-3)


def test_course_formula_without_the_shift_overflows_where_this_does_not():
    z = np.array([1000.0, 1001.0, 1002.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.sum(np.exp(z))
    assert np.isnan(naive).all()
    np.testing.assert_allclose(Softmax(dtype="float64")(z[None]).numpy()[0], reference.softmax(z), rtol=1e-14)


@pytest.mark.parametrize("mask_dtype", [bool, np.float32, np.int32])
def test_masked_positions_get_zero_and_the_rest_renormalise(mask_dtype):
    z = np.random.default_rng(1).standard_normal((4, 6)) * 2
    mask = np.random.default_rng(2).random((4, 6)) > 0.4
    mask[0] = False  # a fully masked row
    mask[1, 0] = True
    got = Softmax(dtype="float64")(z, mask=mask.astype(mask_dtype)).numpy()
    np.testing.assert_allclose(got, reference.softmax(z, mask=mask), rtol=1e-13, atol=1e-15)
    assert (got[~mask] == 0).all()
    np.testing.assert_array_equal(got[0], 0.0)
    np.testing.assert_allclose(got[1:].sum(axis=-1), 1.0, rtol=1e-13)


def test_masked_huge_logit_does_not_underflow_the_kept_ones():
    z = np.array([[1e4, 1.0, 2.0]])
    got = Softmax(dtype="float64")(z, mask=np.array([[False, True, True]])).numpy()
    np.testing.assert_allclose(got, [[0.0, 1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-14)


def test_mask_broadcasts_like_keras():
    z = np.random.default_rng(3).standard_normal((2, 3, 4)).astype("float32")
    mask = np.array([True, False, True, True])  # broadcast over the leading axes
    ours = Softmax()(z, mask=mask)
    theirs = keras.layers.Softmax()(z, mask=mask)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_parity_with_keras_softmax(axis):
    z = np.random.default_rng(4).standard_normal((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(Softmax(axis=axis)(z), keras.layers.Softmax(axis=axis)(z), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("axis", [-1, (0, 1)])
def test_gradient_check(axis):
    z = np.random.default_rng(5).standard_normal((3, 5))
    assert_gradients_close(Softmax(axis=axis), z, wrt="inputs", seed=1)


def test_gradient_check_with_a_mask():
    z = np.random.default_rng(6).standard_normal((3, 5))
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    report = assert_gradients_close(Softmax(), z, wrt="inputs", seed=2, call_kwargs={"mask": mask})
    # No gradient reaches masked logits.
    assert (report.analytic["input"][~mask] == 0).all()
