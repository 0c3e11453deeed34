"""Polynomial decay to an end rate, held or restarted (the course's 多项式衰减)."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool
from kerastools.schedules._base import Schedule, check_finite, check_rate, check_steps


@register
class PolynomialDecay(Schedule):
    """Polynomial decay: ``r = (r0 - r_end) * (1 - g / d) ** p + r_end``.

    With ``r0 = initial_learning_rate``, ``r_end = end_learning_rate``,
    ``d = decay_steps``, ``p = power`` and ``g`` the optimizer step (or
    completed epochs with `steps_per_epoch`). Without `cycle`, ``g`` is capped
    at ``d`` and the rate stays at ``r_end`` afterwards. With `cycle`, the
    decay restarts: ``d`` is replaced by the first multiple of ``d`` that is
    ``>= g``::

        d_g = d * max(1, ceil(g / d))

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        end_learning_rate: ``r_end``, >= 0. Defaults to `0.0001`.
        power: ``p``, > 0; 1 is linear. Defaults to `1.0`.
        cycle: whether to restart the decay after ``d`` steps. Defaults to `False`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"PolynomialDecay"`.

    Example:

    >>> schedule = PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=0.5)
    >>> round(float(schedule(75)), 6)  # 0.09 * 0.25 ** 0.5 + 0.01
    0.055
    >>> cyclic = PolynomialDecay(0.1, 100, 0.01, cycle=True)
    >>> [round(float(cyclic(step)), 6) for step in (100, 101, 150)]
    [0.01, 0.05455, 0.0325]

    Note:
        With `cycle`, at an exact multiple ``g = k * d`` the rate is ``r_end``
        (the end of the ``k``-th decay), and step 0 uses ``d`` itself. This is
        the code of `tf.compat.v1.train.polynomial_decay` and of
        `keras.optimizers.schedules.PolynomialDecay`; their docstrings (and the
        course) say "the first multiple *bigger* than ``g``", which would
        restart at ``g = k * d`` instead.
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.end_learning_rate = check_rate("end_learning_rate", end_learning_rate)
        self.power = check_finite("power", power, low=0.0, low_inclusive=False)
        self.cycle = check_bool("cycle", cycle)

    def _rate(self, step):
        g = self._count(step)
        d = float(self.decay_steps)
        if self.cycle:
            decay_steps = d * ops.maximum(ops.ceil(g / d), 1.0)
        else:
            decay_steps = d
            g = ops.minimum(g, d)
        remaining = 1.0 - g / decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * ops.power(remaining, self.power) + self.end_learning_rate

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "steps_per_epoch": self.steps_per_epoch,
        }
