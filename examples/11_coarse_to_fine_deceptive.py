"""Coarse to fine on a deceptive objective: a wide mediocre basin and a narrow better one.

    python examples/11_coarse_to_fine_deceptive.py [--trials 60] [--seed 1017] [--restart 0] [--out DIR] [--smoke]

The objective is the ``deceptive`` one of ``benchmarks/tuning.py``, on the
course's scales: ``x = log10(learning_rate)`` (learning rate log-uniform in
[1e-4, 1]) and ``y = log10(1 - beta)`` (beta drawn as ``1 - 10**r`` in
[0.9, 0.999]); a wide basin of depth 0.4 around ``(x, y) = (-1.5, -1.5)`` and
a narrow one of depth 0 around ``(-3.2, -2.6)``. Each trial costs microseconds
(no model is trained): `kerastools.tuning.CoarseToFine` and
`keras_tuner.RandomSearch` get the same trials and the same seed.

``coarse_to_fine_deceptive.png`` shows, over the objective's contours, every
trial of the coarse-to-fine search coloured by its round (round 0: a Latin
hypercube, one trial in each of its 24 strips of each axis), the boxes each
later round sampled in (dashed, one colour per round; they widen after a round
that improved and narrow after one that did not; a good trial with no good
trial near it, away from the best cluster, gets a box a quarter as wide,
``lone_width=0.25``; with ``--restart 2``, a
restart round, drawn from the whole space after two rounds of boxes without
progress, has no box and is marked "restart" in the legend) and any trials
that explored the whole space
(crosses: with the default ``explore=0.15`` only rounds of 7 trials or more
have them, so none at 60 trials); the right panel shows random search's
trials. Runs in a few seconds.

With the default seed the search stays in the wide basin (regret 0.408;
random search, 0.150, landed near the narrow one). ``--seed 5017`` shows a
search that finds the narrow basin: round 1 puts a small box around a
round-0 trial on its edge, and the later boxes close in on it (regret 0.012,
random search 0.073). On the benchmark's version of the objective (which
adds a layer width and an activation), over its 100 seeds at 60 trials,
`CoarseToFine` reaches the narrow basin on 56 and random search on 51.
"""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import _common  # sets up matplotlib and quiet TensorFlow before the imports below

import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402

from kerastools import tuning  # noqa: E402

FIGURES = ("coarse_to_fine_deceptive.png",)


def deceptive(x, y):
    wide = 0.4 + ((x + 1.5) / 1.2) ** 2 + ((y + 1.5) / 0.8) ** 2
    narrow = ((x + 3.2) / 0.35) ** 2 + ((y + 2.6) / 0.25) ** 2
    return np.minimum(wide, narrow)


def declare(hp):
    return math.log10(tuning.learning_rate(hp)), math.log10(1.0 - tuning.beta(hp))


class Deceptive(tuning.CoarseToFine):
    def run_trial(self, trial, **kwargs):
        return float(deceptive(*declare(trial.hyperparameters)))


class DeceptiveRandom(keras_tuner.RandomSearch):
    def run_trial(self, trial, **kwargs):
        return float(deceptive(*declare(trial.hyperparameters)))


def run(cls, args, name, **options):
    hp = keras_tuner.HyperParameters()
    declare(hp)
    tuner = cls(hyperparameters=hp, max_trials=args.trials, seed=args.seed, directory=str(args.out), project_name=name, overwrite=True, **options)
    tuner.search(verbose=0)
    oracle = tuner.oracle
    points = []
    for index, trial_id in enumerate(oracle.start_order):
        values = oracle.trials[trial_id].hyperparameters.values
        points.append((index, math.log10(values["learning_rate"]), math.log10(values["1-beta"]), oracle.trials[trial_id].score))
    return oracle, points


def main(argv=None):
    args = _common.parse_args(
        __doc__,
        "11_coarse_to_fine_deceptive",
        argv,
        lambda p: (
            p.add_argument("--trials", type=int, default=60),
            p.add_argument("--seed", type=int, default=1017),
            p.add_argument("--restart", type=int, default=0, help="CoarseToFine's `restart` (0: never)"),
        ),
    )
    if args.smoke:
        args.trials = 12
    ctf, ctf_points = run(Deceptive, args, "coarse_to_fine", restart=args.restart)
    _, rnd_points = run(DeceptiveRandom, args, "random")
    best_c, best_r = min(p[3] for p in ctf_points), min(p[3] for p in rnd_points)
    print(f"{args.trials} trials, seed {args.seed}: rounds {ctf.round_sizes()}")
    print(f"best CoarseToFine {best_c:.4f}  best RandomSearch {best_r:.4f}  (0 is the optimum, 0.4 the wide basin's bottom)")
    print(f"round 0: a Latin hypercube of {ctf.round_sizes()[0]} trials over the whole space")
    for k in range(1, len(ctf.boxes)):
        if ctf.is_restart(k):
            print(f"round {k}: a restart, drawn from the whole space (the rounds before it found nothing better)")
        else:
            print(f"round {k}: {len(ctf.boxes_of(k))} box(es) of width >= {ctf.width(k):.3f}, {ctf.boxes[k]['explore']} explorer(s)")
    assert _common.finite([best_c, best_r])
    plot(ctf, ctf_points, rnd_points, args)


def plot(oracle, ctf_points, rnd_points, args):
    from matplotlib.patches import Rectangle

    fig, axes = _common.figure(1, 2, width=5.5, height=4.5)
    xs, ys = np.linspace(-4, 0, 300), np.linspace(-3, -1, 200)
    grid = deceptive(*np.meshgrid(xs, ys))
    sizes = oracle.round_sizes()
    colours = [_colour(k, len(sizes)) for k in range(len(sizes))]
    for ax, title in zip(axes[0], ("CoarseToFine", "RandomSearch")):
        ax.contourf(xs, ys, np.log10(grid + 0.05), levels=20, cmap="Greys_r", alpha=0.6)
        ax.set_xlabel("log10(learning rate)")
        ax.set_ylabel("log10(1 - beta)")
        ax.set_xlim(-4, 0)
        ax.set_ylim(-3, -1)
        ax.set_title(title)
    ax = axes[0, 0]
    for k in range(1, len(oracle.boxes)):
        for box in [] if oracle.is_restart(k) else oracle.boxes_of(k):
            lo_x, hi_x = box["intervals"].get("learning_rate", [0.0, 1.0])
            lo_y, hi_y = box["intervals"].get("1-beta", [0.0, 1.0])
            # unit coordinates to log10 values: 4 decades of learning rate from -4, 2 of 1 - beta from -3
            ax.add_patch(Rectangle((-4 + 4 * lo_x, -3 + 2 * lo_y), 4 * (hi_x - lo_x), 2 * (hi_y - lo_y), fill=False, ls="--", ec=colours[k]))
    for index, x, y, _ in ctf_points:
        k = oracle.round_of(index)
        explorer = k > 0 and index - sum(sizes[:k]) >= sizes[k] - oracle.boxes[k]["explore"]
        label = f"round {k}" + (" (restart)" if k > 0 and oracle.is_restart(k) else "")
        ax.scatter([x], [y], color=colours[k], marker="x" if explorer else "o", s=22, label=label if index == sum(sizes[:k]) else None)
    ax.legend(loc="upper left", fontsize=7)
    axes[0, 1].scatter([p[1] for p in rnd_points], [p[2] for p in rnd_points], color="tab:blue", s=18)
    _common.save_figure(fig, args.out, "coarse_to_fine_deceptive.png")


def _colour(k, n):
    from matplotlib import colormaps

    return colormaps["viridis"](0.85 * k / max(n - 1, 1))


if __name__ == "__main__":
    main()
