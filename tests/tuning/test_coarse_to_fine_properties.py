"""CoarseToFine over random search spaces and histories: every proposal lies in the space, and in its box."""

import keras_tuner
from hypothesis import given
from hypothesis import strategies as st

from kerastools import tuning
from kerastools.tuning import _boxes
from tests.tuning import reference


@st.composite
def spaces(draw):
    """A random space of Float (linear/log), Int and Choice parameters, some conditional on a choice."""
    hp = keras_tuner.HyperParameters()
    n = draw(st.integers(1, 4))
    for i in range(n):
        # The first is a Float, so that a box always has points not tried yet: a box
        # of a finite space can run out, and then (as documented) the whole space is used.
        kind = draw(st.sampled_from(["linear", "log"] if i == 0 else ["linear", "log", "int", "choice"]))
        if kind == "int":
            low = draw(st.integers(-5, 5))
            hp.Int(f"p{i}", low, low + draw(st.integers(1, 50)))
        elif kind == "choice":
            hp.Choice(f"p{i}", [f"v{j}" for j in range(draw(st.integers(1, 4)))])
        else:
            low = draw(st.floats(1e-6, 10.0))
            hp.Float(f"p{i}", low, low * draw(st.floats(1.5, 1e4)), sampling=kind)
    if draw(st.booleans()):
        hp.Choice("branch", ["a", "b"])
        with hp.conditional_scope("branch", ["b"]):
            hp.Float("only_b", 0.0, 1.0)
    return hp


def inside(hp, name, value):
    spec = next(p for p in hp.space if p.name == name)
    if isinstance(spec, keras_tuner.engine.hyperparameters.Choice):
        return value in spec.values
    return spec.min_value <= value <= spec.max_value


@given(space=spaces(), scores=st.lists(st.floats(-1e6, 1e6), min_size=30, max_size=30), max_trials=st.integers(1, 30),
       explore=st.floats(0.0, 0.9), max_boxes=st.integers(1, 4), seed=st.integers(1, 10**6),
       prune_choices=st.sampled_from([0.0, 0.7, 1.0]), grow=st.floats(1.0, 3.0), restart=st.integers(0, 3),
       lone_width=st.floats(0.01, 1.0))
def test_every_proposal_lies_in_the_space_and_in_its_box(tmp_path_factory, space, scores, max_trials, explore, max_boxes, seed, prune_choices, grow, restart,
                                                         lone_width):
    oracle = tuning.CoarseToFineOracle(objective=keras_tuner.Objective("score", "min"), max_trials=max_trials, explore=explore,
                                       max_boxes=max_boxes, seed=seed, hyperparameters=space, prune_choices=prune_choices, grow=grow,
                                       restart=restart, lone_width=lone_width)
    oracle._set_project_dir(str(tmp_path_factory.mktemp("p")), "p")
    oracle.verbose = 0
    for index in range(max_trials):
        trial = oracle.create_trial("w")
        if trial.status != "RUNNING":  # a space with fewer points than trials runs out
            break
        values = trial.hyperparameters.values
        for name, value in values.items():
            assert inside(space, name, value), (name, value)
        box = oracle._box_for(index)
        if box is not None:
            for name, (lo, hi) in box["intervals"].items():
                assert 0.0 <= lo <= hi <= 1.0
                if name in values:
                    spec = next(p for p in space.space if p.name == name)
                    # the box, in values: the ends mapped by prob_to_value (an Int rounds down to its bin)
                    low, high = spec.prob_to_value(lo), spec.prob_to_value(min(hi, 1.0 - 1e-12))
                    assert low - 1e-9 * abs(low) <= values[name] <= high + 1e-9 * abs(high), (name, values[name], low, high)
            if prune_choices == 1.0:  # otherwise a draw may take any value (checked above)
                for name, allowed in box["choices"].items():
                    if name in values:
                        assert values[name] in allowed
        oracle.update_trial(trial.trial_id, {"score": scores[index]})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert len(oracle.trials) <= max_trials
    assert sum(oracle.round_sizes()) == max_trials
    # Round 0 is a Latin hypercube: each Float active in every trial of round 0 (p0 always
    # is) has one trial in each of the n_0 strata of its unit coordinate.
    n0 = oracle.round_sizes()[0]
    first = [oracle.trials[t].hyperparameters.values for t in oracle.start_order[:n0]]
    if len(first) == n0:
        spec = next(p for p in space.space if p.name == "p0")
        # sorted, the i-th lies in [i, i + 1) (slack: the value -> unit coordinate round trip)
        positions = sorted(spec.value_to_prob(v["p0"]) * n0 for v in first)
        assert all(i - 1e-6 <= x <= i + 1 + 1e-6 for i, x in enumerate(positions)), positions
    # The widths follow the rule: zoom after a round without progress, grow after one with
    # it; a restart (the whole space) after `restart` failed rounds from a (re)start.
    schedule = reference.coarse_to_fine_schedule(scores, oracle.round_sizes(), oracle.zoom, grow, restart)
    for k in range(1, len(oracle.boxes)):
        width, was_restart = schedule[k]
        assert (oracle.width(k), oracle.is_restart(k)) == (width, was_restart)
        if was_restart:
            assert oracle.boxes_of(k) == [{"intervals": {}, "choices": {}}]


coords = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.floats(0.0, 1.0), min_size=1)


@given(candidates=st.lists(coords, min_size=1, max_size=8), seen=st.lists(coords, max_size=8))
def test_farthest_is_the_first_candidate_with_the_largest_gap(candidates, seen):
    """Against a brute-force reference: the gap of a candidate is its smallest squared distance,
    over shared names, to a seen point (0 with nothing seen)."""
    def gap(c):
        if not seen:
            return 0.0
        return min(sum((c[k] - s[k]) ** 2 for k in c if k in s) for s in seen)

    gaps = [gap(c) for c in candidates]
    index = _boxes.farthest(candidates, seen)
    assert gaps[index] == max(gaps) and all(g < max(gaps) for g in gaps[:index])


@given(width=st.floats(1e-6, 1.0), improved=st.booleans(), zoom=st.floats(0.01, 1.0), grow=st.floats(1.0, 10.0))
def test_next_width_stays_in_its_range(width, improved, zoom, grow):
    new = _boxes.next_width(width, improved, zoom, grow)
    assert 0.0 < new <= 1.0
    assert new == (min(1.0, width * grow) if improved else width * zoom)


@given(improved=st.lists(st.booleans(), max_size=12), zoom=st.floats(0.01, 1.0), grow=st.floats(1.0, 4.0), restart=st.integers(0, 4))
def test_a_restart_follows_restart_failed_rounds_and_the_zoom_starts_again(improved, zoom, grow, restart):
    rounds = _boxes.schedule(improved, zoom, grow, restart)
    assert len(rounds) == len(improved) + 1 and rounds[0] == (zoom, False)
    start = 1  # the first round of the current zoom
    for k in range(2, len(rounds) + 1):  # round k, from round k - 1's outcome improved[k - 2]
        width, is_restart = rounds[k - 1]
        previous, previous_restart = rounds[k - 2]
        if previous_restart:
            assert (width, is_restart) == (zoom, False)
            start = k
            continue
        zooming = improved[start - 1 : k - 1]  # the outcomes of rounds start .. k - 1
        assert is_restart == (restart > 0 and len(zooming) == restart and not any(zooming))
        if is_restart:
            assert width == 1.0
        else:
            assert width == _boxes.next_width(previous, improved[k - 2], zoom, grow)
    if restart == 0:
        assert not any(r for _, r in rounds)
