"""CoarseToFine: the plan of each round follows the documented rule, resumption, a synthetic objective."""

import json
import math

import keras_tuner
import numpy as np
import pytest

from kerastools import tuning
from kerastools.tuning import _boxes
from kerastools.tuning.coarse_to_fine_oracle import auto_rounds, round_sizes
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


NUMERICAL = ("learning_rate", "1-beta", "units")


# -- the pure steps, against hand-computed cases -------------------------------


def test_round_sizes():
    assert round_sizes(12, 3) == [5, 4, 3]  # ceil(40%) for the coarse round, the rest evenly
    assert round_sizes(10, 3) == [4, 3, 3]
    assert round_sizes(7, 1) == [7]
    assert round_sizes(4, 3) == [2, 1, 1]
    assert round_sizes(5, 5) == [1, 1, 1, 1, 1]  # round 0 gives up trials so that every round has one


@pytest.mark.parametrize(
    "max_trials, sizes",
    [
        (1, [1]),
        (5, [5]),  # too few trials to zoom: round 0 only
        (6, [3, 2, 1]),  # 3 later trials, rounds of max(2, round(sqrt(6) / 1.5) = 2) -> round(1.5) = 2 rounds
        (12, [5, 2, 2, 2, 1]),  # 7 later trials in rounds of 2 -> round(3.5) = 4 rounds
        (30, [12, 5, 5, 4, 4]),  # round(sqrt(30) / 1.5) = round(3.65) = 4; 18 / 4 -> 4 rounds
        (60, [24, 6, 5, 5, 5, 5, 5, 5]),  # round(7.75 / 1.5) = 5; 36 / 5 -> 7 rounds
    ],
)
def test_auto_rounds(max_trials, sizes):
    assert round_sizes(max_trials, auto_rounds(max_trials)) == sizes
    oracle = tuning.CoarseToFineOracle(objective="loss", max_trials=max_trials)
    assert oracle.round_sizes() == sizes


@pytest.mark.parametrize(
    "size, explore, expected",
    [(2, 0.25, (2, 0)), (4, 0.25, (3, 1)), (5, 0.25, (4, 1)), (8, 0.25, (6, 2)), (3, 0.0, (3, 0)), (3, 0.99, (1, 2)), (1, 0.5, (1, 0))],
)
def test_split_round(size, explore, expected):
    assert _boxes.split_round(size, explore) == expected


def test_clusters_by_hand():
    points = [
        ({"x": 0.10, "y": 0.10}, {}),  # leads cluster 0
        ({"x": 0.30, "y": 0.15}, {}),  # 0.20 from the leader in x: joins 0
        ({"x": 0.80, "y": 0.10}, {}),  # 0.70 away: leads cluster 1
        ({"x": 0.15, "y": 0.60}, {}),  # 0.50 away in y (> 0.25): leads cluster 2
        ({"x": 0.90, "y": 0.90}, {}),  # far from everything, but only 3 boxes: left out
        ({"x": 0.70, "y": 0.20}, {}),  # within 0.25 of cluster 1's leader
    ]
    assert _boxes.clusters(points, radius=0.25, max_boxes=3) == [[0, 1], [2, 5], [3]]
    assert _boxes.clusters(points, radius=0.25, max_boxes=1) == [[0, 1]]
    assert _boxes.clusters(points, radius=1.0, max_boxes=3) == [[0, 1, 2, 3, 4, 5]]
    # Only shared coordinates count (conditional parameters): no shared one means distance 0.
    assert _boxes.distance({"x": 0.1}, {"z": 0.9}) == 0.0
    assert _boxes.distance({"x": 0.1, "z": 0.2}, {"x": 0.4, "z": 0.9}) == pytest.approx(0.7)


def test_least_width_by_hand():
    # The first cluster keeps the round's width even alone; a later cluster of one gets
    # lone_width of it; a later cluster of two or more keeps it.
    assert _boxes.least_width([0], 0.5, 0.25) == 0.5
    assert _boxes.least_width([0, 3], 0.5, 0.25) == 0.5
    assert _boxes.least_width([2], 0.5, 0.25) == 0.125
    assert _boxes.least_width([2, 4], 0.5, 0.25) == 0.5
    assert _boxes.least_width([2], 0.5, 1.0) == 0.5


@pytest.mark.parametrize(
    "members, width, expected",
    [
        ([0.5], 0.5, (0.25, 0.75)),  # one member: the minimum width around it
        ([0.1], 0.5, (0.0, 0.5)),  # pushed back inside [0, 1], width kept
        ([0.95, 0.99], 0.5, (0.5, 1.0)),
        ([0.3, 0.35], 0.25, (0.2, 0.45)),
        ([0.1, 0.9], 0.5, (0.1, 0.9)),  # the members are wider apart: keep them all
        ([0.0, 1.0], 0.05, (0.0, 1.0)),  # never wider than the prior
    ],
)
def test_interval_cases(members, width, expected):
    centre = 0.5 * (min(members) + max(members))
    np.testing.assert_allclose(_boxes.interval(centre, members, width), expected, rtol=0, atol=1e-15)
    # The independent reference by cases: its new width is max(zoom * previous width, spread).
    np.testing.assert_allclose(reference.coarse_to_fine_interval((0.0, 2 * width), members, 0.5), expected, rtol=0, atol=1e-15)


def test_box_by_hand():
    points = [
        ({"x": 0.2, "y": 0.5}, {"act": "tanh", "opt": "sgd"}),
        ({"x": 0.3}, {"act": "relu"}),  # y and opt inactive here
        ({"x": 0.9, "y": 0.1}, {"act": "elu", "opt": "adam"}),
    ]
    values = {"act": ["relu", "tanh", "elu"], "opt": ["sgd", "adam"]}
    b = _boxes.box(points, [0, 1], 0.25, values, prune_choices=True)
    np.testing.assert_allclose(b["intervals"]["x"], (0.125, 0.375), atol=1e-15)  # centre 0.25, width max(0.25, 0.1)
    np.testing.assert_allclose(b["intervals"]["y"], (0.375, 0.625), atol=1e-15)  # only member 0 has y
    assert b["choices"] == {"act": ["relu", "tanh"], "opt": ["sgd"]}  # in the declared order
    assert _boxes.box(points, [0, 1], 0.25, values, prune_choices=False)["choices"] == {}


# -- the oracle follows the rule ------------------------------------------------


def expected_plan(done, k, sizes, width, top_fraction, explore, max_boxes, zoom, lone_width):
    """Round k's boxes from the trials of earlier rounds, written from the docstring,
    and how many of them are lone boxes (a cluster of one, not the first cluster)."""
    scores = [objective(t.hyperparameters) for t in done]
    order = sorted(range(len(done)), key=lambda i: (scores[i], i))
    top = [done[i] for i in order[: max(1, math.ceil(top_fraction * len(done)))]]
    n = sizes[k]
    n_explore = min(n - 1, math.floor(explore * n + 1e-9))
    limit = min(max_boxes, max(1, (n - n_explore) // 2))
    radius = width
    coords = [{name: unit(name, t.hyperparameters.values[name]) for name in NUMERICAL} for t in top]
    groups = []
    for i, c in enumerate(coords):
        home = next((g for g in groups if max(abs(c[name] - coords[g[0]][name]) for name in NUMERICAL) <= radius), None)
        if home is not None:
            home.append(i)
        elif len(groups) < limit:
            groups.append([i])
    boxes, lone = [], 0
    for number, g in enumerate(groups):
        least = radius
        if number > 0 and len(g) == 1:  # step 5: a lone trial's box
            least, lone = lone_width * radius, lone + 1
        intervals = {name: reference.coarse_to_fine_interval((0.0, least / zoom), [coords[i][name] for i in g], zoom) for name in NUMERICAL}
        choices = {"opt": [v for v in ["a", "b", "c"] if v in {top[i].hyperparameters.values["opt"] for i in g}]}
        boxes.append((intervals, choices))
    return boxes, n_explore, lone


@pytest.mark.parametrize(
    "options, restarts, lone",
    [
        ({}, [], False),
        ({"max_trials": 30, "rounds": 3, "explore": 0.34, "max_boxes": 3, "top_fraction": 0.4, "grow": 2.0, "prune_choices": True}, [], False),
        # Rounds with two boxes or more, where a lone trial gets a narrower box: the default
        # lone_width, another one, and 1 (as wide as the others).
        ({"max_trials": 30, "seed": 8, "rounds": 3, "explore": 0.34, "top_fraction": 0.4, "grow": 2.0, "prune_choices": True}, [], True),
        ({"max_trials": 30, "seed": 7, "explore": 0.15}, [], True),
        ({"max_trials": 30, "seed": 7, "explore": 0.15, "lone_width": 0.6}, [], True),
        ({"max_trials": 30, "seed": 7, "explore": 0.15, "lone_width": 1.0}, [], True),
        # Seed 12: rounds 1 and 2 find nothing better, so with restart=2 round 3 restarts.
        # With restart=1, round 2 restarts, round 3 zooms again from `zoom` and fails, so
        # round 4 restarts. The default, restart=0, never restarts.
        ({"seed": 12, "restart": 2}, [3], False),
        ({"seed": 12, "restart": 1}, [2, 4], False),
        ({"seed": 12}, [], False),
    ],
)
def test_plans_follow_the_rule(tmp_path, options, restarts, lone):
    options = {"max_trials": 12, "zoom": 0.5, "top_fraction": 0.25, "explore": 0.25, "max_boxes": 3, "seed": 7, **options}
    tuner = search(Synthetic, tmp_path, "rule", **options)
    oracle = tuner.oracle
    trials = trials_in_order(oracle)
    sizes = oracle.round_sizes()
    assert len(trials) == options["max_trials"] and len(oracle.boxes) == len(sizes)
    assert oracle.boxes[0] == {"intervals": {}, "choices": {}, "more_boxes": [], "explore": sizes[0], "restart": False}
    scores = [objective(t.hyperparameters) for t in trials]
    schedule = reference.coarse_to_fine_schedule(scores, sizes, options["zoom"], options.get("grow", 1.25), options.get("restart", 0))
    assert [k for k, (_, restart) in schedule.items() if restart] == restarts
    assert len({width for width, _ in schedule.values()}) > 1  # the search both widened or narrowed its boxes at least once
    lone_seen = 0
    for k in range(1, len(sizes)):
        start = sum(sizes[:k])
        width, restart = schedule[k]
        assert oracle.width(k) == pytest.approx(width, rel=1e-12)
        assert oracle.is_restart(k) is restart and oracle.boxes[k]["restart"] is restart
        if restart:  # the whole space, every value of every choice, no explorers
            assert oracle.boxes_of(k) == [{"intervals": {}, "choices": {}}] and oracle.boxes[k]["explore"] == 0
            assert oracle.ranges(k) == {}
            continue
        boxes, n_explore, lone_boxes = expected_plan(
            trials[:start], k, sizes, width, options["top_fraction"], options["explore"], options["max_boxes"], options["zoom"],
            options.get("lone_width", 0.25),
        )
        lone_seen += lone_boxes
        got = oracle.boxes_of(k)
        assert oracle.boxes[k]["explore"] == n_explore
        assert len(got) == len(boxes), k
        for (intervals, choices), actual in zip(boxes, got):
            for name in NUMERICAL:
                np.testing.assert_allclose(actual["intervals"][name], intervals[name], rtol=0, atol=1e-12, err_msg=f"{k} {name}")
            assert actual["choices"] == choices
        # The j-th exploiting trial lies in box j mod B.
        for j, t in enumerate(trials[start : start + sizes[k] - n_explore]):
            intervals, choices = boxes[j % len(boxes)]
            for name in NUMERICAL:
                lo, hi = intervals[name]
                # An Int's value is the bin its draw fell in, and unit() gives the bin's
                # centre: up to half a bin (0.5 / 33) from the draw.
                slack = 0.5 / 33 if name == "units" else 1e-12
                assert lo - slack <= unit(name, t.hyperparameters.values[name]) <= hi + slack, (k, j, name)
            if oracle.prune_choices == 1.0:
                assert t.hyperparameters.values["opt"] in choices["opt"]
    assert (lone_seen > 0) is lone  # the lone-box case of step 5 is exercised where expected
    lo, hi = oracle.boxes[1]["intervals"]["learning_rate"]
    # ranges() reports the box in the parameters' own units.
    low, high = oracle.ranges(1)["learning_rate"]
    assert low == pytest.approx(10 ** (4 * lo - 4)) and high == pytest.approx(10 ** (4 * hi - 4))
    assert oracle.ranges(1)["opt"] == oracle.boxes[1]["choices"]["opt"]


def test_round_zero_is_a_latin_hypercube_and_the_explorers_are_random_search(tmp_path):
    """Round 0 puts one trial in each stratum of every numerical parameter and uses every
    choice in turn; the explorers are exactly RandomSearch's trials with the same seed, in order."""
    ctf = search(Synthetic, tmp_path, "c", seed=1017, max_trials=30, explore=0.5)
    rnd = search(SyntheticRandom, tmp_path, "r", seed=1017, max_trials=30, objective=None)
    oracle = ctf.oracle
    sizes = oracle.round_sizes()
    n0 = sizes[0]
    first = [t.hyperparameters.values for t in trials_in_order(oracle)[:n0]]
    for name in ("learning_rate", "1-beta"):
        assert sorted(int(unit(name, v[name]) * n0) for v in first) == list(range(n0)), name
    counts = [sum(v["opt"] == value for v in first) for value in "abc"]
    assert max(counts) - min(counts) <= 1 and sum(counts) == n0
    whole = []
    for index, t in enumerate(trials_in_order(oracle)):
        k = oracle.round_of(index)
        slot = index - sum(sizes[:k])
        if k > 0 and slot >= sizes[k] - oracle.boxes[k]["explore"]:
            whole.append(t.hyperparameters.values)
    assert len(whole) == sum(math.floor(0.5 * n) for n in sizes[1:]) > 0
    assert whole == [t.hyperparameters.values for t in trials_in_order(rnd.oracle)][: len(whole)]


def test_farthest_by_hand():
    seen = [{"x": 0.1, "y": 0.1}, {"x": 0.9}]  # the second has no y (a conditional parameter)
    candidates = [
        {"x": 0.2, "y": 0.2},  # 0.02 from the first
        {"x": 0.5, "y": 0.9},  # min(0.16 + 0.64, 0.16) = 0.16
        {"x": 0.6, "y": 0.1},  # min(0.25, 0.09) = 0.09
    ]
    assert _boxes.farthest(candidates, seen) == 1
    assert _boxes.farthest([{"x": 0.3}, {"x": 0.7}], [{"x": 0.5}]) == 0  # a tie: the first
    assert _boxes.farthest([{"x": 0.3}, {"x": 0.7}], []) == 0  # nothing seen yet
    assert _boxes.farthest([{"x": 0.3}, {"z": 0.7}], [{"x": 0.3}]) == 0  # nothing shared counts as 0 too


def test_a_box_draw_is_the_farthest_of_its_candidates(tmp_path, monkeypatch):
    """With candidates=3 the oracle draws three points in the box and keeps the one
    farthest from every trial so far; with candidates=1 the first draw."""
    for count, expected in ((3, 1), (1, 0)):
        oracle = tuning.CoarseToFineOracle(
            objective=keras_tuner.Objective("score", "min"), max_trials=4, rounds=[2, 2], seed=5, hyperparameters=space(), candidates=count
        )
        oracle._set_project_dir(str(tmp_path), f"p{count}")
        oracle.verbose = 0
        for score in (1.0, 2.0):
            t = oracle.create_trial("w")
            oracle.update_trial(t.trial_id, {"score": score})
            t.status = "COMPLETED"
            oracle.end_trial(t)
        done = [t.hyperparameters.values for t in trials_in_order(oracle)]
        near = dict(done[0], units=done[0]["units"] + 1 if done[0]["units"] < 40 else done[0]["units"] - 1)
        far = dict(near, learning_rate=1.0 - 1e-9 if unit("learning_rate", done[0]["learning_rate"]) < 0.5 else 1e-4)
        queue = [near, far, dict(near)]
        monkeypatch.setattr(oracle, "_draw", lambda box: dict(queue.pop(0)))
        chosen = oracle.create_trial("w").hyperparameters.values
        assert chosen == [near, far][expected], (count, chosen)


def test_a_box_keeps_its_choices_with_probability_prune_choices():
    """With prune_choices=p a box draw takes the box's values with probability p + (1 - p) * |box| / |all|."""
    hp = space()
    box = {"intervals": {}, "choices": {"opt": ["b"]}}
    for p, expected in ((1.0, 1.0), (0.0, 1 / 3), (0.7, 0.7 + 0.3 / 3)):
        oracle = tuning.CoarseToFineOracle(objective="loss", max_trials=12, hyperparameters=hp, seed=11, prune_choices=p)
        draws = 3000
        share = sum(oracle._draw(box)["opt"] == "b" for _ in range(draws)) / draws
        # a binomial share of 3000 draws: within 4 standard deviations (at most 0.0365)
        assert abs(share - expected) <= 4 * math.sqrt(max(expected * (1 - expected), 1e-12) / draws), (p, share)


@pytest.mark.parametrize(
    "options, stop_at",
    [
        ({"seed": 3}, "07"),  # in round 1; trial ids are zero-padded to the width of max_trials
        ({"seed": 12, "restart": 2}, "10"),  # in round 3, a restart (see test_plans_follow_the_rule)
    ],
)
def test_resumption_continues_the_same_rounds(tmp_path, options, stop_at):
    straight = search(Synthetic, tmp_path, "straight", **options)
    Synthetic.stop_at = stop_at
    try:
        with pytest.raises(keras_tuner.errors.FatalError, match="interrupted on purpose"):
            search(Synthetic, tmp_path, "resumed", **options)
    finally:
        Synthetic.stop_at = None
    resumed = search(Synthetic, tmp_path, "resumed", overwrite=False, **options)
    assert [p["restart"] for p in resumed.oracle.boxes] == [k == 3 and "restart" in options for k in range(5)]
    a, b = trials_in_order(straight.oracle), trials_in_order(resumed.oracle)
    assert [t.trial_id for t in a] == [t.trial_id for t in b]
    assert [t.hyperparameters.values for t in a] == [t.hyperparameters.values for t in b]
    assert [t.status for t in b] == ["COMPLETED"] * 12
    assert resumed.oracle.boxes == straight.oracle.boxes
    assert resumed.oracle.box_draws == straight.oracle.box_draws > 0


def test_a_plan_saved_before_restarts_existed_loads_as_no_restart(tmp_path):
    tuner = search(Synthetic, tmp_path, "old", seed=3)
    path = tmp_path / "old" / "oracle.json"
    state = json.loads(path.read_text())
    for plan in state["coarse_to_fine"]["boxes"]:
        del plan["restart"]
    path.write_text(json.dumps(state))
    loaded = Synthetic(hyperparameters=space(), max_trials=12, seed=3, directory=str(tmp_path), project_name="old", overwrite=False).oracle
    assert loaded.boxes == tuner.oracle.boxes and not any(p["restart"] for p in loaded.boxes)


def test_resuming_with_other_rounds_is_refused(tmp_path):
    search(Synthetic, tmp_path, "p", seed=0, max_trials=4, rounds=2)
    with pytest.raises(ValueError, match=r"searched with rounds=\[2, 2\]; this tuner has rounds=\[1, 1, 1, 1\]. Use the same value, or pass overwrite=True"):
        Synthetic(hyperparameters=space(), max_trials=4, rounds=4, directory=str(tmp_path), project_name="p")


def test_a_round_waits_for_the_last_one(tmp_path):
    """Distributed: a worker asking for round 1 while round 0 still runs gets IDLE, then its trial."""
    oracle = tuning.CoarseToFineOracle(objective=keras_tuner.Objective("score", "min"), max_trials=4, rounds=[2, 2], seed=5, hyperparameters=space())
    oracle._set_project_dir(str(tmp_path), "p")
    oracle.verbose = 0
    first, second = oracle.create_trial("w0"), oracle.create_trial("w1")
    for t, score in ((first, 1.0),):
        oracle.update_trial(t.trial_id, {"score": score})
        t.status = "COMPLETED"
        oracle.end_trial(t)
    assert oracle.create_trial("w0").status == "IDLE" and len(oracle.boxes) == 1
    oracle.update_trial(second.trial_id, {"score": 0.5})
    second.status = "COMPLETED"
    oracle.end_trial(second)
    nxt = oracle.create_trial("w0")
    assert nxt.status == "RUNNING" and len(oracle.boxes) == 2
    for name in NUMERICAL:  # the one box is built around the best trial, the second one
        lo, hi = oracle.boxes[1]["intervals"][name]
        assert lo - 1e-12 <= unit(name, second.hyperparameters.values[name]) <= hi + 1e-12


@pytest.mark.slow
def test_finds_good_values_and_beats_random_search(tmp_path):
    best = {"coarse_to_fine": [], "random": []}
    # KerasTuner draws with Random(seed + k) for the k-th value, so nearby seed values share
    # most of their draws (and its RandomSearch takes seed=0 as no seed): spaced seed values.
    for seed in (1, 1001, 2001, 3001):
        ctf = search(Synthetic, tmp_path, f"c{seed}", seed=seed, max_trials=36)
        rnd = search(SyntheticRandom, tmp_path, f"r{seed}", seed=seed, max_trials=36, objective=None)
        best["coarse_to_fine"].append(ctf.oracle.get_best_trials()[0].score)
        best["random"].append(rnd.oracle.get_best_trials()[0].score)
        values = tuning.hyperparameter_values(ctf.get_best_hyperparameters()[0])
        # The right choice, and within half a decade of the best learning rate and
        # 1 - beta (the prior spans 4 and 2 decades).
        assert values["opt"] == "b"
        assert abs(math.log10(values["learning_rate"]) - OPTIMUM["log_lr"]) < 0.5
        assert abs(math.log10(1 - values["beta"]) - OPTIMUM["log_one_minus_beta"]) < 0.5
    # At the same budget, a better best trial than random search on average.
    assert np.mean(best["coarse_to_fine"]) < np.mean(best["random"])


def test_rounds_of_given_sizes(tmp_path):
    tuner = search(Synthetic, tmp_path, "sizes", seed=5, max_trials=7, rounds=[4, 2, 1])
    assert tuner.oracle.round_sizes() == [4, 2, 1] and len(tuner.oracle.boxes) == 3
    assert [tuner.oracle.round_of(i) for i in range(7)] == [0, 0, 0, 0, 1, 1, 2]


def test_seed_zero_is_a_seed(tmp_path):
    """KerasTuner's Oracle treats seed=0 as "no seed"; CoarseToFine does not."""
    runs = [search(Synthetic, tmp_path, f"zero{i}", seed=0, max_trials=6, rounds=2) for i in range(2)]
    assert [t.hyperparameters.values for t in trials_in_order(runs[0].oracle)] == [t.hyperparameters.values for t in trials_in_order(runs[1].oracle)]


def test_prune_choices_off_and_single_round(tmp_path):
    tuner = search(Synthetic, tmp_path, "p", seed=1, max_trials=6, rounds=2, prune_choices=False)
    assert all(b["choices"] == {} for b in tuner.oracle.boxes_of(1))
    single = search(Synthetic, tmp_path, "s", seed=1, max_trials=3, rounds=1)
    assert single.oracle.boxes == [{"intervals": {}, "choices": {}, "more_boxes": [], "explore": 3, "restart": False}]


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
        ({"explore": 1.0}, ValueError, r"`explore` must be in \[0, 1\). Received: explore=1.0"),
        ({"explore": -0.1}, ValueError, r"`explore` must be in \[0, 1\). Received: explore=-0.1"),
        ({"max_boxes": 0}, ValueError, r"`max_boxes` must be an integer >= 1. Received: max_boxes=0"),
        ({"prune_choices": "yes"}, TypeError, r"`prune_choices` must be a real number. Received: prune_choices='yes'"),
        ({"prune_choices": 1.5}, ValueError, r"`prune_choices` must be in \[0, 1\]. Received: prune_choices=1.5"),
        ({"grow": 0.9}, ValueError, r"`grow` must be >= 1. Received: grow=0.9"),
        ({"candidates": 0}, ValueError, r"`candidates` must be an integer >= 1. Received: candidates=0"),
        ({"candidates": 2.5}, TypeError, r"`candidates` must be an integer. Received: candidates=2.5"),
        ({"lone_width": 0.0}, ValueError, r"`lone_width` must be in \(0, 1\]. Received: lone_width=0.0"),
        ({"lone_width": 1.5}, ValueError, r"`lone_width` must be in \(0, 1\]. Received: lone_width=1.5"),
        ({"lone_width": "a"}, TypeError, r"`lone_width` must be a real number. Received: lone_width='a'"),
        ({"restart": -1}, ValueError, r"`restart` must be an integer >= 0. Received: restart=-1"),
        ({"restart": True}, TypeError, r"`restart` must be an integer. Received: restart=True"),
        ({"max_trials": 6, "rounds": [4, 1]}, ValueError, r"`rounds` must add up to max_trials=6 trials. Received: rounds=\[4, 1\] \(sum 5\)"),
        ({"rounds": []}, ValueError, r"`rounds` must not be empty. Received: rounds=\[\]"),
        ({"max_trials": 3, "rounds": [3, 0]}, ValueError, r"`rounds\[1\]` must be an integer >= 1. Received: rounds\[1\]=0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        tuning.CoarseToFineOracle(objective="loss", **kwargs)


def test_ranges_of_a_round_not_started_or_a_box_that_does_not_exist(tmp_path):
    tuner = search(Synthetic, tmp_path, "p", seed=1, max_trials=2, rounds=2)
    with pytest.raises(ValueError, match=r"Round 2 has not started yet. Received: round_index=2"):
        tuner.oracle.ranges(2)
    with pytest.raises(ValueError, match=r"`box` must be an integer in \[0, 0\]. Received: box=1"):
        tuner.oracle.ranges(1, box=1)
