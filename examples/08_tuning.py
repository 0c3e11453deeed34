"""Hyperparameter search the course's way: coarse to fine on the digits, and caviar.

    python examples/08_tuning.py [--out DIR] [--smoke] [--caviar]

1. Coarse to fine (`kerastools.tuning.CoarseToFine`): an MLP built from
   kerastools components trained with `kerastools.Momentum`; its learning rate
   is drawn log-uniformly in [1e-4, 1] and its beta as the course's
   ``1 - 10**r`` in [0.5, 0.999]. Three rounds: a stratified coarse round over
   the whole space, then two drawn in boxes around the best trials so far. ``coarse_to_fine.png`` shows the sampled points
   of every round (learning rate against 1 - beta, both on log axes) and the
   box each round sampled from.
2. Caviar (``--caviar``): KerasTuner's distributed mode on this machine, a chief
   (the oracle, a gRPC server on a free local port) and two workers, each a
   separate Python process running this script with the ``KERASTUNER_*``
   variables of `kerastools.tuning.caviar_environment`, made robust to a dying
   worker by `kerastools.tuning.fault_tolerant`. ``caviar.png`` shows which
   worker ran which trial when.

KerasTuner's project folders go under ``--out``. Runs offline (scikit-learn's
digits), on a CPU in about a minute (``--smoke``: seconds) and unchanged on a GPU.
"""

import json
import os
import shutil
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import _common  # noqa: E402  (sets up matplotlib before the imports below)

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import kerastools as kt  # noqa: E402
from kerastools import tuning  # noqa: E402

# What a run writes into --out; --caviar adds CAVIAR_FIGURES.
FIGURES = ("coarse_to_fine.png",)
CAVIAR_FIGURES = ("caviar.png",)
CHILD_FLAG = "--caviar-child"


def build(hp):
    """The hypermodel: a 64-32-10 MLP whose optimizer is chosen by the tuner."""
    keras.utils.set_random_seed(0)  # same initial weights in every trial: scores depend on hyperparameters only
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu", kernel_initializer=kt.initializers.HeNormal(seed=0)),
            kt.layers.Dropout(rate=0.1, seed=0),
            keras.layers.Dense(10),
            kt.layers.Softmax(),
        ]
    )
    optimizer = tuning.optimizer(hp, ("momentum",), ranges={"beta": (0.5, 0.999)})
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def sizes(smoke):
    """(training examples, coarse-to-fine trials, rounds, epochs, caviar trials) for a smoke or a real run."""
    return (300, 4, 2, 1, 4) if smoke else (None, 15, 3, 5, 8)


def load(smoke):
    (x, y), (x_dev, y_dev), (x_test, y_test) = _common.digits()
    limit = sizes(smoke)[0]
    return (x[:limit], y[:limit]), (x_dev, y_dev), (x_test, y_test)


def coarse_to_fine(args):
    (x, y), (x_dev, y_dev), (x_test, y_test) = load(args.smoke)
    _, trials, rounds, epochs, _ = sizes(args.smoke)
    tuner = tuning.CoarseToFine(
        build, objective="val_accuracy", max_trials=trials, rounds=rounds, seed=1, directory=str(args.out), project_name="coarse_to_fine", overwrite=True
    )
    tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=epochs, batch_size=32, verbose=0)
    oracle = tuner.oracle
    print(f"{'trial':>5s} {'round':>5s} {'learning_rate':>14s} {'beta':>8s} {'val_accuracy':>13s}")
    points = []
    for index, trial_id in enumerate(oracle.start_order):
        trial = oracle.trials[trial_id]
        values = tuning.hyperparameter_values(trial.hyperparameters)
        points.append((oracle.round_of(index), values["learning_rate"], values["momentum/beta"], trial.score))
        print(f"{trial_id:>5s} {points[-1][0]:5d} {points[-1][1]:14.5f} {points[-1][2]:8.4f} {trial.score:13.4f}")
    for r in range(rounds):
        print(f"round {r} box: {oracle.ranges(r) or 'the whole prior'}")
    # Retrain the best configuration (KerasTuner's advice) and measure it once on the test split.
    best_hp = tuner.get_best_hyperparameters()[0]
    best = tuner.hypermodel.build(best_hp)
    best.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    test_accuracy = best.evaluate(x_test, y_test, verbose=0)[1]
    print(f"best: {tuning.hyperparameter_values(best_hp)}, test accuracy {test_accuracy:.3f}")
    assert _common.finite([p[3] for p in points])
    plot_rounds(points, oracle, rounds, args.out)


def plot_rounds(points, oracle, rounds, out):
    fig, ax = plt.subplots(figsize=(6.5, 5))
    colours = plt.cm.viridis(np.linspace(0.0, 0.85, rounds))
    for r in range(rounds):
        box = oracle.ranges(r)
        lr = box.get("learning_rate", (1e-4, 1.0))
        one_minus = box.get("momentum/1-beta", (1 - 0.999, 1 - 0.5))
        ax.add_patch(plt.Rectangle((lr[0], one_minus[0]), lr[1] - lr[0], one_minus[1] - one_minus[0], fill=False, ls="--", ec=colours[r]))
        mine = [p for p in points if p[0] == r]
        sizes_ = [20 + 200 * max(p[3], 0.0) for p in mine]
        ax.scatter([p[1] for p in mine], [1 - p[2] for p in mine], s=sizes_, color=colours[r], label=f"round {r}", alpha=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_ylim(1e-3, 0.5)
    ticks = [0.5, 0.9, 0.99, 0.999]
    ax.set_yticks([1 - b for b in ticks], [f"β={b}" for b in ticks])
    ax.invert_yaxis()
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("momentum β (1 − β on a log scale)")
    ax.set_title("Coarse to fine: sampled points per round (size: val accuracy)")
    ax.legend(loc="lower left")
    _common.save_figure(fig, out, "coarse_to_fine.png")
    plt.close(fig)


class TimedRandomSearch(keras_tuner.RandomSearch):
    """Random search that writes when each trial started and ended (for the plot)."""

    def on_trial_begin(self, trial):
        self._began = time.time()
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        record = {"tuner": self.tuner_id, "trial": trial.trial_id, "begin": self._began, "end": time.time()}
        with open(os.path.join(self.project_dir, f"times-{self.tuner_id}.jsonl"), "a") as handle:
            handle.write(json.dumps(record) + "\n")
        super().on_trial_end(trial)


def caviar_child(args):
    """One process of the caviar: KerasTuner reads its role from KERASTUNER_TUNER_ID."""
    (x, y), (x_dev, y_dev), _ = load(args.smoke)
    _, _, _, epochs, trials = sizes(args.smoke)
    tuner = TimedRandomSearch(build, objective="val_accuracy", max_trials=trials, seed=2, directory=str(args.out), project_name="caviar")
    tuning.fault_tolerant(tuner, trial_timeout=30.0)
    tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=epochs, batch_size=32, verbose=0)
    if tuner.tuner_id == "chief":
        scores = {t.trial_id: t.score for t in tuner.oracle.trials.values()}
        with open(os.path.join(tuner.project_dir, "scores.json"), "w") as handle:
            json.dump(scores, handle)


def caviar(args):
    """Start a chief and two workers on localhost and wait for them."""
    project = args.out / "caviar"
    shutil.rmtree(project, ignore_errors=True)  # a fresh search each run
    port = tuning.free_port()
    command = [sys.executable, os.path.abspath(__file__), CHILD_FLAG, "--out", str(args.out)] + (["--smoke"] if args.smoke else [])
    processes, logs = {}, {}
    try:
        for tuner_id in ("chief", "tuner0", "tuner1"):
            env = dict(os.environ, **tuning.caviar_environment(tuner_id, port))
            # Each process's output goes to a log file: KerasTuner 1.4.8 prints
            # every conditional hyperparameter's parent value when a worker sends
            # it to the chief, a line per trial and condition.
            logs[tuner_id] = open(args.out / f"caviar-{tuner_id}.log", "w")
            processes[tuner_id] = subprocess.Popen(command, env=env, stdout=logs[tuner_id], stderr=subprocess.STDOUT)
        for tuner_id, process in processes.items():
            if process.wait(timeout=600) != 0:
                raise SystemExit(f"caviar: {tuner_id} exited with {process.returncode}; see {logs[tuner_id].name}")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        for handle in logs.values():
            handle.close()
    with open(project / "scores.json") as handle:
        scores = json.load(handle)
    records = []
    for tuner_id in ("tuner0", "tuner1"):
        path = project / f"times-{tuner_id}.jsonl"
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines()]
    print(f"caviar: {len(scores)} trials, best val_accuracy {max(scores.values()):.4f}, run by {sorted({r['tuner'] for r in records})}")
    plot_caviar(records, scores, args.out)


def plot_caviar(records, scores, out):
    start = min(r["begin"] for r in records)
    fig, ax = plt.subplots(figsize=(7, 2.5))
    workers = sorted({r["tuner"] for r in records})
    for row, worker in enumerate(workers):
        for r in (r for r in records if r["tuner"] == worker):
            ax.barh(row, r["end"] - r["begin"], left=r["begin"] - start, color="tab:blue", alpha=0.6, edgecolor="k")
            ax.text(r["begin"] - start + 0.05, row, f"#{r['trial']} {scores[r['trial']]:.2f}", va="center", fontsize=7)
    ax.set_yticks(range(len(workers)), workers)
    ax.set_xlabel("seconds since the first trial")
    ax.set_title("Caviar: trials run in parallel by two workers (val accuracy)")
    _common.save_figure(fig, out, "caviar.png")
    plt.close(fig)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    child = CHILD_FLAG in argv
    if child:
        argv.remove(CHILD_FLAG)

    def configure(parser):
        parser.add_argument("--caviar", action="store_true", help="also run the distributed demo (a chief and two workers)")

    args = _common.parse_args(__doc__, "08_tuning", argv, configure)
    if child:
        caviar_child(args)
        return
    coarse_to_fine(args)
    if args.caviar:
        caviar(args)


if __name__ == "__main__":
    main()
