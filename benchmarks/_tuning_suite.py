"""The synthetic objectives of ``benchmarks/tuning.py`` and the loop that drives an oracle on them.

Every objective is a cheap function of hyperparameters on the course's scales
(a log-uniform learning rate, a momentum coefficient drawn as ``1 - 10**r``, a
layer width, an activation choice), to minimise, with a known minimum of 0: the
score of a search is its regret, the true value at the trial it reports as best.
Writing ``x = log10(learning_rate)``, ``y = log10(1 - beta)``, ``w`` the width and
``pen`` a penalty per activation (relu 0, elu 0.1, tanh 0.3, sigmoid 0.6):

* ``bowl``: ``(x + 2.5)**2 + ((y + 2) / 0.7)**2 + ((w - 100) / 120)**2 + pen``.
* ``valley``: a curved narrow valley (Rosenbrock-like) in ``(x, y)``,
  ``0.3 * (x + 2.2)**2 + 30 * (y + 2.3 - 0.5 * (x + 2.2)**2)**2 + ((w - 64) / 200)**2 + pen``.
* ``deceptive``: a wide basin of depth 0.4 around ``(x, y) = (-1.5, -1.5)``
  and a narrow one of depth 0 around ``(-3.2, -2.6)`` (about 1.4% of the
  ``(x, y)`` square does better than the wide basin's bottom),
  ``min(0.4 + ((x + 1.5) / 1.2)**2 + ((y + 1.5) / 0.8)**2, ((x + 3.2) / 0.35)**2 + ((y + 2.6) / 0.25)**2) + ((w - 100) / 300)**2 + pen / 4``.
* ``noisy``: the bowl, observed with Gaussian noise of standard deviation 0.5
  (as a validation score that varies from run to run); the regret is the
  noise-free value at the trial the search reports as best.
* ``conditional``: an optimizer choice with conditional hyperparameters:
  ``sgd`` (learning rate only) ``0.6 + (x + 1)**2``; ``momentum`` (learning
  rate, beta in [0.5, 0.999]) ``0.3 + (x + 1.5)**2 + ((y + 1.5) / 0.7)**2``;
  ``adam`` (learning rate, beta_1 in [0.5, 0.999], beta_2 in [0.9, 0.9999])
  ``((x + 3) / 0.8)**2 + ((y1 + 1) / 0.7)**2 + ((y2 + 3) / 1.2)**2``, each plus ``pen``.
"""

import math
import time

import keras_tuner
import numpy as np

from kerastools import tuning

PENALTY = {"relu": 0.0, "elu": 0.1, "tanh": 0.3, "sigmoid": 0.6}
NOISE = 0.5


def _common_space(hp):
    lr = tuning.learning_rate(hp)
    beta = tuning.beta(hp)
    units = hp.Int("units", 16, 256)
    activation = hp.Choice("activation", list(PENALTY))
    return math.log10(lr), math.log10(1.0 - beta), units, activation


def bowl(hp):
    x, y, w, a = _common_space(hp)
    return (x + 2.5) ** 2 + ((y + 2.0) / 0.7) ** 2 + ((w - 100) / 120) ** 2 + PENALTY[a]


def valley(hp):
    x, y, w, a = _common_space(hp)
    return 0.3 * (x + 2.2) ** 2 + 30.0 * (y + 2.3 - 0.5 * (x + 2.2) ** 2) ** 2 + ((w - 64) / 200) ** 2 + PENALTY[a]


def deceptive(hp):
    x, y, w, a = _common_space(hp)
    wide = 0.4 + ((x + 1.5) / 1.2) ** 2 + ((y + 1.5) / 0.8) ** 2
    narrow = ((x + 3.2) / 0.35) ** 2 + ((y + 2.6) / 0.25) ** 2
    return min(wide, narrow) + ((w - 100) / 300) ** 2 + PENALTY[a] / 4


def conditional(hp):
    lr = tuning.learning_rate(hp)
    x = math.log10(lr)
    units = hp.Int("units", 16, 256)
    a = hp.Choice("activation", list(PENALTY))
    kind = hp.Choice("optimizer", ["sgd", "momentum", "adam"])
    extra = ((units - 128) / 300) ** 2 + PENALTY[a]
    if kind == "sgd":
        return 0.6 + (x + 1.0) ** 2 + extra
    if kind == "momentum":
        with hp.conditional_scope("optimizer", ["momentum"]):
            y = math.log10(1.0 - tuning.beta(hp, "momentum/beta", 0.5, 0.999))
        return 0.3 + (x + 1.5) ** 2 + ((y + 1.5) / 0.7) ** 2 + extra
    with hp.conditional_scope("optimizer", ["adam"]):
        y1 = math.log10(1.0 - tuning.beta(hp, "adam/beta_1", 0.5, 0.999))
        y2 = math.log10(1.0 - tuning.beta(hp, "adam/beta_2", 0.9, 0.9999))
    return ((x + 3.0) / 0.8) ** 2 + ((y1 + 1.0) / 0.7) ** 2 + ((y2 + 3.0) / 1.2) ** 2 + extra


def _declare_conditional(hp):
    """Declare every branch of `conditional` (a tuner must know the whole space)."""
    tuning.learning_rate(hp)
    hp.Int("units", 16, 256)
    hp.Choice("activation", list(PENALTY))
    hp.Choice("optimizer", ["sgd", "momentum", "adam"])
    with hp.conditional_scope("optimizer", ["momentum"]):
        tuning.beta(hp, "momentum/beta", 0.5, 0.999)
    with hp.conditional_scope("optimizer", ["adam"]):
        tuning.beta(hp, "adam/beta_1", 0.5, 0.999)
        tuning.beta(hp, "adam/beta_2", 0.9, 0.9999)


OBJECTIVES = {
    "bowl": (bowl, _common_space, 0.0),
    "valley": (valley, _common_space, 0.0),
    "deceptive": (deceptive, _common_space, 0.0),
    "noisy": (bowl, _common_space, NOISE),
    "conditional": (conditional, _declare_conditional, 0.0),
}


def space(name):
    hp = keras_tuner.HyperParameters()
    OBJECTIVES[name][1](hp)
    return hp


def true_value(name, values):
    """The noise-free objective at `values` (a dict of hyperparameter values)."""
    hp = space(name)
    hp.values.update(values)
    return OBJECTIVES[name][0](hp)


def make_oracle(kind, name, max_trials, seed, **options):
    common = dict(objective=keras_tuner.Objective("score", "min"), max_trials=max_trials, seed=seed, hyperparameters=space(name))
    if kind == "CoarseToFine":
        return tuning.CoarseToFineOracle(**common, **options)
    if kind == "RandomSearch":
        return keras_tuner.oracles.RandomSearchOracle(**common)
    if kind == "BayesianOptimization":
        return keras_tuner.oracles.BayesianOptimizationOracle(**common)
    raise ValueError(kind)


def run(kind, name, max_trials, seed, directory, **options):
    """One search driven through the oracle's public loop. Returns (regret, oracle seconds per trial, oracle)."""
    function, _, noise = OBJECTIVES[name]
    oracle = make_oracle(kind, name, max_trials, seed, **options)
    oracle._set_project_dir(directory, f"{kind}-{name}-{max_trials}-{seed}")
    oracle.verbose = 0
    # The same noise sequence (by trial order) for every tuner of a seed: common random numbers.
    rng = np.random.default_rng(seed)
    spent, trials = 0.0, 0
    while True:
        start = time.perf_counter()
        trial = oracle.create_trial("tuner0")
        spent += time.perf_counter() - start
        if trial.status != "RUNNING":
            break
        value = function(trial.hyperparameters.copy()) + (noise * rng.standard_normal() if noise else 0.0)
        start = time.perf_counter()
        oracle.update_trial(trial.trial_id, {"score": value})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        spent += time.perf_counter() - start
        trials += 1
    best = oracle.get_best_trials(1)[0]
    regret = true_value(name, best.hyperparameters.values)
    return regret, spent / max(trials, 1), oracle
