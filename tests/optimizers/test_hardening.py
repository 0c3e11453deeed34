"""Inputs an optimizer must refuse before it writes anything: non-floating
variables (on every path into the update), and the argument name `Momentum`
does not have."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import kerastools as kt
from tests.optimizers import cases as C

# Every non-floating dtype a Keras variable can hold on the TensorFlow backend.
NON_FLOATING = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"]


def _values(dtype, size=3):
    return np.arange(1, size + 1).astype(dtype) if dtype != "bool" else np.array([True, False, True])


def _snapshot(optimizer, variables):
    """The user's variables and every optimizer variable (step counter, slots)."""
    return [v.numpy().copy() for v in variables] + [np.asarray(v.numpy()).copy() for v in optimizer.variables]


def _assert_unchanged(before, after):
    assert len(before) == len(after)
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a)


def _message(variable, dtype):
    return rf"Optimizers update floating-point variables only; variable {re.escape(repr(variable.path))} has dtype {dtype}\."


def _prepare(path, optimizer, variables):
    """What happens before the update: an explicit `build` on two of the paths
    (Keras builds in `apply` otherwise; building creates slots, it writes nothing)."""
    if path in ("built_then_grads_only", "tf_function"):
        optimizer.build(variables)


def _apply(path, optimizer, grads, variables):
    if path == "apply":
        optimizer.apply(grads, variables)
    elif path == "apply_gradients":
        optimizer.apply_gradients(zip(grads, variables))
    elif path == "built_then_grads_only":
        optimizer.apply(grads)
    elif path == "tf_function":
        tf.function(lambda: optimizer.apply(grads, variables))()
    elif path == "apply_generator":
        optimizer.apply(grads, (v for v in variables))
    else:
        raise AssertionError(path)


PATHS = ["apply", "apply_gradients", "built_then_grads_only", "tf_function", "apply_generator"]


def test_variables_given_as_a_generator_are_still_updated():
    """The check reads the variables before Keras does: a one-shot iterable must
    survive it."""
    w = keras.Variable(np.ones(2, "float32"))
    kt.SGD(learning_rate=0.5).apply([tf.ones(2)], (v for v in [w]))
    np.testing.assert_array_equal(w.numpy(), [0.5, 0.5])


def test_every_optimizer_refuses_every_non_floating_dtype_on_every_path_before_writing():
    """All cases x fused/portable x non-floating dtypes, each through one of the
    apply paths in turn (every path meets every case): a TypeError naming the
    variable, and no variable, slot or step counter written.

    (Before the fix, fused Adam/AdamW/RMSprop wrote -2147483647 into an int32
    variable and the others silently left it unchanged.)"""
    checked = 0
    for case in C.CASES:
        for fused in (None, False):
            for k, dtype in enumerate(NON_FLOATING):
                for path in [PATHS[k % len(PATHS)]]:
                    optimizer = case.make(fused=fused)
                    variable = keras.Variable(_values(dtype), name="counts")
                    grads = [tf.ones((3,), "float32")]
                    _prepare(path, optimizer, [variable])
                    before = _snapshot(optimizer, [variable])
                    with pytest.raises(TypeError, match=_message(variable, dtype)):
                        _apply(path, optimizer, grads, [variable])
                    _assert_unchanged(before, _snapshot(optimizer, [variable]))
                    assert int(optimizer.iterations.numpy()) == 0
                    checked += 1
    assert checked == len(C.CASES) * 2 * len(NON_FLOATING)


@given(
    case=st.sampled_from(C.CASES),
    fused=st.sampled_from([None, False]),
    dtype=st.sampled_from(NON_FLOATING),
    path=st.sampled_from(PATHS),
    floats_before=st.integers(0, 3),
    floats_after=st.integers(0, 3),
)
def test_a_non_floating_variable_among_float_ones_stops_everything(case, fused, dtype, path, floats_before, floats_after):
    """Wherever the offending variable sits in the list, nothing at all is written:
    not the float variables before it either."""
    optimizer = case.make(fused=fused)
    bad = keras.Variable(_values(dtype), name="bad")
    variables = (
        [keras.Variable(np.full(3, i + 1.0, "float32"), name=f"w{i}") for i in range(floats_before)]
        + [bad]
        + [keras.Variable(np.full(3, -i - 1.0, "float32"), name=f"v{i}") for i in range(floats_after)]
    )
    grads = [tf.ones((3,), "float32") for _ in variables]
    _prepare(path, optimizer, variables)
    before = _snapshot(optimizer, variables)
    with pytest.raises(TypeError, match=_message(bad, dtype)):
        _apply(path, optimizer, grads, variables)
    _assert_unchanged(before, _snapshot(optimizer, variables))


class CustomStep(keras.Model):
    """A model whose `train_step` hands the optimizer a gradient for an integer
    variable, as a hand-written training step could."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.counter = self.add_weight(shape=(), dtype="int32", initializer="zeros", name="counter")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = keras.ops.mean((self(x) - y) ** 2)
        grads = tape.gradient(loss, self.dense.trainable_variables)
        self.optimizer.apply([*grads, tf.ones((), "float32")], [*self.dense.trainable_variables, self.counter])
        return {"loss": loss}


@pytest.mark.parametrize("case", C.ONE_PER_CLASS, ids=C.ids(C.ONE_PER_CLASS))
def test_fit_refuses_a_gradient_for_an_integer_variable(case):
    model = CustomStep()
    model.compile(optimizer=case.make())
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    model(x)
    before = [v.numpy().copy() for v in model.weights]
    with pytest.raises(TypeError, match=_message(model.counter, "int32")):
        model.fit(x, y, epochs=1, verbose=0)
    for b, v in zip(before, model.weights):
        np.testing.assert_array_equal(b, v.numpy())


@pytest.mark.filterwarnings("ignore:Gradients do not exist")
@pytest.mark.parametrize("case", C.ONE_PER_CLASS, ids=C.ids(C.ONE_PER_CLASS))
def test_fit_skips_an_integer_variable_without_gradient_as_keras_does(case):
    """Autodiff gives an integer variable no gradient; Keras then skips it and
    trains the others, and so do these optimizers (the variable is not touched)."""

    class WithCounter(keras.layers.Layer):
        def build(self, shape):
            self.kernel = self.add_weight(shape=(shape[-1], 1), name="kernel")
            self.count = self.add_weight(shape=(), dtype="int32", initializer="ones", name="count")

        def call(self, x):
            return x @ self.kernel

    model = keras.Sequential([keras.Input((2,)), WithCounter()])
    model.compile(optimizer=case.make(), loss="mse")
    kernel = model.layers[0].kernel.numpy().copy()
    model.fit(np.ones((4, 2), "float32"), np.full((4, 1), 5.0, "float32"), epochs=1, verbose=0)
    assert int(model.layers[0].count.numpy()) == 1
    assert not np.array_equal(kernel, model.layers[0].kernel.numpy())


@pytest.mark.parametrize("cls", [kt.SGD, kt.Momentum, kt.Adagrad, kt.RMSprop, kt.Adam, kt.AdamW])
def test_ema_refuses_non_floating_variables_when_built(cls):
    """The moving average is written into every variable, gradient or not."""
    optimizer = cls(use_ema=True)
    variable = keras.Variable(np.arange(3, dtype="int32"), name="steps")
    with pytest.raises(TypeError, match=_message(variable, "int32")):
        optimizer.build([keras.Variable(np.ones(3, "float32")), variable])


@pytest.mark.parametrize("value", [0.9, 0.0, "0.9"])
def test_momentum_names_beta_when_given_momentum(value):
    with pytest.raises(
        ValueError,
        match=(
            r"`Momentum` has no argument `momentum`: its averaging coefficient is `beta` "
            r"\(v = beta \* v \+ \(1 - beta\) \* g\), e\.g\. `Momentum\(beta=0\.9\)`; for Keras's form "
            r"v = momentum \* v - learning_rate \* g use `SGD\(momentum=\.\.\.\)`\. "
            rf"Received: momentum={re.escape(repr(value))}"
        ),
    ):
        kt.Momentum(learning_rate=0.1, momentum=value)
    # Keras's base arguments still reach Keras.
    assert kt.Momentum(beta=0.5, clipnorm=1.0).clipnorm == 1.0


@pytest.mark.parametrize("value", [float("inf"), float("nan"), float("-inf"), np.float32("inf"), -0.1])
@pytest.mark.parametrize("cls", [kt.SGD, kt.Momentum, kt.Adagrad, kt.RMSprop, kt.Adam, kt.AdamW])
def test_a_learning_rate_set_later_is_checked_as_in_the_constructor(cls, value):
    """`LearningRateScheduler` and users set `optimizer.learning_rate`; a
    non-finite or negative number there is refused like in the constructor."""
    optimizer = cls(learning_rate=0.25)
    expected = "finite and >= 0" if not np.isfinite(value) else ">= 0"
    with pytest.raises(ValueError, match=rf"Argument `learning_rate` must be {expected}\. Received: learning_rate="):
        optimizer.learning_rate = value
    assert float(optimizer.learning_rate) == 0.25
    optimizer.learning_rate = 0.5
    assert float(optimizer.learning_rate) == 0.5


def test_a_scheduler_callback_returning_infinity_stops_fit_before_the_step():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=kt.Adam(0.1), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: float("inf"))
    with pytest.raises(ValueError, match=r"Argument `learning_rate` must be finite and >= 0\. Received: learning_rate=inf"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[scheduler])
    for b, w in zip(before, model.get_weights()):
        np.testing.assert_array_equal(b, w)
