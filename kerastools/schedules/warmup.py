"""Linear warm-up in front of any schedule (Goyal et al. 2017)."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool
from kerastools.schedules._base import (
    Schedule,
    check_rate,
    check_schedule,
    check_steps,
    deserialize_schedule,
    interpolate,
    rate64,
    serialize_schedule,
)


@register
class Warmup(Schedule):
    """Wraps any schedule with a linear warm-up of `warmup_steps` optimizer steps.

    With ``w = warmup_steps``, ``r_w = initial_learning_rate`` and ``S`` the
    wrapped schedule, at optimizer step ``g``:

    * ``shift=True``: ``S`` starts once the warm-up is over::

          r = r_w + (S(0) - r_w) * g / w    if g < w
              S(g - w)                      otherwise

    * ``shift=False``: ``S`` keeps counting from step 0 and the ramp ends at
      the value ``S`` has then::

          r = r_w + (S(w) - r_w) * g / w    if g < w
              S(g)                          otherwise

    Args:
        schedule: any `keras.optimizers.schedules.LearningRateSchedule`.
        warmup_steps: ``w``, length of the warm-up in optimizer steps, > 0 (for
            a warm-up of ``n`` epochs pass ``n * steps_per_epoch``).
        initial_learning_rate: ``r_w``, the rate at step 0, >= 0. Defaults to `0.0`.
        shift: whether the wrapped schedule starts after the warm-up (`True`) or
            at step 0 (`False`). Defaults to `True`.
        name: name scope of the operations. Defaults to `"Warmup"`.

    Example:

    >>> decay = kt.schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.5)
    >>> schedule = kt.schedules.Warmup(decay, warmup_steps=100)
    >>> [round(float(schedule(step)), 6) for step in (0, 50, 100, 1100)]
    [0.0, 0.05, 0.1, 0.05]

    References:
        Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1
        Hour", 2017, section 2.2 (gradual warm-up).

    Note:
        ``Warmup(CosineDecay(target, d), w, initial_learning_rate=r0)`` is
        Keras's ``CosineDecay(r0, d, warmup_target=target, warmup_steps=w)``.
    """

    def __init__(self, schedule, warmup_steps, initial_learning_rate=0.0, shift=True, name=None):
        super().__init__(name=name)
        self.schedule = check_schedule("schedule", deserialize_schedule(schedule))
        self.warmup_steps = check_steps("warmup_steps", warmup_steps)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.shift = check_bool("shift", shift)

    def _rate(self, step):
        w = float(self.warmup_steps)
        if self.shift:
            target = rate64(self.schedule, ops.zeros_like(step))
            # Clamped so the unused branch never sees a negative step.
            after = rate64(self.schedule, ops.maximum(step - w, 0.0))
        else:
            target = rate64(self.schedule, ops.zeros_like(step) + w)
            after = rate64(self.schedule, step)
        ramp = interpolate(self.initial_learning_rate, target, step / w)
        return ops.where(step < w, ramp, after)

    def _config(self):
        return {
            "schedule": serialize_schedule(self.schedule),
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "shift": self.shift,
        }
