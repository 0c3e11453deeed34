"""Schedules joined end to end at step boundaries."""

from keras import ops

from kerastools._registry import register
from kerastools.schedules._base import (
    Schedule,
    check_boundaries,
    check_schedule,
    deserialize_schedule,
    rate64,
    serialize_schedule,
)


@register
class Sequential(Schedule):
    """Runs ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]``, and so on.

    With boundaries ``b_0 < ... < b_{n-2}`` (``b_{-1} = 0``) and schedules
    ``S_0 ... S_{n-1}``, at optimizer step ``g``::

        r = S_i(g - b_{i-1})    for b_{i-1} <= g < b_i

    Each schedule counts its own steps from 0, starting at its boundary.

    Args:
        schedules: a non-empty list of `keras.optimizers.schedules.LearningRateSchedule`.
        boundaries: strictly increasing optimizer steps, > 0, one fewer than
            `schedules`.
        name: name scope of the operations. Defaults to `"Sequential"`.

    Example:

    >>> from kerastools import schedules
    >>> warm = schedules.PolynomialDecay(0.0, decay_steps=100, end_learning_rate=0.1)  # 0 -> 0.1
    >>> decay = schedules.CosineDecay(0.1, decay_steps=900)
    >>> schedule = schedules.Sequential([warm, decay], boundaries=[100])
    >>> [round(float(schedule(step)), 6) for step in (0, 50, 100, 550, 1000)]
    [0.0, 0.05, 0.1, 0.05, 0.0]

    Note:
        A boundary step belongs to the schedule that *starts* there (as in
        Optax's ``join_schedules`` and PyTorch's ``SequentialLR``), whereas
        `PiecewiseConstantDecay` gives it to the interval that *ends* there
        (TensorFlow's convention).
    """

    def __init__(self, schedules, boundaries, name=None):
        super().__init__(name=name)
        if isinstance(schedules, (str, bytes, dict)) or not hasattr(schedules, "__len__"):
            raise TypeError(f"Argument `schedules` must be a list of schedules. Received: schedules={schedules!r}")
        if not schedules:
            raise ValueError(f"Argument `schedules` must not be empty. Received: schedules={schedules!r}")
        self.schedules = [
            check_schedule(f"schedules[{i}]", deserialize_schedule(s)) for i, s in enumerate(schedules)
        ]
        self.boundaries = check_boundaries(boundaries, len(self.schedules), "schedules")
        if self.boundaries and self.boundaries[0] <= 0:
            raise ValueError(f"Argument `boundaries` must be > 0. Received: boundaries={boundaries!r}")

    def _rate(self, step):
        rate = rate64(self.schedules[0], step)
        for boundary, schedule in zip(self.boundaries, self.schedules[1:]):
            b = float(boundary)
            # Clamped so a schedule never sees the negative steps before its start.
            later = rate64(schedule, ops.maximum(step - b, 0.0))
            rate = ops.where(step < b, rate, later)
        return rate

    def _config(self):
        return {
            "schedules": [serialize_schedule(s) for s in self.schedules],
            "boundaries": self.boundaries,
        }
