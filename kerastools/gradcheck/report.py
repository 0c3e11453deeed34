"""The result of a gradient check, printable as a per-variable table."""

import dataclasses

import numpy as np

# The course's thresholds: <= 1e-7 is right, around 1e-5 deserves a look, >= 1e-3
# is almost certainly a bug.
PASS_THRESHOLD = 1e-7
WARNING_THRESHOLD = 1e-5


def relative_difference(a, b):
    """The course's ``||a - b||_2 / (||a||_2 + ||b||_2)``; 0 when both are zero.

    NaN when `a` or `b` holds a NaN or an infinity: no difference can be
    measured, and NaN compares false with every threshold, so such a check
    never passes. Finite values too large for their norms to be computed
    (``|x| > 1e154``) are rescaled first.
    """
    a = np.ravel(np.asarray(a, dtype=np.float64))
    b = np.ravel(np.asarray(b, dtype=np.float64))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    with np.errstate(over="ignore"):
        denominator = np.linalg.norm(a) + np.linalg.norm(b)
        numerator = np.linalg.norm(a - b)
    if denominator == 0.0:
        return 0.0
    if not (np.isfinite(denominator) and np.isfinite(numerator)):
        # The ratio is scale-invariant: divide by the largest magnitude.
        scale = max(np.max(np.abs(a)), np.max(np.abs(b)))
        return relative_difference(a / scale, b / scale)
    return float(numerator / denominator)


def verdict(difference):
    """``"pass"`` (<= 1e-7), ``"warning"`` (<= 1e-5) or ``"fail"`` (above, or NaN)."""
    if difference <= PASS_THRESHOLD:
        return "pass"
    if difference <= WARNING_THRESHOLD:
        return "warning"
    return "fail"


def _sort_key(difference):
    return float("inf") if np.isnan(difference) else difference


def _count_non_finite(values):
    return int(np.count_nonzero(~np.isfinite(np.asarray(values, dtype=np.float64))))


@dataclasses.dataclass(frozen=True)
class GradientCheckReport:
    """What `check_gradients` found.

    A NaN or an infinity among a variable's numerical or analytic values (the
    cost or its gradient overflowing or undefined near the checked point, e.g.
    ``sqrt`` or ``log`` at 0) makes that variable's difference, and the overall
    one, NaN: the variable **fails** whatever the threshold, is listed by
    `failing_variables` and first by `worst_variable`, its row of the table says
    ``fail (non-finite)`` and the summary line names it; `non_finite` counts the
    offending entries.

    Attributes:
        difference: ``||num - ana||_2 / (||num||_2 + ||ana||_2)`` over everything
            checked (in ``"fast"`` mode, over the directional derivatives); NaN
            when any value is non-finite.
        per_variable: variable name -> the same difference restricted to it, so
            the faulty layer can be found. Names are the paths of the user's own
            variables (``variable.path``), also when a float64 copy was checked,
            and ``"input"`` / ``"input[i]"`` for inputs.
        numerical: variable name -> finite-difference values (the gradient in
            ``"full"`` mode, directional derivatives in ``"fast"`` mode).
        analytic: variable name -> backpropagated values, same layout.
        shapes: variable name -> shape of the variable.
        mode: ``"full"`` or ``"fast"``.
        epsilon: the finite-difference step.
    """

    difference: float
    per_variable: dict
    numerical: dict
    analytic: dict
    shapes: dict
    mode: str
    epsilon: float

    @property
    def passed(self):
        """Whether ``difference <= 1e-7`` (the course's "correct")."""
        return self.difference <= PASS_THRESHOLD

    @property
    def status(self):
        """``"pass"``, ``"warning"`` (up to 1e-5: inspect) or ``"fail"``."""
        return verdict(self.difference)

    @property
    def non_finite(self):
        """Variable name -> ``(numerical, analytic)`` counts of NaN/infinite
        entries, for the variables that have any."""
        counts = {
            name: (_count_non_finite(self.numerical[name]), _count_non_finite(self.analytic[name]))
            for name in self.per_variable
        }
        return {name: c for name, c in counts.items() if c != (0, 0)}

    @property
    def worst_variable(self):
        """Name of the variable with the largest difference (a non-finite one first)."""
        return max(self.per_variable, key=lambda name: _sort_key(self.per_variable[name]))

    def failing_variables(self, threshold=PASS_THRESHOLD):
        """Names of the variables whose difference exceeds `threshold` or is NaN
        (non-finite values), in the order checked."""
        return [name for name, d in self.per_variable.items() if not d <= threshold]

    def table(self):
        """The per-variable report as a text table."""
        rows = [("variable", "shape", "|analytic|", "|numerical|", "difference", "verdict")]
        non_finite = self.non_finite
        for name, d in self.per_variable.items():
            rows.append(
                (
                    name,
                    str(tuple(self.shapes[name])),
                    f"{np.linalg.norm(self.analytic[name]):.3e}",
                    f"{np.linalg.norm(self.numerical[name]):.3e}",
                    f"{d:.3e}",
                    "fail (non-finite)" if name in non_finite else verdict(d),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        summary = (
            f"gradient check ({self.mode}, epsilon={self.epsilon:g}): "
            f"difference={self.difference:.3e} -> {self.status}"
        )
        if non_finite:
            summary += "; non-finite values (NaN/inf) in: " + ", ".join(
                f"{name} ({n} numerical, {a} analytic)" for name, (n, a) in non_finite.items()
            )
        return "\n".join([summary, *lines])

    def __str__(self):
        return self.table()
