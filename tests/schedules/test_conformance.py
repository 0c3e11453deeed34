"""Every schedule, from one registry of cases: the float64 reference, large steps,
step dtypes, tf.function and XLA, serialisation, and use by a Keras optimizer."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerastools
from kerastools import _registry
from kerastools.schedules._base import Schedule
from tests.conformance import assert_config_round_trip, assert_registered
from tests.schedules.cases import CASE_IDS, CASES

# Relative tolerances are per case (cases.py). The absolute floor only matters where the exact rate is 0 (a cosine at its end).
ATOL = 1e-12
LARGE_STEPS = [123_456, 16_777_217, 123_456_789, 1_000_000_000, 2_147_483_647]

cases = pytest.mark.parametrize("case", CASES, ids=CASE_IDS)


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)


@cases
def test_matches_reference_at_every_step(case):
    schedule = case.build()
    steps = np.arange(case.horizon + 1)
    expected = np.array([case.reference(float(g)) for g in steps])
    got = schedule(tf.constant(steps, tf.int64))
    assert got.dtype == tf.float32 and got.shape == (len(steps),)
    np.testing.assert_allclose(_numpy(got), expected, rtol=case.rtol, atol=ATOL)


@cases
def test_large_steps_are_exact(case):
    """Up to 2**31 - 1, where float32 cannot represent every step, the rate is the
    float64 reference's."""
    schedule = case.build()
    expected = [case.reference(float(g)) for g in LARGE_STEPS]
    got = [_numpy(schedule(tf.constant(g, tf.int64))) for g in LARGE_STEPS]
    np.testing.assert_allclose(got, expected, rtol=case.rtol, atol=ATOL)
    assert np.all(np.isfinite(got))


@cases
def test_step_dtypes_eager_graph_and_xla_agree(case):
    schedule = case.build()
    graph = tf.function(lambda s: schedule(s))
    xla = tf.function(lambda s: schedule(s), jit_compile=True)
    for value in (0, 17, 1_000_000_000):
        expected = case.reference(float(value))
        inputs = [value, np.int64(value)] + [tf.constant(value, dtype) for dtype in (tf.int32, tf.int64, tf.float32, tf.float64)]
        for step in inputs:
            got = schedule(step)
            assert got.dtype == tf.float32 and got.shape == ()
            np.testing.assert_allclose(_numpy(got), expected, rtol=case.rtol, atol=ATOL, err_msg=repr(step))
        for compiled in (graph, xla):
            for step in (tf.constant(value, tf.int64), tf.constant(value, tf.float32)):
                np.testing.assert_allclose(_numpy(compiled(step)), expected, rtol=case.rtol, atol=ATOL)


@cases
def test_config_round_trip(case):
    schedule = case.build()
    clone = assert_config_round_trip(schedule)
    steps = tf.range(case.horizon + 1)
    np.testing.assert_array_equal(_numpy(clone(steps)), _numpy(schedule(steps)))
    assert repr(clone) == repr(schedule)


@cases
def test_sgd_applies_the_rate_of_each_step(case):
    """A Keras optimizer calls the schedule with its 0-based step count: after n
    updates of a weight with gradient 1, SGD has moved it by sum(r(0..n-1))."""
    schedule = case.build()
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    weight = keras.Variable(0.0, dtype="float64")

    @tf.function(jit_compile=True)
    def step():
        optimizer.apply_gradients([(tf.constant(1.0, tf.float64), weight)])

    n = 12
    for _ in range(n):
        step()
    # each float32 rate is widened to float64 before the update
    expected = -sum(float(np.float32(case.reference(float(g)))) for g in range(n))
    np.testing.assert_allclose(float(weight.numpy()), expected, rtol=1e-6, atol=1e-12)


def test_every_public_schedule_is_registered_and_covered():
    public = [getattr(kerastools.schedules, name) for name in kerastools.schedules.__all__]
    classes = [obj for obj in public if isinstance(obj, type)]
    for cls in classes:
        assert issubclass(cls, keras.optimizers.schedules.LearningRateSchedule)
        assert issubclass(cls, Schedule)
        assert_registered(cls)
    covered = {type(case.build()) for case in CASES}
    assert set(classes) <= covered
    assert len(classes) == 14


def test_config_holds_only_plain_python_values():
    for case in CASES:
        config = case.build().get_config()
        assert json.loads(json.dumps(config)) == config


def test_registry_names_are_kerastools():
    names = {cls.__name__ for cls in _registry.registered_classes()}
    assert {"ExponentialDecay", "Warmup", "ScaledSchedule", "OneCycle"} <= names
