"""Warmup, Sequential and ScaledSchedule: conventions, nesting and state."""

import json

import keras
import numpy as np
import tensorflow as tf

from kerastools import schedules as S
from tests.schedules import reference as ref
from tests.conformance import assert_config_round_trip


def test_warmup_shift_conventions():
    inner = S.ExponentialDecay(0.1, 10, 0.5)
    shifted = S.Warmup(inner, 4, initial_learning_rate=0.02)
    unshifted = S.Warmup(inner, 4, initial_learning_rate=0.02, shift=False)
    steps = tf.constant([0, 2, 4, 14])
    np.testing.assert_allclose(shifted(steps).numpy(), [0.02, 0.06, 0.1, 0.05], rtol=1e-7)
    target = 0.1 * 0.5**0.4  # inner(4)
    np.testing.assert_allclose(
        unshifted(steps).numpy(), [0.02, 0.02 + (target - 0.02) / 2, target, 0.1 * 0.5**1.4], rtol=1e-7
    )


def test_warmup_of_an_epoch_schedule_counts_optimizer_steps():
    """The warm-up is in optimizer steps; the wrapped schedule keeps its own epochs."""
    inner = S.InverseTimeDecay(0.2, 1, 1.0, steps_per_epoch=10)
    schedule = S.Warmup(inner, 5)
    got = schedule(tf.range(40)).numpy()
    expected = [ref.warmup(lambda h: ref.course_fractional_decay(0.2, 1.0, h // 10), 5, 0.0, float(g)) for g in range(40)]
    np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_sequential_boundary_belongs_to_the_next_schedule():
    first, second = S.PiecewiseConstantDecay([1000], [1.0, 1.0]), S.ExponentialDecay(0.5, 1, 0.5)
    schedule = S.Sequential([first, second], boundaries=[10])
    np.testing.assert_allclose(schedule(tf.constant([9, 10, 11, 12])).numpy(), [1.0, 0.5, 0.25, 0.125])


def test_nested_schedules_serialise_to_json_and_back():
    schedule = S.Warmup(
        S.Sequential(
            [
                S.ScaledSchedule(S.CosineDecayRestarts(0.1, 10, 2.0, 0.9), scale=0.3),
                keras.optimizers.schedules.PiecewiseConstantDecay([5], [0.01, 0.001]),
            ],
            boundaries=[70],
        ),
        warmup_steps=8,
    )
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(schedule)))
    restored = keras.saving.deserialize_keras_object(config)
    clone = assert_config_round_trip(schedule)
    steps = tf.range(100)
    for other in (restored, clone):
        np.testing.assert_array_equal(other(steps).numpy(), schedule(steps).numpy())
    assert restored.schedule.schedules[0].scale == 0.3


def test_scale_changes_reach_a_compiled_function_without_retracing():
    schedule = S.ScaledSchedule(S.CosineDecay(0.1, 100))
    traces = []

    @tf.function(jit_compile=True)
    def rate(step):
        traces.append(1)
        return schedule(step)

    before = float(rate(tf.constant(50, tf.int64)))
    schedule.scale = 0.1
    after = float(rate(tf.constant(50, tf.int64)))
    assert len(traces) == 1
    np.testing.assert_allclose([before, after], [0.05, 0.005], rtol=1e-7)


def test_scale_is_in_the_config_at_its_current_value():
    schedule = S.ScaledSchedule(S.ExponentialDecay(0.1, 10, 0.5))
    schedule.scale = 0.01
    config = schedule.get_config()
    assert config["scale"] == 0.01
    clone = S.ScaledSchedule.from_config(config)
    assert clone.scale == 0.01 and clone.scale_variable is not schedule.scale_variable
    schedule.scale = 0.5
    assert clone.scale == 0.01  # independent state
