"""The 1cycle policy (Smith & Topin 2018): one cycle up and down, then annihilation."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool, check_choice, check_number
from kerastools.schedules._base import Schedule, check_rate, check_steps, interpolate

_STRATEGIES = ("linear", "cos")


@register
class OneCycle(Schedule):
    """One learning-rate cycle shorter than training, then a fall far below the start.

    With ``r_low = initial_learning_rate``, ``r_high = maximal_learning_rate``,
    ``r_end = end_learning_rate``, ``T = total_steps``, ``u = pct_start * T``
    and ``g`` the optimizer step (or completed epochs with `steps_per_epoch`),
    the rate moves between these points, linearly or along half a cosine
    (`anneal_strategy`), and stays at ``r_end`` after ``T``:

    * ``three_phase=True`` (Smith & Topin): ``r_low`` at 0, ``r_high`` at ``u``,
      ``r_low`` at ``2u``, ``r_end`` at ``T``: a symmetric cycle, then the
      "annihilation" of the remaining steps;
    * ``three_phase=False`` (fastai, PyTorch's default): ``r_low`` at 0,
      ``r_high`` at ``u``, ``r_end`` at ``T``.

    Args:
        initial_learning_rate: ``r_low``, >= 0.
        maximal_learning_rate: ``r_high``, >= ``r_low`` (equal gives a flat
            cycle; below it is refused with a `ValueError`).
        total_steps: ``T``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        pct_start: ``u / T``, the fraction of training spent rising, in (0, 1);
            at most 0.5 with `three_phase`. Defaults to `0.45` (a cycle over 90%
            of training).
        end_learning_rate: ``r_end``, >= 0. Defaults to `None`:
            ``initial_learning_rate / 1e4``, "several orders of magnitude" below
            the start.
        three_phase: whether the cycle descends to ``r_low`` before the final
            fall (the paper) or falls straight to ``r_end``. Defaults to `True`.
        anneal_strategy: `"linear"` (the paper) or `"cos"`. Defaults to `"linear"`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"OneCycle"`.

    Example:

    >>> schedule = OneCycle(0.08, 0.8, total_steps=100, pct_start=0.4, end_learning_rate=0.0008)
    >>> [round(float(schedule(step)), 6) for step in (0, 20, 40, 80, 90, 100)]
    [0.08, 0.44, 0.8, 0.08, 0.0404, 0.0008]

    References:
        Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks
        Using Large Learning Rates", 2018 (arXiv:1708.07120), section 3.

    Note:
        PyTorch's ``OneCycleLR(max_lr, total_steps, pct_start, anneal_strategy,
        div_factor, final_div_factor, three_phase)`` is
        ``OneCycle(max_lr / div_factor, max_lr, total_steps, pct_start,
        max_lr / div_factor / final_div_factor, three_phase, anneal_strategy)``
        except that PyTorch ends each phase one step earlier (it reaches
        ``r_end`` at step ``T - 1``). Momentum cycling, the other half of the
        policy, is not a learning-rate schedule and is not provided.
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        total_steps,
        pct_start=0.45,
        end_learning_rate=None,
        three_phase=True,
        anneal_strategy="linear",
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.maximal_learning_rate = check_rate("maximal_learning_rate", maximal_learning_rate)
        if self.maximal_learning_rate < self.initial_learning_rate:
            # The cycle would fall first and rise back: the opposite of the policy
            # (typically the two rates swapped, or PyTorch's div_factor < 1).
            raise ValueError(
                "Argument `maximal_learning_rate` must be >= `initial_learning_rate` (the "
                "cycle rises from the initial rate to the maximal one). Received: "
                f"maximal_learning_rate={maximal_learning_rate!r}, "
                f"initial_learning_rate={initial_learning_rate!r}"
            )
        self.total_steps = check_steps("total_steps", total_steps)
        self.three_phase = check_bool("three_phase", three_phase)
        high = 0.5 if self.three_phase else 1.0
        self.pct_start = check_number(
            "pct_start", pct_start, low=0.0, high=high, low_inclusive=False, high_inclusive=self.three_phase
        )
        if end_learning_rate is None:
            end_learning_rate = self.initial_learning_rate / 1e4
        self.end_learning_rate = check_rate("end_learning_rate", end_learning_rate)
        self.anneal_strategy = check_choice("anneal_strategy", anneal_strategy, _STRATEGIES)

    def _phases(self):
        """``(start step, end step, start rate, end rate)`` of each phase."""
        total = float(self.total_steps)
        up = self.pct_start * total
        low, high, end = self.initial_learning_rate, self.maximal_learning_rate, self.end_learning_rate
        if self.three_phase:
            return [(0.0, up, low, high), (up, 2.0 * up, high, low), (2.0 * up, total, low, end)]
        return [(0.0, up, low, high), (up, total, high, end)]

    def _rate(self, step):
        g = self._count(step)
        rate = ops.zeros_like(g) + self.end_learning_rate  # after the last phase
        for start, stop, r_start, r_stop in reversed(self._phases()):
            if stop <= start:  # an empty phase (pct_start = 0.5 with three phases)
                continue
            fraction = ops.clip((g - start) / (stop - start), 0.0, 1.0)
            inside = interpolate(r_start, r_stop, fraction, self.anneal_strategy)
            rate = ops.where(g < stop, inside, rate)
        return rate

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "end_learning_rate": self.end_learning_rate,
            "three_phase": self.three_phase,
            "anneal_strategy": self.anneal_strategy,
            "steps_per_epoch": self.steps_per_epoch,
        }
