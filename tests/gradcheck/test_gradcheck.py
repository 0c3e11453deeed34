"""kerastools.gradcheck: the difference formula, correct targets pass, wrong gradients fail."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools import gradcheck, regularizers
from tests.gradcheck import reference


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# --------------------------------------------------------------------------- #
# The difference formula and the finite differences themselves
# --------------------------------------------------------------------------- #


def test_relative_difference_matches_hand_computation():
    # ||(0, -0.5)|| / (||(1, 2)|| + ||(1, 2.5)||) = 0.5 / (sqrt(5) + sqrt(7.25))
    expected = 0.5 / (2.23606797749979 + 2.692582403567252)
    assert gradcheck.relative_difference([1.0, 2.0], [1.0, 2.5]) == pytest.approx(expected, rel=1e-15)
    assert expected == pytest.approx(0.1014476502, rel=1e-9)
    assert gradcheck.relative_difference([0.0, 0.0], [0.0, 0.0]) == 0.0
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    assert gradcheck.relative_difference(a, b) == pytest.approx(reference.relative_difference(a, b))


def test_numerical_gradient_of_a_cube():
    x = np.array([1.0, -2.0, 0.5])
    got = gradcheck.numerical_gradient(lambda v: tf.reduce_sum(v**3), x)
    np.testing.assert_allclose(got, 3 * x**2, rtol=1e-8)


def test_numerical_gradient_vectorised_equals_the_course_loop():
    rng = np.random.default_rng(1)
    w, v = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def cost_tf(xs):
        return tf.reduce_sum(tf.tanh(xs[0] @ xs[1][:, None]))

    def cost_np(theta):
        return np.sum(np.tanh(theta[:12].reshape(3, 4) @ theta[12:][:, None]))

    vectorised = gradcheck.numerical_gradient(cost_tf, [w, v])
    loop = gradcheck.numerical_gradient(
        lambda xs: np.sum(np.tanh(xs[0] @ xs[1][:, None])), [w, v], vectorize=False
    )
    independent = reference.gradient_check_loop(cost_np, np.concatenate([w.ravel(), v]))
    np.testing.assert_allclose(np.concatenate([vectorised[0].ravel(), vectorised[1]]), independent, rtol=1e-6)
    np.testing.assert_allclose(loop[0], vectorised[0], rtol=1e-6)
    np.testing.assert_allclose(loop[1], vectorised[1], rtol=1e-6)


def test_numerical_gradient_rejects_untraceable_function_with_a_remedy():
    with pytest.raises(TypeError, match="vectorize=False"):
        gradcheck.numerical_gradient(lambda v: float(np.sum(np.asarray(v) ** 2)), np.ones(3))


def test_numerical_gradient_bad_epsilon():
    with pytest.raises(ValueError, match=r"Argument `epsilon` must be > 0. Received: epsilon=0.0"):
        gradcheck.numerical_gradient(tf.reduce_sum, np.ones(2), epsilon=0.0)


# --------------------------------------------------------------------------- #
# Correct targets pass
# --------------------------------------------------------------------------- #


def _mlp(regularizer=None):
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="tanh", kernel_regularizer=regularizer),
            keras.layers.Dropout(0.5, seed=3),
            keras.layers.Dense(3),
        ]
    )


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_dense_layer_weights_and_inputs(mode):
    layer = keras.layers.Dense(4, activation="sigmoid")
    x = _data((5, 3))
    layer(x)
    report = gradcheck.check_gradients(layer, x, wrt="both", mode=mode, seed=0)
    assert report.passed, report
    assert list(report.per_variable) == [layer.kernel.path, layer.bias.path, "input"]


def test_conv2d_weights_and_inputs():
    layer = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")
    x = _data((2, 5, 5, 2))
    layer(x)
    report = gradcheck.check_gradients(layer, x, wrt="both", seed=0)
    assert report.passed, report
    assert report.shapes[layer.kernel.path] == (3, 3, 2, 3)


def test_batch_normalization_inference_and_training():
    layer = keras.layers.BatchNormalization()
    x = _data((8, 4)) * 3 + 1
    layer(x, training=True)  # moving statistics move away from 0 / 1
    inference = gradcheck.check_gradients(layer, x, wrt="both", seed=0, training=False)
    training = gradcheck.check_gradients(layer, x, wrt="both", seed=0, training=True)
    assert inference.passed, inference
    assert training.passed, training


def test_regularised_model_includes_the_penalty():
    model = _mlp(regularizers.L2(0.5))
    x, y = _data((10, 6)), np.arange(10) % 3
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    report = gradcheck.check_gradients(model, x, y, loss=loss, seed=0)
    assert report.passed, report
    # The analytic gradient must contain the penalty's 2 * l2 * W: without it
    # the kernel gradient differs by exactly that term.
    plain = _mlp()
    plain.set_weights(model.get_weights())
    without = gradcheck.check_gradients(plain, x, y, loss=loss, seed=0)
    kernel = model.layers[0].kernel
    np.testing.assert_allclose(
        report.analytic[kernel.path] - without.analytic[plain.layers[0].kernel.path],
        2 * 0.5 * kernel.numpy(),
        rtol=1e-6,
        atol=1e-9,
    )


def test_plain_function_of_inputs():
    report = gradcheck.check_gradients(lambda x: tf.reduce_sum(tf.sin(x) * x), _data((3, 4)), seed=0)
    assert report.passed, report
    assert list(report.per_variable) == ["input"]


def test_dropout_in_training_uses_one_fixed_mask():
    model = _mlp()
    x = _data((10, 6))
    for mode in ("full", "fast"):
        report = gradcheck.check_gradients(model, x, seed=1, training=True, mode=mode)
        assert report.passed, report


def test_multi_input_model_and_compiled_loss():
    a, b = keras.Input((3,)), keras.Input((3,))
    out = keras.layers.Dense(2)(keras.layers.Multiply()([a, b]))
    model = keras.Model([a, b], out)
    model.compile(loss=keras.losses.MeanSquaredError())
    x = [_data((4, 3), 1), _data((4, 3), 2)]
    report = gradcheck.check_gradients(model, x, _data((4, 2), 3), wrt="both", seed=0)
    assert report.passed, report
    assert {"input[0]", "input[1]"} <= set(report.per_variable)


def test_user_model_is_left_untouched():
    model = _mlp(regularizers.L2(0.1))
    before = [w.copy() for w in model.get_weights()]
    gradcheck.check_gradients(model, _data((4, 6)), seed=0)
    assert all(v.dtype == "float32" for v in model.weights)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


# --------------------------------------------------------------------------- #
# Wrong gradients fail and the faulty variable is named
# --------------------------------------------------------------------------- #


@keras.saving.register_keras_serializable(package="kerastools_tests")
class BrokenDense(keras.layers.Layer):
    """``y = x @ W + b`` with a deliberately wrong backward pass."""

    def __init__(self, units, fault, **kwargs):
        super().__init__(**kwargs)
        self.units, self.fault = units, fault

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="random_normal", name="bias")

    def call(self, x):
        fault = self.fault

        @tf.custom_gradient
        def affine(x, w, b):
            def grad(dy):
                dx, dw, db = dy @ tf.transpose(w), tf.transpose(x) @ dy, tf.reduce_sum(dy, 0)
                if fault == "scaled":
                    dw = 2.0 * dw
                elif fault == "transposed":
                    dw = tf.transpose(dw)
                elif fault == "missing":
                    db = tf.zeros_like(db)
                elif fault == "tiny":
                    dw = dw * (1.0 + 1e-6)
                return dx, dw, db

            return x @ w + b, grad

        # Pass the values as tensors: tf.custom_gradient refuses functions that
        # read variables themselves.
        return affine(x, tf.convert_to_tensor(self.kernel), tf.convert_to_tensor(self.bias))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "fault": self.fault}


def _broken_model(fault):
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="tanh"), BrokenDense(4, fault, name="broken"), keras.layers.Dense(2)]
    )


def test_correct_custom_gradient_passes():
    report = gradcheck.check_gradients(_broken_model("none"), _data((6, 4)), seed=0)
    assert report.passed, report


@pytest.mark.parametrize(
    "fault, faulty",
    [("scaled", ["broken/kernel"]), ("transposed", ["broken/kernel"]), ("missing", ["broken/bias"])],
)
@pytest.mark.parametrize("mode", ["full", "fast"])
def test_wrong_gradients_fail_and_name_the_variable(fault, faulty, mode):
    model = _broken_model(fault)
    report = gradcheck.check_gradients(model, _data((6, 4)), seed=0, mode=mode)
    assert not report.passed
    assert report.status == "fail"
    failing = report.failing_variables()
    assert [name.split("/", 1)[-1] for name in failing] == faulty, report
    assert faulty[0] in str(report)
    with pytest.raises(AssertionError, match=faulty[0]):
        gradcheck.assert_gradients_close(model, _data((6, 4)), seed=0, mode=mode)


def test_a_tiny_error_lands_in_the_warning_band():
    report = gradcheck.check_gradients(_broken_model("tiny"), _data((6, 4)), seed=0)
    assert 1e-7 < report.difference <= 1e-5
    assert report.status == "warning" and not report.passed


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"wrt": "biases"}, ValueError, r"Argument `wrt` must be one of 'weights', 'inputs', 'both'. Received: wrt='biases'"),
        ({"mode": "slow"}, ValueError, r"Argument `mode` must be one of 'full', 'fast'. Received: mode='slow'"),
        ({"epsilon": -1e-7}, ValueError, r"Argument `epsilon` must be > 0. Received: epsilon=-1e-07"),
        ({"num_directions": 0}, ValueError, r"Argument `num_directions` must be an integer >= 1. Received: num_directions=0"),
        ({"jit_compile": "yes"}, ValueError, r"Argument `jit_compile` must be True, False or 'auto'. Received: jit_compile='yes'"),
        ({"loss": "mse"}, ValueError, r"Argument `y` is required when `loss` is given. Received: y=None"),
        ({"dtype": "float16"}, ValueError, r"Argument `dtype` must be one of 'float64', 'float32'. Received: dtype='float16'"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        gradcheck.check_gradients(keras.layers.Dense(2), _data((3, 2)), **kwargs)


def test_call_kwargs_reach_the_call_and_are_validated():
    report = gradcheck.check_gradients(
        lambda x, scale: tf.reduce_sum(tf.sin(x) * scale), _data((2, 3)), call_kwargs={"scale": 3.0}
    )
    assert report.passed
    np.testing.assert_allclose(report.analytic["input"], 3.0 * np.cos(_data((2, 3)).astype("float64")), rtol=1e-12)
    with pytest.raises(TypeError, match=r"Argument `call_kwargs` must be a dict. Received: call_kwargs=\[1\]"):
        gradcheck.check_gradients(keras.layers.Dense(2), _data((3, 2)), call_kwargs=[1])


def test_bad_targets():
    with pytest.raises(TypeError, match="Argument `target` must be a Keras layer, a Keras model or a Python function"):
        gradcheck.check_gradients(42, _data((3, 2)))
    with pytest.raises(ValueError, match="A function target has no weights: use wrt='inputs'. Received: wrt='weights'"):
        gradcheck.check_gradients(tf.reduce_sum, _data((3, 2)), wrt="weights")
    with pytest.raises(ValueError, match="Argument `loss` is required when `y` is given"):
        gradcheck.check_gradients(keras.layers.Dense(2), _data((3, 2)), y=_data((3, 2)))
    with pytest.raises(ValueError, match="has no trainable weights to check"):
        gradcheck.check_gradients(keras.layers.Activation("tanh"), _data((3, 2)), wrt="weights")
