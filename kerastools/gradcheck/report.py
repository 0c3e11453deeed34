"""The result of a gradient check, printable as a per-variable table."""

import dataclasses

import numpy as np

# The course's thresholds: <= 1e-7 is right, around 1e-5 deserves a look, >= 1e-3
# is almost certainly a bug.
PASS_THRESHOLD = 1e-7
WARNING_THRESHOLD = 1e-5


def relative_difference(a, b):
    """The course's ``||a - b||_2 / (||a||_2 + ||b||_2)``; 0 when both are zero."""
    a = np.ravel(np.asarray(a, dtype=np.float64))
    b = np.ravel(np.asarray(b, dtype=np.float64))
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / denominator)


def verdict(difference):
    """``"pass"`` (<= 1e-7), ``"warning"`` (<= 1e-5) or ``"fail"``."""
    if difference <= PASS_THRESHOLD:
        return "pass"
    if difference <= WARNING_THRESHOLD:
        return "warning"
    return "fail"


@dataclasses.dataclass(frozen=True)
class GradientCheckReport:
    """What `check_gradients` found.

    Attributes:
        difference: ``||num - ana||_2 / (||num||_2 + ||ana||_2)`` over everything
            checked (in ``"fast"`` mode, over the directional derivatives).
        per_variable: variable name -> the same difference restricted to it, so
            the faulty layer can be found.
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
    def worst_variable(self):
        """Name of the variable with the largest difference."""
        return max(self.per_variable, key=self.per_variable.get)

    def failing_variables(self, threshold=PASS_THRESHOLD):
        """Names of the variables whose difference exceeds `threshold`."""
        return [name for name, d in self.per_variable.items() if d > threshold]

    def table(self):
        """The per-variable report as a text table."""
        rows = [("variable", "shape", "|analytic|", "|numerical|", "difference", "verdict")]
        for name, d in self.per_variable.items():
            rows.append(
                (
                    name,
                    str(tuple(self.shapes[name])),
                    f"{np.linalg.norm(self.analytic[name]):.3e}",
                    f"{np.linalg.norm(self.numerical[name]):.3e}",
                    f"{d:.3e}",
                    verdict(d),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        summary = (
            f"gradient check ({self.mode}, epsilon={self.epsilon:g}): "
            f"difference={self.difference:.3e} -> {self.status}"
        )
        return "\n".join([summary, *lines])

    def __str__(self):
        return self.table()
