"""Exponential decay, base ``decay_rate`` (`ExponentialDecay`) or base e (`NaturalExpDecay`)."""

from keras import ops

from kerastools._registry import register
from kerastools.schedules._base import DecaySchedule


@register
class ExponentialDecay(DecaySchedule):
    """Exponential decay: ``r = r0 * k ** (g / d)`` (the course's 指数衰减).

    With ``r0 = initial_learning_rate``, ``k = decay_rate``, ``d = decay_steps``
    and ``g`` the optimizer step (or, with `steps_per_epoch`, the number of
    completed epochs). With `staircase`, ``g / d`` is replaced by
    ``floor(g / d)``: the rate drops by the factor ``k`` every ``d`` steps.

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        decay_rate: ``k``, > 0; below 1 it decays.
        staircase: whether to decay in discrete jumps. Defaults to `False`.
        steps_per_epoch: when set, ``g`` counts whole epochs
            ``floor(step / steps_per_epoch)``. Defaults to `None` (``g`` is the
            optimizer step).
        name: name scope of the operations. Defaults to `"ExponentialDecay"`.

    Example:

    >>> schedule = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96, staircase=True)
    >>> float(schedule(250))  # 0.1 * 0.96 ** 2
    0.09216...
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)

    Note:
        Same formula and arguments as `keras.optimizers.schedules.ExponentialDecay`
        and `tf.compat.v1.train.exponential_decay`, evaluated in float64 (the
        result is float32).
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
            steps_per_epoch=steps_per_epoch,
            name=name,
            decay_rate_positive=True,
        )

    def _rate(self, step):
        return self.initial_learning_rate * ops.power(self.decay_rate, self._progress(step))


@register
class NaturalExpDecay(DecaySchedule):
    """Natural exponential decay: ``r = r0 * exp(-k * g / d)`` (the course's 自然指数衰减).

    With ``r0 = initial_learning_rate``, ``k = decay_rate``, ``d = decay_steps``
    and ``g`` the optimizer step (or completed epochs with `steps_per_epoch`);
    with `staircase`, ``g / d`` becomes ``floor(g / d)``. It equals
    `ExponentialDecay` with ``decay_rate = exp(-k)``.

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        decay_rate: ``k``, >= 0.
        staircase: whether to decay in discrete jumps. Defaults to `False`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"NaturalExpDecay"`.

    Example:

    >>> schedule = NaturalExpDecay(1e-2, decay_steps=1000, decay_rate=0.5)
    >>> float(schedule(2000))  # 1e-2 * exp(-1)
    0.0036787...

    Note:
        TensorFlow 1's `tf.compat.v1.train.natural_exp_decay`; Keras 3 has no
        namesake.
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
            steps_per_epoch=steps_per_epoch,
            name=name,
        )

    def _rate(self, step):
        return self.initial_learning_rate * ops.exp(-self.decay_rate * self._progress(step))
