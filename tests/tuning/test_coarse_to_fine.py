"""CoarseToFine: the boxes follow the documented rule, resumption, a synthetic objective."""

import math

import keras_tuner
import numpy as np
import pytest

from kerastools import tuning
from kerastools.tuning.coarse_to_fine_oracle import round_sizes, zoom_interval
from tests.tuning import reference

OPTIMUM = {"log_lr": -2.5, "log_one_minus_beta": -2.0, "opt": "b", "units": 24}


def declare(hp):
    lr = tuning.learning_rate(hp)  # log-uniform [1e-4, 1]
    beta = tuning.beta(hp)  # 1 - 10**r, r in [-3, -1]
    opt = hp.Choice("opt", ["a", "b", "c"])
    units = hp.Int("units", 8, 40)
    return lr, beta, opt, units


def objective(hp):
    lr, beta, opt, units = declare(hp)
    return (
        (math.log10(lr) - OPTIMUM["log_lr"]) ** 2
        + (math.log10(1 - beta) - OPTIMUM["log_one_minus_beta"]) ** 2
        + (0.0 if opt == OPTIMUM["opt"] else 1.0)
        + ((units - OPTIMUM["units"]) / 32) ** 2
    )


class Synthetic(tuning.CoarseToFine):
    """A tuner whose trial is the cheap `objective` (to minimise); `stop_at` aborts a search."""

    stop_at = None

    def run_trial(self, trial, **kwargs):
        if self.stop_at is not None and trial.trial_id == self.stop_at:
            raise keras_tuner.errors.FatalError("interrupted on purpose")
        return objective(trial.hyperparameters)


class SyntheticRandom(keras_tuner.RandomSearch):
    def run_trial(self, trial, **kwargs):
        return objective(trial.hyperparameters)


def space():
    hp = keras_tuner.HyperParameters()
    declare(hp)
    return hp


def search(cls, directory, name, seed, max_trials=12, overwrite=True, **kwargs):
    tuner = cls(hyperparameters=space(), max_trials=max_trials, seed=seed, directory=str(directory), project_name=name, overwrite=overwrite, **kwargs)
    tuner.search(verbose=0)
    return tuner


def trials_in_order(oracle):
    return [oracle.trials[t] for t in oracle.start_order]


def unit(name, value):
    """Coordinate in [0, 1] of a value, from the priors of `declare` (independent of KerasTuner)."""
    if name == "learning_rate":
        return (math.log10(value) + 4) / 4
    if name == "1-beta":
        return (math.log10(value) + 3) / 2
    if name == "units":
        return (value + 0.5 - 8) / (40 + 1 - 8)  # KerasTuner's Int: bins of width 1 over [8, 41)
    raise KeyError(name)


def test_round_sizes():
    assert round_sizes(12, 3) == [6, 3, 3]  # half for the coarse round, the rest evenly
    assert round_sizes(10, 3) == [5, 3, 2]
    assert round_sizes(7, 1) == [7]
    assert round_sizes(4, 3) == [2, 1, 1]
    assert round_sizes(5, 5) == [1, 1, 1, 1, 1]


@pytest.mark.parametrize(
    "previous, points, zoom, expected",
    [
        ((0.0, 1.0), [0.5], 0.5, (0.25, 0.75)),  # halved around the best point
        ((0.0, 1.0), [0.1], 0.5, (0.0, 0.5)),  # pushed back inside [0, 1], width kept
        ((0.0, 1.0), [0.95, 0.99], 0.5, (0.5, 1.0)),
        ((0.2, 0.6), [0.3, 0.35], 0.5, (0.225, 0.425)),
        ((0.0, 1.0), [0.1, 0.9], 0.5, (0.1, 0.9)),  # the best points are wider apart: keep them all
        ((0.4, 0.5), [0.0, 1.0], 0.5, (0.0, 1.0)),  # never wider than the prior
    ],
)
def test_zoom_interval_cases(previous, points, zoom, expected):
    np.testing.assert_allclose(zoom_interval(previous, points, zoom), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(reference.coarse_to_fine_interval(previous, points, zoom), expected, rtol=0, atol=1e-15)


def test_boxes_follow_the_rule(tmp_path):
    zoom, top_fraction = 0.5, 0.25
    tuner = search(Synthetic, tmp_path, "rule", seed=7, rounds=3, zoom=zoom, top_fraction=top_fraction)
    oracle = tuner.oracle
    trials = trials_in_order(oracle)
    sizes = round_sizes(12, 3)
    assert len(trials) == 12 and len(oracle.boxes) == 3
    assert oracle.boxes[0] == {"intervals": {}, "choices": {}}
    previous = {name: (0.0, 1.0) for name in ("learning_rate", "1-beta", "units")}
    for k in (1, 2):
        done = trials[: sum(sizes[:k])]
        scores = [objective(t.hyperparameters) for t in done]
        order = sorted(range(len(done)), key=lambda i: (scores[i], i))
        top = [done[i] for i in order[: max(1, math.ceil(top_fraction * len(done)))]]
        box = oracle.boxes[k]
        for name in previous:
            points = [unit(name, t.hyperparameters.values[name]) for t in top]
            expected = reference.coarse_to_fine_interval(previous[name], points, zoom)
            np.testing.assert_allclose(box["intervals"][name], expected, rtol=0, atol=1e-12, err_msg=name)
            previous[name] = expected
        assert box["choices"] == {"opt": [v for v in ["a", "b", "c"] if v in {t.hyperparameters.values["opt"] for t in top}]}
        # Every trial of round k was drawn inside the box.
        for t in trials[sum(sizes[:k]) : sum(sizes[: k + 1])]:
            for name, (lo, hi) in box["intervals"].items():
                assert lo - 1e-12 <= unit(name, t.hyperparameters.values[name]) <= hi + 1e-12, (k, name)
            assert t.hyperparameters.values["opt"] in box["choices"]["opt"]
    lo, hi = oracle.boxes[2]["intervals"]["learning_rate"]
    # ranges() reports the box in the parameters' own units.
    low, high = oracle.ranges(2)["learning_rate"]
    assert low == pytest.approx(10 ** (4 * lo - 4)) and high == pytest.approx(10 ** (4 * hi - 4))
    assert oracle.ranges(2)["opt"] == oracle.boxes[2]["choices"]["opt"]


def test_resumption_continues_the_same_rounds(tmp_path):
    straight = search(Synthetic, tmp_path, "straight", seed=3, rounds=3)
    Synthetic.stop_at = "05"  # trial ids are zero-padded to the width of max_trials
    try:
        with pytest.raises(keras_tuner.errors.FatalError, match="interrupted on purpose"):
            search(Synthetic, tmp_path, "resumed", seed=3, rounds=3)
    finally:
        Synthetic.stop_at = None
    resumed = search(Synthetic, tmp_path, "resumed", seed=3, rounds=3, overwrite=False)
    a, b = trials_in_order(straight.oracle), trials_in_order(resumed.oracle)
    assert [t.trial_id for t in a] == [t.trial_id for t in b]
    assert [t.hyperparameters.values for t in a] == [t.hyperparameters.values for t in b]
    assert [t.status for t in b] == ["COMPLETED"] * 12
    assert resumed.oracle.boxes == straight.oracle.boxes


def test_resuming_with_other_rounds_is_refused(tmp_path):
    search(Synthetic, tmp_path, "p", seed=0, max_trials=4, rounds=2)
    with pytest.raises(ValueError, match=r"searched with rounds=\[2, 2\]; this tuner has rounds=\[1, 1, 1, 1\]. Use the same value, or pass overwrite=True"):
        Synthetic(hyperparameters=space(), max_trials=4, rounds=4, directory=str(tmp_path), project_name="p")


@pytest.mark.slow
def test_finds_good_values_and_beats_random_search(tmp_path):
    best = {"coarse_to_fine": [], "random": []}
    # KerasTuner draws with Random(seed + k) for the k-th value, so nearby seeds share
    # most of their draws (and its RandomSearch takes seed=0 as no seed): spaced seeds.
    for seed in (1, 1001, 2001, 3001):
        ctf = search(Synthetic, tmp_path, f"c{seed}", seed=seed, max_trials=36, rounds=3)
        rnd = search(SyntheticRandom, tmp_path, f"r{seed}", seed=seed, max_trials=36, objective=None)
        best["coarse_to_fine"].append(ctf.oracle.get_best_trials()[0].score)
        best["random"].append(rnd.oracle.get_best_trials()[0].score)
        values = tuning.hyperparameter_values(ctf.get_best_hyperparameters()[0])
        # Within a factor of 2 (0.3 decade) of the best learning rate and of the best 1 - beta.
        assert abs(math.log10(values["learning_rate"]) - OPTIMUM["log_lr"]) < 0.3
        assert abs(math.log10(1 - values["beta"]) - OPTIMUM["log_one_minus_beta"]) < 0.3
        assert values["opt"] == "b"
    # At the same budget, a better best trial than random search on average.
    assert np.mean(best["coarse_to_fine"]) < np.mean(best["random"])


def test_rounds_of_given_sizes(tmp_path):
    tuner = search(Synthetic, tmp_path, "sizes", seed=5, max_trials=7, rounds=[4, 2, 1])
    assert tuner.oracle.round_sizes() == [4, 2, 1] and len(tuner.oracle.boxes) == 3
    assert [tuner.oracle.round_of(i) for i in range(7)] == [0, 0, 0, 0, 1, 1, 2]


def test_seed_zero_is_a_seed(tmp_path):
    """KerasTuner's Oracle treats seed=0 as "no seed"; CoarseToFine does not."""
    runs = [search(Synthetic, tmp_path, f"zero{i}", seed=0, max_trials=4, rounds=2) for i in range(2)]
    assert [t.hyperparameters.values for t in trials_in_order(runs[0].oracle)] == [t.hyperparameters.values for t in trials_in_order(runs[1].oracle)]


def test_prune_choices_off_and_single_round(tmp_path):
    tuner = search(Synthetic, tmp_path, "p", seed=1, max_trials=6, rounds=2, prune_choices=False)
    assert tuner.oracle.boxes[1]["choices"] == {}
    single = search(Synthetic, tmp_path, "s", seed=1, max_trials=3, rounds=1)
    assert single.oracle.boxes == [{"intervals": {}, "choices": {}}]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_trials": 2, "rounds": 3}, ValueError, r"`rounds` must be an integer in \[1, 2\]. Received: rounds=3"),
        ({"rounds": 0}, ValueError, r"`rounds` must be an integer in \[1, 10\]. Received: rounds=0"),
        ({"max_trials": 0}, ValueError, r"`max_trials` must be an integer >= 1. Received: max_trials=0"),
        ({"max_trials": None}, TypeError, r"`max_trials` must be an integer. Received: max_trials=None"),
        ({"zoom": 0.0}, ValueError, r"`zoom` must be in \(0, 1\]. Received: zoom=0.0"),
        ({"zoom": 1.5}, ValueError, r"`zoom` must be in \(0, 1\]. Received: zoom=1.5"),
        ({"top_fraction": 0}, ValueError, r"`top_fraction` must be in \(0, 1\]. Received: top_fraction=0.0"),
        ({"prune_choices": "yes"}, TypeError, r"`prune_choices` must be a bool. Received: prune_choices='yes'"),
        ({"max_trials": 6, "rounds": [4, 1]}, ValueError, r"`rounds` must add up to max_trials=6 trials. Received: rounds=\[4, 1\] \(sum 5\)"),
        ({"rounds": []}, ValueError, r"`rounds` must not be empty. Received: rounds=\[\]"),
        ({"max_trials": 3, "rounds": [3, 0]}, ValueError, r"`rounds\[1\]` must be an integer >= 1. Received: rounds\[1\]=0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        tuning.CoarseToFineOracle(objective="loss", **kwargs)


def test_ranges_of_a_round_not_started(tmp_path):
    tuner = search(Synthetic, tmp_path, "p", seed=1, max_trials=2, rounds=2)
    with pytest.raises(ValueError, match=r"Round 2 has not started yet. Received: round_index=2"):
        tuner.oracle.ranges(2)
