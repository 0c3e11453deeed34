"""The oracle of coarse-to-fine random search: rounds, boxes and sampling inside them."""

import math
import random

import keras_tuner
from keras_tuner.engine.hyperparameters import Boolean, Choice, Fixed
from keras_tuner.engine.trial import TrialStatus

from kerastools._validation import check_int, check_number
from kerastools.tuning import _boxes
from kerastools.tuning._boxes import auto_rounds, round_sizes

__all__ = ["CoarseToFineOracle", "round_sizes", "auto_rounds"]


def _check_rounds(rounds, max_trials):
    """`rounds` as a list of trials per round: ``None`` picks `auto_rounds`, an
    integer splits `max_trials` with `round_sizes`."""
    if rounds is None:
        return round_sizes(max_trials, auto_rounds(max_trials))
    if isinstance(rounds, (list, tuple)):
        if not rounds:
            raise ValueError(f"Argument `rounds` must not be empty. Received: rounds={rounds!r}")
        sizes = [check_int(f"rounds[{i}]", n, low=1) for i, n in enumerate(rounds)]
        if sum(sizes) != max_trials:
            raise ValueError(
                f"Argument `rounds` must add up to max_trials={max_trials} trials. Received: rounds={rounds!r} (sum {sum(sizes)})"
            )
        return sizes
    return round_sizes(max_trials, check_int("rounds", rounds, low=1, high=max_trials))


class CoarseToFineOracle(keras_tuner.Oracle):
    """The oracle of `CoarseToFine`: random search in rounds, later rounds split
    between boxes around the clusters of good trials and the whole space.

    Each numerical hyperparameter (``hp.Float``, ``hp.Int``) is sampled in its
    unit coordinate ``u`` in [0, 1], the coordinate in which KerasTuner samples
    it uniformly (``value = hp.prob_to_value(u)``): ``u`` is linear in the value
    for ``sampling="linear"``, in ``log(value)`` for ``"log"`` (so a box is a box
    in log space, and in ``log(1 - beta)`` for `kerastools.tuning.beta`), and in
    KerasTuner's mirrored log for ``"reverse_log"``.

    Round 0 (``n_0`` trials) is a Latin hypercube over the whole space: each
    numerical parameter's ``[0, 1]`` is cut into ``n_0`` equal strata, a random
    permutation gives trial ``i`` its own stratum, and its ``u`` is uniform
    inside it; each ``hp.Choice``/``hp.Boolean`` takes its values in turn, in
    the order of the same kind of permutation, so every value appears
    ``floor(n_0 / m)`` or ``ceil(n_0 / m)`` times. (Plain random draws often
    leave a parameter's good range unvisited: round 0 decides where every later
    round looks.) When every trial of round ``k - 1`` has ended, round ``k``
    (of ``n_k`` trials) is planned:

    1. ``top`` = the ``max(1, ceil(top_fraction * n))`` best of the ``n``
       completed trials so far, best first (ties: the earlier trial first).
    2. Width: ``w_1 = zoom``; after each later round ``j``,
       ``w_{j+1} = min(1, grow * w_j)`` if round ``j`` improved on the best
       score before it, else ``zoom * w_j`` (boxes follow progress and close in
       when a round brings nothing). Restart (off by default, ``restart=0``):
       when the first `restart` rounds of boxes since round 0 (or since the
       last restart) have all brought no improvement, round ``k`` is a
       restart: all its trials are drawn from the whole space as in step 6
       (one box, the whole space, with every value of every choice), and the
       round after it starts again from ``w = zoom`` (zooming that finds
       nothing better around a poor trial is given up, not narrowed onto it).
       Steps 3 to 5 apply to the other rounds.
    3. Split: of the ``n_k`` trials, ``e = min(n_k - 1, floor(explore * n_k))``
       explore, the other ``x = n_k - e`` exploit.
    4. Clusters: in ``top``'s order, a trial joins the first cluster whose
       leader (its first, best trial) is within ``w_k`` of it in every unit
       coordinate the two share; otherwise it leads a new cluster, unless
       there are already ``B = min(max_boxes, max(1, x // 2))`` (then it is
       left out: every box gets at least two trials when it can).
    5. One box per cluster. Its least width is ``v = w_k``, except for a
       cluster of one trial that is not the first cluster: ``v = lone_width *
       w_k`` (a good trial with no good trial near it is a lucky draw or the
       edge of a narrow basin, and a wide box around it finds neither). For
       each numerical parameter active in a member, with ``u_i`` the
       coordinates of the members where it is active::

           c = (max(u_i) + min(u_i)) / 2
           width = min(1, max(v, max(u_i) - min(u_i)))
           lo = c - width / 2, moved into [0, 1 - width]
           interval = [lo, lo + width]

       (other parameters span their whole range); unless `prune_choices` is
       0, each ``hp.Choice``/``hp.Boolean`` keeps the values seen in the
       members.
    6. The ``j``-th trial of the round (``j`` from 0) is drawn in box
       ``j mod B`` (best cluster first) if ``j < x``, else from the whole space.
       A draw in a box makes `candidates` uniform draws in it and keeps the one
       farthest from every trial so far (the largest smallest squared
       Euclidean distance over the unit coordinates it shares with each; the
       first on ties): the box is filled where nothing has been tried yet. In
       each uniform draw, each choice is drawn from the box's values with
       probability `prune_choices`, else from all of its values (a choice seen
       in one lucky trial must not shut the others out).

    Draws from the whole space after round 0 (the explorers) are exactly those
    of `keras_tuner.RandomSearch` with the same seed, in the same order; draws in
    round 0 and in boxes use a stream of their own. New duplicates are redrawn;
    after 20 collisions the whole space is tried, and after 20 more the search
    stops, as in `keras_tuner.RandomSearch`. With the default ``rounds=None``
    the rounds follow the budget (`auto_rounds`: 12 trials in rounds of 5, 2,
    2, 2, 1; 30 in 12, 5, 5, 4, 4; 60 in 24, 6 and six of 5); an integer
    `rounds` gives round 0 40% of the trials, rounded up, and shares the rest
    evenly.

    Why: a single box around the best trials (the first reading of the
    course's advice) zooms into the first good basin it sees and never looks
    elsewhere; a good trial far from the others leads its own box in the next
    round instead of being averaged with them (a small one when it is alone:
    the edge of a narrow basin is found by a small box, not a wide one), a
    stalled round narrows the boxes and a successful one widens them, draws
    spread over their box instead of clumping, and the stratified round 0
    makes a start in which every trial is poor rare. Measured against
    `keras_tuner.RandomSearch` and `keras_tuner.BayesianOptimization` in
    ``benchmarks/tuning.py``.

    Args:
        objective: as in `keras_tuner.oracles.RandomSearchOracle`. Defaults to `None`.
        max_trials: the total number of trials, an integer >= `rounds`.
            Defaults to `10`.
        seed: as in `keras_tuner.oracles.RandomSearchOracle`. Defaults to `None`.
        hyperparameters: as in `keras_tuner.oracles.RandomSearchOracle`.
            Defaults to `None`.
        allow_new_entries: as in `keras_tuner.oracles.RandomSearchOracle`.
            Defaults to `True`.
        tune_new_entries: as in `keras_tuner.oracles.RandomSearchOracle`.
            Defaults to `True`.
        max_retries_per_trial: as in `keras_tuner.oracles.RandomSearchOracle`.
            Defaults to `0`.
        max_consecutive_failed_trials: as in
            `keras_tuner.oracles.RandomSearchOracle`. Defaults to `3`.
        rounds: ``None`` (rounds sized from the budget), the number of rounds
            (>= 1, <= `max_trials`), or the number of trials of each round,
            adding up to `max_trials`. Defaults to `None`.
        zoom: how much narrower the boxes get after a round that did not
            improve the best score, in (0, 1]; round 1's boxes are at least
            `zoom` wide in unit coordinates. The width is also the cluster
            radius. Defaults to `0.5`.
        top_fraction: the fraction of completed trials the boxes are built
            around, in (0, 1]. Defaults to `0.25`.
        explore: the fraction of each later round drawn from the whole space,
            in [0, 1), rounded down per round (with the default, rounds of 7
            trials or more have explorers: budgets of about 100 trials and
            up). Defaults to `0.15`.
        max_boxes: the largest number of boxes (clusters) per round, >= 1.
            Defaults to `3`.
        prune_choices: the probability, in [0, 1], that a draw in a box takes
            each choice from the values seen in its cluster rather than from
            all values; `True` is 1 and `False` 0. Defaults to `0.7`.
        grow: how much wider the boxes get after a round that improved the
            best score, >= 1 (1: they never widen). Defaults to `1.25`.
        candidates: the uniform draws a draw in a box chooses from (the one
            farthest from the trials so far), >= 1 (1: plain uniform draws).
            Defaults to `5`.
        lone_width: the least width of the box around a lone trial (a
            cluster of one that is not the first cluster), as a fraction of
            the round's width ``w_k``, in (0, 1] (1: as wide as the others).
            Only rounds with two boxes or more have such a box (budgets of
            about 30 trials and up, with the default `rounds`). Defaults to
            `0.25`.
        restart: the number of rounds of boxes in a row, from round 1 or
            from the round after a restart, that must all fail to improve the
            best score for the next round to be a restart (drawn from the
            whole space), >= 0 (0: never). `2` guards a small budget against
            zooming in on a poor start (a better worst search at 12 trials),
            at the cost of a few points of win rate against random search,
            most at 60 trials (``benchmarks/tuning.py``). Defaults to `0`.

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> learning_rate = kt.tuning.learning_rate(hp)
    >>> oracle = kt.tuning.CoarseToFineOracle(objective=keras_tuner.Objective("loss", "min"),
    ...                                       max_trials=12, hyperparameters=hp, seed=1)
    >>> oracle.round_sizes()
    [5, 2, 2, 2, 1]

    Note:
        Rounds are synchronous: in a distributed search a worker asking for a
        trial of round ``k`` while round ``k - 1`` still runs gets an ``IDLE``
        answer and asks again (`CoarseToFine` waits half a second between asks).
        The plans of the rounds are part of the oracle's state
        (``oracle.json``), so a resumed search (``overwrite=False``) continues
        the same rounds. ``oracle.boxes[k]`` is round ``k``'s plan: its first
        (best) box as ``"intervals"`` and ``"choices"``, the further boxes in
        ``"more_boxes"``, the number of explorers in ``"explore"`` and
        whether it is a restart in ``"restart"``.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        rounds=None,
        zoom=0.5,
        top_fraction=0.25,
        explore=0.15,
        max_boxes=3,
        prune_choices=0.7,
        grow=1.25,
        candidates=5,
        lone_width=0.25,
        restart=0,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
    ):
        max_trials = check_int("max_trials", max_trials, low=1)
        self._sizes = _check_rounds(rounds, max_trials)
        self.rounds = len(self._sizes)
        self.zoom = check_number("zoom", zoom, low=0.0, high=1.0, low_inclusive=False)
        self.top_fraction = check_number("top_fraction", top_fraction, low=0.0, high=1.0, low_inclusive=False)
        self.explore = check_number("explore", explore, low=0.0, high=1.0, high_inclusive=False)
        self.max_boxes = check_int("max_boxes", max_boxes, low=1)
        if isinstance(prune_choices, bool):
            prune_choices = 1.0 if prune_choices else 0.0
        self.prune_choices = check_number("prune_choices", prune_choices, low=0.0, high=1.0)
        self.grow = check_number("grow", grow, low=1.0)
        self.candidates = check_int("candidates", candidates, low=1)
        self.lone_width = check_number("lone_width", lone_width, low=0.0, high=1.0, low_inclusive=False)
        self.restart = check_int("restart", restart, low=0)
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        if seed is not None:
            # KerasTuner's Oracle takes `seed or random.randint(...)`: seed=0 would be random.
            self.seed = self._seed_state = seed
        # One plan per round started (see the Note), and the draws made in boxes.
        self.boxes = []
        self.box_draws = 0

    # -- rounds --------------------------------------------------------------

    def round_sizes(self):
        """The number of trials of each round."""
        return list(self._sizes)

    def round_of(self, index):
        """The round of the trial created `index`-th (0-based)."""
        end = 0
        for r, size in enumerate(self.round_sizes()):
            end += size
            if index < end:
                return r
        return self.rounds - 1

    def _trials_before(self, round_index):
        count = sum(self.round_sizes()[:round_index])
        return [self.trials[trial_id] for trial_id in self.start_order[:count]]

    def _round_finished(self, round_index):
        ended = set(self.end_order)
        return all(t.trial_id in ended for t in self._trials_before(round_index + 1))

    def _scored(self, trials):
        """The completed trials of `trials` with a score, and the sign that makes lower better."""
        completed = [t for t in trials if t.status == TrialStatus.COMPLETED and t.score is not None and not math.isnan(t.score)]
        return completed, (-1.0 if self.objective.direction == "max" else 1.0)

    def _top_trials(self, round_index):
        completed, sign = self._scored(self._trials_before(round_index))
        if not completed:
            return []
        order = {trial_id: i for i, trial_id in enumerate(self.start_order)}
        completed.sort(key=lambda t: (sign * t.score, order[t.trial_id]))
        return completed[: max(1, math.ceil(self.top_fraction * len(completed)))]

    def _point(self, trial):
        coords, choices = {}, {}
        for hp in self.hyperparameters.space:
            if hp.name not in trial.hyperparameters.values or isinstance(hp, Fixed):
                continue
            value = trial.hyperparameters.values[hp.name]
            if isinstance(hp, (Choice, Boolean)):
                choices[hp.name] = value
            else:
                coords[hp.name] = hp.value_to_prob(value)
        return coords, choices

    def _plan(self, round_index):
        """Round `round_index`'s plan (steps 1 to 5 of the rule; a restart round: the whole space)."""
        width, restart = self._schedule(round_index)[-1]
        if restart:
            return _make_plan([_whole_space()], explore=0, restart=True)
        exploit, n_explore = _boxes.split_round(self.round_sizes()[round_index], self.explore)
        points = [self._point(t) for t in self._top_trials(round_index)]
        choice_values = {hp.name: _all_values(hp) for hp in self.hyperparameters.space if isinstance(hp, (Choice, Boolean))}
        # At least two trials per box: a box with one trial is a random guess.
        max_boxes = min(self.max_boxes, max(1, exploit // 2))
        boxes = [
            _boxes.box(points, group, _boxes.least_width(group, width, self.lone_width), choice_values, self.prune_choices > 0)
            for group in _boxes.clusters(points, width, max_boxes)
        ]
        if not boxes:  # no completed trial yet: the whole space
            boxes, n_explore = [_whole_space()], 0
        return _make_plan(boxes, explore=n_explore)

    def _best_score(self, trials):
        completed, sign = self._scored(trials)
        return min((sign * t.score for t in completed), default=math.inf)

    def _schedule(self, round_index):
        """``(width, is_restart)`` of rounds 1 to `round_index` (step 2 of the
        rule), from the scores of the rounds before each."""
        improved = []
        for k in range(1, round_index):
            earlier = self._trials_before(k)
            during = self._trials_before(k + 1)[len(earlier) :]  # round k's trials
            improved.append(self._best_score(during) < self._best_score(earlier))
        return _boxes.schedule(improved, self.zoom, self.grow, self.restart)

    def width(self, round_index):
        """The boxes' width of round `round_index` >= 1 (step 2 of the rule),
        from the scores of the rounds before it; 1 for a restart round."""
        check_int("round_index", round_index, low=1)
        return self._schedule(round_index)[-1][0]

    def is_restart(self, round_index):
        """Whether round `round_index` >= 1 is a restart (step 2 of the rule),
        from the scores of the rounds before it."""
        check_int("round_index", round_index, low=1)
        return self._schedule(round_index)[-1][1]

    def boxes_of(self, round_index):
        """The boxes of a started round, best first, each ``{"intervals", "choices"}``."""
        plan = self.boxes[round_index]
        return [{"intervals": plan["intervals"], "choices": plan["choices"]}] + list(plan["more_boxes"])

    def _box_for(self, index):
        """The box the `index`-th trial is drawn from (``None``: the whole space)."""
        round_index = self.round_of(index)
        slot = index - sum(self.round_sizes()[:round_index])
        plan = self.boxes[round_index]
        if round_index == 0 or slot >= self.round_sizes()[round_index] - plan["explore"]:
            return None
        boxes = self.boxes_of(round_index)
        return boxes[slot % len(boxes)]

    def ranges(self, round_index, box=0):
        """A box of a started round in the parameters' own units.

        Returns ``{name: (low, high)}`` for numerical parameters (the values at
        the interval's ends) and ``{name: [values]}`` for pruned choices;
        parameters not listed span their whole range. `box` is the box's rank
        (0: the box around the best trial).
        """
        check_int("round_index", round_index, low=0)
        if round_index >= len(self.boxes):
            raise ValueError(f"Round {round_index} has not started yet. Received: round_index={round_index}")
        boxes = self.boxes_of(round_index)
        check_int("box", box, low=0, high=len(boxes) - 1)
        chosen = boxes[box]
        result = {}
        for hp in self.hyperparameters.space:
            if hp.name in chosen["intervals"]:
                lo, hi = chosen["intervals"][hp.name]
                result[hp.name] = (hp.prob_to_value(lo), hp.prob_to_value(min(hi, 1.0 - 1e-12)))
            elif hp.name in chosen["choices"]:
                result[hp.name] = list(chosen["choices"][hp.name])
        return result

    # -- sampling ------------------------------------------------------------

    def _uniform(self):
        # A stream of its own (round 0 and the boxes), so that the explorers'
        # draws are exactly those of keras_tuner.RandomSearch with the same seed.
        value = random.Random(f"coarse_to_fine:{self.seed}:{self.box_draws}").random()
        self.box_draws += 1
        return value

    def _pick(self, values):
        return values[min(int(self._uniform() * len(values)), len(values) - 1)]

    def _values(self, choose):
        """Values for the active parameters, in the space's order: a ``Fixed`` one's
        value, ``choose(hp)`` for the others."""
        hps = keras_tuner.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp):
                hps.values[hp.name] = hp.value if isinstance(hp, Fixed) else choose(hp)
        return hps.values

    def _draw(self, box):
        def choose(hp):
            if hp.name in box["choices"]:
                keep = self._uniform() < self.prune_choices
                return self._pick(box["choices"][hp.name] if keep else _all_values(hp))
            if isinstance(hp, (Choice, Boolean)):
                return self._pick(_all_values(hp))
            lo, hi = box["intervals"].get(hp.name, [0.0, 1.0])
            return hp.prob_to_value(lo + (hi - lo) * self._uniform())

        return self._values(choose)

    def _strata(self, name):
        """Round 0's permutation of strata for parameter `name` (a Latin hypercube)."""
        strata = list(range(self.round_sizes()[0]))
        random.Random(f"coarse_to_fine:{self.seed}:round0:{name}").shuffle(strata)
        return strata

    def _stratified(self, index):
        """Round 0's `index`-th trial (see the rule); a duplicate is redrawn uniformly."""
        n = self.round_sizes()[0]

        def choose(hp):
            stratum = self._strata(hp.name)[index]
            if isinstance(hp, (Choice, Boolean)):
                values = _all_values(hp)
                return values[stratum % len(values)]
            return hp.prob_to_value((stratum + self._uniform()) / n)

        values = self._values(choose)
        for _ in range(self._max_collisions):
            if not self._duplicate(values):
                return values
            values = self._draw(_whole_space())
        return values if not self._duplicate(values) else self._random_values()

    def _coords(self, values):
        """The unit coordinates of the numerical parameters in `values`."""
        return {
            hp.name: hp.value_to_prob(values[hp.name])
            for hp in self.hyperparameters.space
            if hp.name in values and not isinstance(hp, (Choice, Boolean, Fixed))
        }

    def _sample(self, box):
        """A draw in `box` (``None``: the whole space), the farthest of `candidates`
        new draws from the trials so far (step 6 of the rule)."""
        if box is not None:
            seen = [self._coords(self.trials[t].hyperparameters.values) for t in self.start_order]
            for _ in range(self._max_collisions + 1):
                draws = [self._draw(box) for _ in range(self.candidates)]
                fresh = [values for values in draws if not self._duplicate(values)]
                if fresh:
                    return fresh[_boxes.farthest([self._coords(values) for values in fresh], seen)]
        return self._random_values()

    def populate_space(self, trial_id):
        index = len(self.trials)
        round_index = self.round_of(index)
        while len(self.boxes) <= round_index:
            if not self.boxes:
                self.boxes.append(_make_plan([_whole_space()], explore=self.round_sizes()[0]))
            elif not self._round_finished(len(self.boxes) - 1):
                return {"status": TrialStatus.IDLE, "values": None}
            else:
                self.boxes.append(self._plan(len(self.boxes)))
        values = self._stratified(index) if round_index == 0 else self._sample(self._box_for(index))
        if values is None:
            return {"status": TrialStatus.STOPPED, "values": None}
        return {"status": TrialStatus.RUNNING, "values": values}

    # -- state ---------------------------------------------------------------

    def get_state(self):
        state = super().get_state()
        state["coarse_to_fine"] = {"rounds": self.round_sizes(), "max_trials": self.max_trials, "boxes": self.boxes, "box_draws": self.box_draws}
        return state

    def set_state(self, state):
        super().set_state(state)
        saved = state["coarse_to_fine"]
        current = {"rounds": self.round_sizes(), "max_trials": self.max_trials}
        for argument in ("rounds", "max_trials"):
            if saved[argument] != current[argument]:
                raise ValueError(
                    f"The project being resumed was searched with {argument}={saved[argument]}; this "
                    f"tuner has {argument}={current[argument]}. Use the same value, or pass "
                    "overwrite=True (or another project_name) to start a new search."
                )
        self.boxes = [_copy_plan(plan) for plan in saved["boxes"]]
        self.box_draws = saved.get("box_draws", 0)


def _all_values(hp):
    return [False, True] if isinstance(hp, Boolean) else list(hp.values)


def _whole_space():
    """A new box that spans every parameter's whole range and keeps every value of every choice."""
    return {"intervals": {}, "choices": {}}


def _make_plan(boxes, explore, restart=False):
    """A round's plan (see the class's Note): its boxes, best first, its number of explorers, whether it is a restart."""
    first, *more = boxes
    return {"intervals": first["intervals"], "choices": first["choices"], "more_boxes": more, "explore": explore, "restart": restart}


def _copy_plan(plan):
    """A saved plan as fresh lists and dicts (plans saved before `restart` existed are not restarts)."""

    def copy_box(b):
        return {"intervals": {k: list(v) for k, v in b["intervals"].items()}, "choices": {k: list(v) for k, v in b["choices"].items()}}

    boxes = [copy_box(plan)] + [copy_box(b) for b in plan.get("more_boxes", [])]
    return _make_plan(boxes, explore=plan.get("explore", 0), restart=plan.get("restart", False))
