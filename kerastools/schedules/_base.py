"""Machinery shared by every kerastools schedule: step handling, epochs, validation.

Every schedule converts the optimizer step to float64 once, computes its rate in
float64 and returns it as float32 (the dtype Keras's schedules return for a
Python-float learning rate). float64 matters at large steps: float32 has a 24-bit
significand, so from step 2**24 (about 1.7e7) on it cannot even represent every
integer step, ``floor(step / decay_steps)`` can land on the wrong staircase, and
SGDR's ``completed_fraction - sum_of_previous_periods`` cancels catastrophically.
float64 represents every step below 2**53 exactly. The arithmetic is a handful of
scalar operations, negligible next to a training step (see
``benchmarks/schedules.py``).

The operations are element-wise, so a schedule also accepts a 1-D tensor of steps
and returns the rate at each (`plot` relies on this).
"""

import math
import numbers

import keras
from keras import ops

from kerastools._validation import check_bool, check_int, check_number

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def check_finite(name, value, **bounds):
    """`check_number`, which refuses NaN and infinity (every schedule parameter is finite)."""
    return check_number(name, value, **bounds)


def check_rate(name, value):
    """A learning rate: a finite real number >= 0."""
    return check_finite(name, value, low=0.0)


def check_steps(name, value):
    """A duration in steps or epochs: a finite real number > 0 (kept an `int` if given one)."""
    checked = check_finite(name, value, low=0.0, low_inclusive=False)
    return int(value) if isinstance(value, numbers.Integral) else checked


def check_boundaries(boundaries, num_values, values_name):
    """Strictly increasing finite numbers, exactly one fewer than `values_name`."""
    if isinstance(boundaries, (str, bytes)) or not hasattr(boundaries, "__len__"):
        raise TypeError(
            f"Argument `boundaries` must be a list of numbers. Received: boundaries={boundaries!r}"
        )
    checked = [check_number(f"boundaries[{i}]", b) for i, b in enumerate(boundaries)]
    # Integer boundaries stay integers in the config, as the user wrote them.
    boundaries = [int(b) if isinstance(b, numbers.Integral) else c for b, c in zip(boundaries, checked)]
    if len(boundaries) + 1 != num_values:
        raise ValueError(
            f"Argument `boundaries` must have one element fewer than `{values_name}`. "
            f"Received: boundaries of length {len(boundaries)} and {values_name} of length {num_values}"
        )
    if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
        raise ValueError(
            f"Argument `boundaries` must be strictly increasing. Received: boundaries={boundaries!r}"
        )
    return boundaries


def check_schedule(name, value):
    """A `keras.optimizers.schedules.LearningRateSchedule` instance."""
    if not isinstance(value, _LearningRateSchedule):
        raise TypeError(
            f"Argument `{name}` must be a `keras.optimizers.schedules.LearningRateSchedule`. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    return value


def serialize_schedule(schedule):
    """A nested schedule as plain Python values (Keras's serialisation format)."""
    return keras.saving.serialize_keras_object(schedule)


def deserialize_schedule(config):
    """Inverse of `serialize_schedule`; anything but a config dict passes through
    (to be checked by `check_schedule`)."""
    if isinstance(config, dict):
        return keras.saving.deserialize_keras_object(config)
    return config


def rate64(schedule, step):
    """`schedule` at float64 `step`, as float64.

    kerastools schedules are evaluated in float64 end to end; any other schedule
    (a Keras built-in, a user's) is called as usual and its result widened.
    """
    if isinstance(schedule, Schedule):
        return schedule._rate(step)
    return ops.cast(schedule(step), "float64")


def interpolate(start, end, fraction, strategy="linear"):
    """``start`` -> ``end`` as ``fraction`` goes 0 -> 1, linearly or along half a cosine."""
    if strategy == "cos":
        # Half a cosine period: 1 at fraction 0, 0 at fraction 1.
        weight = 0.5 * (1.0 + ops.cos(ops.multiply(fraction, math.pi)))
        return end + (start - end) * weight
    return start + (end - start) * fraction


class Schedule(_LearningRateSchedule):
    """Private base class: float64 evaluation, float32 result, ``steps_per_epoch``.

    Subclasses implement ``_rate(step)`` (float64 step tensor in, float64 rate
    out) and ``_config()`` (their constructor arguments). Schedules that count
    epochs call ``_count(step)``, which is the optimizer step or, with
    ``steps_per_epoch``, the number of completed epochs
    ``floor(step / steps_per_epoch)``.
    """

    def __init__(self, *, steps_per_epoch=None, name=None):
        self.steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, low=1, allow_none=True)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Argument `name` must be a string or None. Received: name={name!r}")
        self.name = name or type(self).__name__

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "float64")
            return ops.cast(self._rate(step), "float32")

    def _count(self, step):
        """Optimizer steps, or completed epochs when `steps_per_epoch` is set."""
        if self.steps_per_epoch is None:
            return step
        # Exact for integer steps below 2**53: a correctly rounded quotient of
        # k * steps_per_epoch - 1 stays below k.
        return ops.floor(step / float(self.steps_per_epoch))

    def _rate(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement `_rate(step)`.")

    def _config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement `_config()`.")

    def get_config(self):
        return {**self._config(), "name": self.name}

    def __repr__(self):
        # Attributes rather than config values, so nested schedules print as objects.
        args = ", ".join(f"{k}={_describe(getattr(self, k, v))}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _describe(value):
    """`repr`, except for schedules without one (Keras's) and lists of schedules."""
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    if isinstance(value, _LearningRateSchedule) and not isinstance(value, Schedule):
        args = ", ".join(f"{k}={v!r}" for k, v in value.get_config().items())
        return f"{type(value).__name__}({args})"
    return repr(value)


class DecaySchedule(Schedule):
    """Private base of the ``r0 * f(k * p)`` family with ``p = g / d``, floored by `staircase`."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        *,
        steps_per_epoch=None,
        name=None,
        decay_rate_positive=False,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.decay_rate = check_finite("decay_rate", decay_rate, low=0.0, low_inclusive=not decay_rate_positive)
        self.staircase = check_bool("staircase", staircase)

    def _progress(self, step):
        """``p = g / d``, or ``floor(g / d)`` with `staircase`."""
        p = self._count(step) / float(self.decay_steps)
        return ops.floor(p) if self.staircase else p

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "steps_per_epoch": self.steps_per_epoch,
        }
