"""kerastools.gradcheck on hostile targets: non-finite differences are failures
listed by variable, and the report always names the user's own variables."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from kerastools import gradcheck
from kerastools.gradcheck import GradientCheckReport, relative_difference

NON_FINITE = [float("nan"), float("inf"), float("-inf")]


# --------------------------------------------------------------------------- #
# Non-finite values are failures, by variable
# --------------------------------------------------------------------------- #


@st.composite
def reports(draw):
    """A report over 1-5 variables with close numerical/analytic values, some of
    them (possibly none) spoilt by NaN or infinities in either array."""
    count = draw(st.integers(1, 5))
    names = [f"model/layer_{i}/kernel" for i in range(count)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spoilt = draw(st.sets(st.sampled_from(names)))
    numerical, analytic, shapes = {}, {}, {}
    for name in names:
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        exact = rng.standard_normal(shape)
        numerical[name] = exact * (1 + 1e-9 * rng.standard_normal(shape))
        analytic[name] = exact.copy()
        shapes[name] = shape
        if name in spoilt:
            for _ in range(draw(st.integers(1, 3))):
                target = draw(st.sampled_from([numerical, analytic]))[name]
                target[tuple(int(rng.integers(0, s)) for s in shape)] = draw(st.sampled_from(NON_FINITE))
    flat_n = np.concatenate([numerical[n].ravel() for n in names])
    flat_a = np.concatenate([analytic[n].ravel() for n in names])
    report = GradientCheckReport(
        difference=relative_difference(flat_n, flat_a),
        per_variable={n: relative_difference(numerical[n], analytic[n]) for n in names},
        numerical=numerical,
        analytic=analytic,
        shapes=shapes,
        mode="full",
        epsilon=1e-7,
    )
    return report, spoilt


@given(reports())
def test_non_finite_values_fail_their_variable_and_the_report_says_so(drawn):
    report, spoilt = drawn
    assert set(report.non_finite) == spoilt
    assert spoilt <= set(report.failing_variables())
    assert spoilt <= set(report.failing_variables(threshold=1e300))  # whatever the threshold
    text = str(report)
    if spoilt:
        assert np.isnan(report.difference)
        assert report.status == "fail" and not report.passed
        assert report.worst_variable in spoilt
        assert "non-finite values (NaN/inf) in: " in text.splitlines()[0]
        for name in spoilt:
            n, a = report.non_finite[name]
            assert n + a >= 1
            assert f"{name} ({n} numerical, {a} analytic)" in text.splitlines()[0]
            row = next(line for line in text.splitlines()[2:] if line.startswith(name + " "))
            assert row.endswith("fail (non-finite)")
    else:
        assert report.passed and report.failing_variables() == [] and "non-finite" not in text


def test_relative_difference_of_huge_finite_values_is_finite():
    # norms of 1e200 overflow float64; the ratio is scale-invariant.
    assert relative_difference([1e200, 1e200], [1e200, 1e200]) == 0.0
    assert relative_difference([1e200, 0.0], [0.0, 0.0]) == pytest.approx(1.0, rel=1e-15)
    assert np.isnan(relative_difference([1.0, np.inf], [1.0, np.inf]))


class _Roots(keras.layers.Layer):
    """``sum(sqrt(a) * x) + x @ b + c``: with an entry of `a` at 0, its finite
    difference is NaN (sqrt(-eps)) and its analytic gradient infinite; `b` and
    `c` stay finite."""

    def build(self, shape):
        self.a = self.add_weight(shape=(shape[-1],), initializer="ones", name="a")
        self.b = self.add_weight(shape=(shape[-1], 2), name="b")
        self.c = self.add_weight(shape=(2,), initializer="ones", name="c")

    def call(self, x):
        return keras.ops.sum(keras.ops.sqrt(self.a) * x, axis=-1, keepdims=True) + x @ self.b + self.c


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_nan_difference_fails_its_variable_and_assert_names_it(mode):
    model = keras.Sequential([keras.Input((3,)), _Roots(name="roots")])
    model.layers[0].a.assign([1.0, 0.0, 4.0])
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    report = gradcheck.check_gradients(model, x, seed=0, mode=mode)
    a, b, c = (v.path for v in model.trainable_variables)
    assert report.status == "fail" and np.isnan(report.difference)
    assert report.failing_variables() == [a]
    assert set(report.non_finite) == {a}
    assert report.worst_variable == a
    assert report.per_variable[b] <= 1e-7 and report.per_variable[c] <= 1e-7  # the others still check out
    with pytest.raises(
        AssertionError,
        match=rf"^Gradient check failed: non-finite values \(NaN/inf\) in {a}; suspect variables: {a}\n",
    ):
        gradcheck.assert_gradients_close(model, x, seed=0, mode=mode)


# --------------------------------------------------------------------------- #
# The report names the user's own variables
# --------------------------------------------------------------------------- #


class _NoConfig(keras.layers.Layer):
    """A custom layer without `get_config` (Keras's automatic config is used)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1], self.units), name="kernel")

    def call(self, x):
        return keras.ops.tanh(x @ self.kernel)


class _WithConfig(_NoConfig):
    def __init__(self, units, **kwargs):
        keras.layers.Layer.__init__(self, **kwargs)
        self.units = units

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _target(kind, layer_cls, name):
    custom = layer_cls(2, name=name)
    if kind == "layer":
        return custom
    if kind == "sequential":
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="first"), custom])
    if kind == "sequential_without_input":
        return keras.Sequential([keras.layers.Dense(3, name="first"), custom])
    inputs = keras.Input((3,))
    return keras.Model(inputs, custom(keras.layers.Dense(3, name="first")(inputs)))


@given(
    kind=st.sampled_from(["layer", "sequential", "sequential_without_input", "functional"]),
    layer_cls=st.sampled_from([_NoConfig, _WithConfig]),
    built=st.booleans(),
    dtype=st.sampled_from(["float64", "float32", None]),
    mode=st.sampled_from(["full", "fast"]),
    name=st.sampled_from(["mine", "custom_1", "a"]),
)
def test_the_report_names_the_users_own_variables_on_every_call(kind, layer_cls, built, dtype, mode, name):
    """Before the fix, a custom layer without `get_config` was reported under the
    float64 copy's names (``sequential/a/kernel``, a suffix growing with each call)."""
    target = _target(kind, layer_cls, name)
    x = np.random.default_rng(1).standard_normal((4, 3)).astype("float32")
    if built:
        target(x)
    for _ in range(2):
        report = gradcheck.check_gradients(target, x, seed=0, dtype=dtype, mode=mode)
        # float32 (dtype=None/"float32") cannot reach 1e-7; the names are the point here.
        assert list(report.per_variable) == [v.path for v in target.trainable_variables]
        assert all(v.dtype == "float32" for v in target.weights)


def test_an_unbuilt_target_is_built_on_x_and_its_values_are_kept():
    """An unbuilt target is built on `x` (as its first call would), so the report
    names its variables; later checks leave its values as they are."""
    model = keras.Sequential([keras.layers.Dense(2, name="d")])
    x = np.ones((3, 4), "float32")
    report = gradcheck.check_gradients(model, x, seed=0)
    assert model.built and list(report.per_variable) == [v.path for v in model.trainable_variables]
    assert re.fullmatch(r"sequential(_\d+)?/d/kernel", list(report.per_variable)[0])
    before = [w.copy() for w in model.get_weights()]
    again = gradcheck.check_gradients(model, x, seed=0)
    assert list(again.per_variable) == list(report.per_variable)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


class _NoKwargs(keras.layers.Layer):
    """Neither `get_config` nor `**kwargs`: no copy can be rebuilt from its config."""

    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1], self.units), name="kernel")

    def call(self, x):
        return x @ self.kernel


def test_a_layer_that_cannot_be_copied_gets_a_clear_error_and_dtype_none_works():
    model = keras.Sequential([keras.Input((3,)), _NoKwargs(2)])
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"Cannot make a float64 copy of `sequential(_\d+)?` from its config \(.*\)\. .*pass `dtype=None`"):
        gradcheck.check_gradients(model, x, seed=0)
    report = gradcheck.check_gradients(model, x, seed=0, dtype=None)
    assert list(report.per_variable) == [v.path for v in model.trainable_variables]
