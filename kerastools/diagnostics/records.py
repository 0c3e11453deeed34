"""What the diagnostics return: plain, frozen records that are easy to print and plot."""

import dataclasses
from typing import Optional

import numpy as np


def _table(header, rows):
    rows = [tuple(header)] + [tuple(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value):
    return "-" if value is None else f"{value:.3g}"


@dataclasses.dataclass(frozen=True)
class BiasVarianceDiagnosis:
    """One bias/variance diagnosis (see `diagnose_bias_variance`).

    Attributes:
        train_error: error on the training set.
        dev_error: error on the dev (validation) set.
        baseline_error: the human-level / Bayes error the others are compared with.
        avoidable_bias: ``train_error - baseline_error``.
        variance: ``dev_error - train_error``.
        high_bias: ``avoidable_bias > bias_tolerance``.
        high_variance: ``variance > variance_tolerance``.
        verdict: ``"high bias"``, ``"high variance"``,
            ``"high bias and high variance"`` or ``"good"``.
        advice: the course's remedies for the verdict (empty when good).
        epoch: the 0-based epoch it was made at, or `None` outside `fit`.
    """

    train_error: float
    dev_error: float
    baseline_error: float
    avoidable_bias: float
    variance: float
    high_bias: bool
    high_variance: bool
    verdict: str
    advice: tuple
    epoch: Optional[int] = None

    def __str__(self):
        at = "" if self.epoch is None else f"epoch {self.epoch + 1}: "
        text = (
            f"{at}{self.verdict} (train error {self.train_error:.4g}, dev error "
            f"{self.dev_error:.4g}, baseline {self.baseline_error:.4g}: avoidable bias "
            f"{self.avoidable_bias:.4g}, variance {self.variance:.4g})"
        )
        return text + (f"; try: {', '.join(self.advice)}" if self.advice else "")


@dataclasses.dataclass(frozen=True)
class ActivationStats:
    """Statistics of one layer's activations on a sample batch.

    Attributes:
        layer: the layer's name.
        activation: the activation's name (``"sigmoid"``, ``"relu"``, ...).
        mean, std: over every activation value of the batch (``a.flatten()``).
        fraction_zero: fraction of the values that are exactly 0 (ReLU off).
        fraction_dead: fraction of units (entries of the last axis) that output 0
            for every example of the batch (and every position, for convolutions).
        fraction_saturated: fraction of values within `saturation_tolerance` of a
            bound of a bounded activation (sigmoid, tanh, ...), where its
            derivative vanishes; `None` for unbounded activations.
        fraction_nonfinite: fraction of NaN or infinite values (left out of the
            mean, std, saturation and histogram).
        histogram: counts per bin; ``bin_edges`` has one more entry.
        bin_edges: bin edges (the activation's range when it is bounded).
        saturated: ``fraction_saturated > max_saturated_fraction``.
        dead: ``fraction_dead > max_dead_fraction``.
    """

    layer: str
    activation: str
    mean: float
    std: float
    fraction_zero: float
    fraction_dead: float
    fraction_saturated: Optional[float]
    fraction_nonfinite: float
    histogram: np.ndarray
    bin_edges: np.ndarray
    saturated: bool
    dead: bool

    @property
    def problems(self):
        """``("saturated",)``, ``("dead",)``, both or ``()``."""
        return tuple(name for name, flag in (("saturated", self.saturated), ("dead", self.dead)) if flag)


@dataclasses.dataclass(frozen=True)
class ActivationReport:
    """Per-layer `ActivationStats` for one sample batch, in layer order.

    Attributes:
        layers: layer name -> `ActivationStats`.
        epoch: the 0-based epoch it was taken after, or `None` outside `fit`.
    """

    layers: dict
    epoch: Optional[int] = None

    def __getitem__(self, name):
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers.values())

    def __len__(self):
        return len(self.layers)

    @property
    def saturated_layers(self):
        return [s.layer for s in self if s.saturated]

    @property
    def dead_layers(self):
        return [s.layer for s in self if s.dead]

    def __str__(self):
        rows = [
            (
                s.layer,
                s.activation,
                _fmt(s.mean),
                _fmt(s.std),
                _fmt(s.fraction_saturated),
                _fmt(s.fraction_zero),
                _fmt(s.fraction_dead),
                ", ".join(s.problems) or "ok",
            )
            for s in self
        ]
        header = ("layer", "activation", "mean", "std", "saturated", "zero", "dead units", "verdict")
        at = "" if self.epoch is None else f" after epoch {self.epoch + 1}"
        return f"activations{at}:\n" + _table(header, rows)


@dataclasses.dataclass(frozen=True)
class GradientNormReport:
    """Gradient norms of the loss on a sample batch, per variable and per layer.

    Attributes:
        loss: the loss the gradients are of.
        variable_norms: variable path -> ``||dJ/dW||_2`` (a variable the loss does
            not depend on has norm 0).
        layer_norms: layer name -> the norm of all its variables' gradients
            together, ``sqrt(sum ||dJ/dW||_2**2)``, in layer order.
        first_last_ratio: ``layer_norms[first] / layer_norms[last]`` over the
            layers with trainable variables (`None` with fewer than two).
        vanishing_variables: variables with norm < `vanishing_threshold`.
        exploding_variables: variables with a non-finite norm or norm >
            `exploding_threshold`.
        vanishing: any vanishing variable, or ``first_last_ratio < 1 / ratio_threshold``.
        exploding: any exploding variable, or ``first_last_ratio > ratio_threshold``.
        epoch: the 0-based epoch it was taken after, or `None` outside `fit`.
    """

    loss: float
    variable_norms: dict
    layer_norms: dict
    first_last_ratio: Optional[float]
    vanishing_variables: tuple
    exploding_variables: tuple
    vanishing: bool
    exploding: bool
    epoch: Optional[int] = None

    @property
    def verdict(self):
        """``"ok"``, ``"vanishing"``, ``"exploding"`` or ``"vanishing and exploding"``."""
        flags = [name for name, on in (("vanishing", self.vanishing), ("exploding", self.exploding)) if on]
        return " and ".join(flags) or "ok"

    def __str__(self):
        rows = []
        for name, norm in self.variable_norms.items():
            flag = "vanishing" if name in self.vanishing_variables else ""
            flag = "exploding" if name in self.exploding_variables else flag
            rows.append((name, f"{norm:.3e}", flag))
        at = "" if self.epoch is None else f" after epoch {self.epoch + 1}"
        ratio = "-" if self.first_last_ratio is None else f"{self.first_last_ratio:.3e}"
        summary = f"gradient norms{at}: loss={self.loss:.4g}, first/last layer ratio={ratio} -> {self.verdict}"
        return summary + "\n" + _table(("variable", "norm", "flag"), rows)
