"""Cyclical learning rates (Smith 2017): triangular, triangular2 and exp_range."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_choice, check_number
from kerastools.schedules._base import Schedule, check_rate, check_steps

_MODES = ("triangular", "triangular2", "exp_range")


@register
class CyclicalLearningRate(Schedule):
    """Cyclical learning rate (CLR): a triangle wave between two rates.

    Smith's formula, with ``s = step_size`` (half a cycle) and ``g`` the
    optimizer step (or completed epochs with `steps_per_epoch`)::

        cycle = floor(1 + g / (2 * s))
        x = abs(g / s - 2 * cycle + 1)
        r = r_low + (r_high - r_low) * max(0, 1 - x) * scale

    with ``r_low = initial_learning_rate``, ``r_high = maximal_learning_rate`` and
    ``scale`` set by `mode`:

    * ``"triangular"``: ``scale = 1``;
    * ``"triangular2"``: ``scale = 1 / 2 ** (cycle - 1)``, the amplitude halves
      every cycle;
    * ``"exp_range"``: ``scale = gamma ** g``.

    Args:
        initial_learning_rate: ``r_low``, the rate at the start of each cycle, >= 0.
        maximal_learning_rate: ``r_high``, the peak of the first cycle, >= 0.
        step_size: ``s``, steps (or epochs) from the low to the high rate, > 0;
            Smith suggests 2 to 10 epochs' worth of steps.
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`. Defaults to
            `"triangular"`.
        gamma: the per-step factor of `"exp_range"`, in (0, 1]. Defaults to `1.0`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"CyclicalLearningRate"`.

    Example:

    >>> schedule = CyclicalLearningRate(0.001, 0.006, step_size=2000, mode="triangular2")
    >>> [round(float(schedule(step)), 6) for step in (0, 1000, 2000, 4000, 6000)]
    [0.001, 0.0035, 0.006, 0.001, 0.0035]

    References:
        Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017,
        section 3.1.
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        mode="triangular",
        gamma=1.0,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.maximal_learning_rate = check_rate("maximal_learning_rate", maximal_learning_rate)
        self.step_size = check_steps("step_size", step_size)
        self.mode = check_choice("mode", mode, _MODES)
        self.gamma = check_number("gamma", gamma, low=0.0, high=1.0, low_inclusive=False)

    def _rate(self, step):
        g = self._count(step)
        s = float(self.step_size)
        cycle = ops.floor(1.0 + g / (2.0 * s))
        x = ops.abs(g / s - 2.0 * cycle + 1.0)
        wave = ops.maximum(0.0, 1.0 - x)
        if self.mode == "triangular2":
            wave = wave * ops.power(0.5, cycle - 1.0)
        elif self.mode == "exp_range":
            wave = wave * ops.power(self.gamma, g)
        span = self.maximal_learning_rate - self.initial_learning_rate
        return self.initial_learning_rate + span * wave

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "steps_per_epoch": self.steps_per_epoch,
        }
