"""Every kerastools learning-rate schedule, plotted over 1,000 optimizer steps.

    python examples/06_schedules.py [--steps 1000] [--out DIR] [--smoke]

One panel per class of `kerastools.schedules`, each drawn with
`kerastools.schedules.plot(schedule, steps, ax=...)` and, where the class has
one, a variant (`staircase`, `cycle`, another mode): the course's fractional
(inverse-time) decay, counted in steps and in epochs (`steps_per_epoch`);
piecewise-constant, exponential and natural-exponential decay; polynomial
decay; cosine decay with and without warm-up; linear cosine decay and its
noisy variant (seeded: the same curve on every run); SGDR restarts; a linear
warm-up wrapped around a cosine; Smith's cyclical rates (triangular,
triangular2, exp_range); one-cycle; two schedules joined by `Sequential`; and
`ScaledSchedule` as `kerastools.callbacks.ReduceLROnPlateau` lowers it.

The script checks that every schedule class exported by `kerastools.schedules`
has a panel (a new class without one is an error), prints each schedule's rate
at the first and last step, and writes `schedules.png` (a 4 x 4 grid).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import _common  # noqa: E402
from kerastools import schedules as S  # noqa: E402

FIGURES = ("schedules.png",)


def panels(n):
    """(title, [(label, schedule), ...]) for `n` steps; step counts scale with `n`."""
    d = max(1, n // 10)  # a "decay period" of a tenth of the run
    epoch = max(1, n // 10)  # pretend an epoch is a tenth of the run
    cosine = S.CosineDecay(0.1, n - 2 * d)
    return [
        ("InverseTimeDecay (fractional)", [("r0/(1 + k·g/d)", S.InverseTimeDecay(0.1, d, 1.0)),
                                           ("by epoch", S.InverseTimeDecay(0.1, 1, 1.0, steps_per_epoch=epoch))]),
        ("PiecewiseConstantDecay", [("values", S.PiecewiseConstantDecay([3 * d, 6 * d], [0.1, 0.05, 0.01]))]),
        ("ExponentialDecay", [("r0·k^(g/d)", S.ExponentialDecay(0.1, d, 0.7)),
                              ("staircase", S.ExponentialDecay(0.1, d, 0.7, staircase=True))]),
        ("NaturalExpDecay", [("r0·exp(−k·g/d)", S.NaturalExpDecay(0.1, d, 0.3)),
                             ("staircase", S.NaturalExpDecay(0.1, d, 0.3, staircase=True))]),
        ("PolynomialDecay", [("power 2", S.PolynomialDecay(0.1, 6 * d, 1e-3, power=2.0)),
                             ("cycle", S.PolynomialDecay(0.1, 3 * d, 1e-3, power=1.0, cycle=True))]),
        ("CosineDecay", [("alpha 0.1", S.CosineDecay(0.1, n, alpha=0.1)),
                         ("warm-up", S.CosineDecay(0.0, n - 2 * d, warmup_target=0.1, warmup_steps=2 * d))]),
        ("LinearCosineDecay", [("2 periods", S.LinearCosineDecay(0.1, n, num_periods=2.0))]),
        ("NoisyLinearCosineDecay", [("seed 0", S.NoisyLinearCosineDecay(0.1, n, initial_variance=0.02, num_periods=2.0, seed=0))]),
        ("CosineDecayRestarts (SGDR)", [("t_mul 2, m_mul 0.8", S.CosineDecayRestarts(0.1, d, t_mul=2.0, m_mul=0.8))]),
        ("Warmup", [("2d steps, then cosine", S.Warmup(cosine, warmup_steps=2 * d))]),
        ("CyclicalLearningRate", [(mode, S.CyclicalLearningRate(0.01, 0.1, d, mode=mode, gamma=0.999 if mode == "exp_range" else 1.0))
                                  for mode in ("triangular", "triangular2", "exp_range")]),
        ("OneCycle", [("three phases", S.OneCycle(0.004, 0.1, n)),
                      ("two, cosine", S.OneCycle(0.004, 0.1, n, pct_start=0.3, three_phase=False, anneal_strategy="cos"))]),
        ("Sequential", [("exponential, then SGDR", S.Sequential([S.ExponentialDecay(0.1, d, 0.5), S.CosineDecayRestarts(0.02, d)], [4 * d]))]),
        ("ScaledSchedule", [("scale 1", S.ScaledSchedule(S.ExponentialDecay(0.1, 3 * d, 0.5))),
                            ("scale 0.5 (ReduceLROnPlateau, factor 0.5)", S.ScaledSchedule(S.ExponentialDecay(0.1, 3 * d, 0.5), scale=0.5))]),
    ]


def check_coverage(drawn):
    """Every schedule class `kerastools.schedules` exports must have a panel."""
    exported = {name for name in S.__all__ if isinstance(getattr(S, name), type)}
    missing = exported - drawn
    if missing:
        raise SystemExit(f"schedules without a panel: {sorted(missing)}")


def main(argv=None):
    def configure(parser):
        parser.add_argument("--steps", type=int, default=1000, help="optimizer steps to plot (default 1000)")

    args = _common.parse_args(__doc__, "06_schedules", argv, configure)
    n = 100 if args.smoke else args.steps
    chosen = panels(n)
    check_coverage({type(schedule).__name__ for _, curves in chosen for _, schedule in curves})
    cols = 4
    fig, axes = _common.figure(-(-len(chosen) // cols), cols, width=3.2, height=2.4)
    rates = {}
    for ax, (title, curves) in zip(axes.flat, chosen):
        for label, schedule in curves:
            S.plot(schedule, n, ax=ax, label=label)
            first, last = float(schedule(0)), float(schedule(n - 1))
            rates[f"{title}: {label}"] = (first, last)
            print(f"{title:30} {label:28} step 0: {first:.4g}  step {n - 1}: {last:.4g}")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in axes.flat[len(chosen):]:
        ax.set_visible(False)
    if not _common.finite([r for pair in rates.values() for r in pair]):
        raise SystemExit("a schedule returned a non-finite rate")
    fig.suptitle(f"kerastools.schedules: the learning rate over {n} steps")
    _common.save_figure(fig, args.out, FIGURES[0])
    return rates


if __name__ == "__main__":
    main()
