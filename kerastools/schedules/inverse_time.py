"""Inverse-time ("fractional") decay: the course's ``r0 / (1 + decayRate * epochNum)``."""

from kerastools._registry import register
from kerastools.schedules._base import DecaySchedule


@register
class InverseTimeDecay(DecaySchedule):
    """Inverse-time decay: ``r = r0 / (1 + k * g / d)`` (the course's 分数衰减).

    With ``r0 = initial_learning_rate``, ``k = decay_rate``, ``d = decay_steps``
    and ``g`` the optimizer step, or, with `steps_per_epoch`, the number of
    completed epochs ``floor(step / steps_per_epoch)``. With `staircase`,
    ``g / d`` becomes ``floor(g / d)``.

    The course's epoch-based form ``r = r0 / (1 + decayRate * epochNum)`` is
    ``InverseTimeDecay(r0, decay_steps=1, decay_rate=decayRate,
    steps_per_epoch=batches_per_epoch)``.

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        decay_rate: ``k``, >= 0.
        staircase: whether to decay in discrete jumps. Defaults to `False`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"InverseTimeDecay"`.

    Example:

    >>> # The course: r0 = 0.2, decayRate = 1, 100 mini-batches per epoch.
    >>> schedule = InverseTimeDecay(0.2, decay_steps=1, decay_rate=1.0, steps_per_epoch=100)
    >>> [round(float(schedule(step)), 6) for step in (0, 99, 100, 250)]
    [0.2, 0.2, 0.1, 0.066667]

    Note:
        ``epochNum`` counts *completed* epochs: it is 0 during the first epoch,
        which therefore runs at ``r0``. If you count epochs from 1 (the first
        epoch at ``r0 / (1 + k)``), use ``InverseTimeDecay(r0 / (1 + k), 1,
        k / (1 + k), steps_per_epoch=...)``, which is the same curve shifted by
        one epoch. Same formula and arguments as
        `keras.optimizers.schedules.InverseTimeDecay` and
        `tf.compat.v1.train.inverse_time_decay`.
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
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))
