"""Cosine decay with warm restarts (SGDR)."""

import math

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_number
from kerastools.schedules._base import Schedule, check_finite, check_rate, check_steps


@register
class CosineDecayRestarts(Schedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Period ``i`` (from 0) lasts ``T_i = d * t_mul ** i`` steps and starts at
    ``S_i = d * (1 + t_mul + ... + t_mul ** (i - 1))``; within it, with
    ``f = (g - S_i) / T_i`` in [0, 1)::

        r = r0 * ((1 - alpha) * m_mul ** i * 0.5 * (1 + cos(pi * f)) + alpha)

    with ``r0 = initial_learning_rate``, ``d = first_decay_steps`` and ``g`` the
    optimizer step (or completed epochs with `steps_per_epoch`).

    Args:
        initial_learning_rate: ``r0``, >= 0.
        first_decay_steps: ``d``, length of the first period, > 0.
        t_mul: factor by which each period is longer than the previous, >= 1.
            Defaults to `2.0`.
        m_mul: factor by which each restart's peak is lower, >= 0. Defaults to
            `1.0`.
        alpha: the floor as a fraction of ``r0``, in [0, 1]. Defaults to `0.0`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"CosineDecayRestarts"`.

    Example:

    >>> schedule = CosineDecayRestarts(0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    >>> [round(float(schedule(step)), 6) for step in (0, 5, 10, 20, 30)]
    [0.1, 0.05, 0.05, 0.025, 0.025]

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017.

    Note:
        Same formula and arguments as
        `keras.optimizers.schedules.CosineDecayRestarts` and
        `tf.compat.v1.train.cosine_decay_restarts`. They find the period ``i``
        with a logarithm in the rate's dtype; here it is computed in float64
        and corrected by one period where rounding put ``g`` on the wrong side
        of a restart. ``t_mul < 1`` is refused: the periods would shrink and
        infinitely many restarts would pile up before step
        ``d / (1 - t_mul)``, after which the rate is undefined.
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = check_steps("first_decay_steps", first_decay_steps)
        self.t_mul = check_finite("t_mul", t_mul, low=1.0)
        self.m_mul = check_finite("m_mul", m_mul, low=0.0)
        self.alpha = check_number("alpha", alpha, low=0.0, high=1.0)

    def _period(self, fraction):
        """``(i, f)``: the period containing ``fraction = g / d`` and the fraction of it done."""
        if self.t_mul == 1.0:
            i = ops.floor(fraction)
            return i, fraction - i
        t = self.t_mul
        # S_i / d = (t**i - 1) / (t - 1), so g is in period floor(log_t(1 + (t - 1) g / d)).
        x = fraction * (t - 1.0)
        i = ops.floor(ops.log1p(x) * (1.0 / math.log(t)))
        p = ops.power(t, i)
        f = (x + 1.0 - p) / (p * (t - 1.0))  # (g - S_i) / T_i
        # The logarithm can round across a restart; one period either way fixes it.
        over = f >= 1.0
        i = ops.where(over, i + 1.0, i)
        f = ops.where(over, (f - 1.0) * (1.0 / t), f)
        under = f < 0.0
        return ops.where(under, i - 1.0, i), ops.where(under, f * t + 1.0, f)

    def _rate(self, step):
        i, f = self._period(self._count(step) / float(self.first_decay_steps))
        cosine = 0.5 * (1.0 + ops.cos(math.pi * f))
        if self.m_mul != 1.0:
            cosine = cosine * ops.power(self.m_mul, i)
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "steps_per_epoch": self.steps_per_epoch,
        }
