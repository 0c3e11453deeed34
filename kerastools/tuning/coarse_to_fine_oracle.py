"""The oracle of coarse-to-fine random search: rounds, boxes and sampling inside them."""

import math
import random

import keras_tuner
from keras_tuner.engine.hyperparameters import Boolean, Choice, Fixed
from keras_tuner.engine.trial import TrialStatus

from kerastools._validation import check_bool, check_int, check_number


def round_sizes(max_trials, rounds):
    """Trials per round: half of `max_trials` (rounded up) for the coarse round 0,
    the rest split as evenly as possible over the other rounds, earlier first.

    The coarse round decides where the later rounds look; with too few points it
    zooms in on a poor region (measured in ``benchmarks/tuning.py``).
    """
    if rounds == 1:
        return [max_trials]
    first = min(math.ceil(max_trials / 2), max_trials - (rounds - 1))
    base, extra = divmod(max_trials - first, rounds - 1)
    return [first] + [base + (1 if r < extra else 0) for r in range(rounds - 1)]


def zoom_interval(previous, points, zoom):
    """The next round's interval of one parameter, in unit coordinates ``u`` in [0, 1].

    Centred on the middle of the hull of the best trials' `points`, as wide as
    ``zoom`` times the `previous` interval but never narrower than the hull,
    then shifted (not cut) to lie inside [0, 1]: the best trials stay inside.
    """
    lo_best, hi_best = min(points), max(points)
    width = min(1.0, max(zoom * (previous[1] - previous[0]), hi_best - lo_best))
    lo = 0.5 * (lo_best + hi_best) - 0.5 * width
    lo = min(max(lo, 0.0), 1.0 - width)
    return [lo, lo + width]


def _check_rounds(rounds, max_trials):
    """`rounds` as a list of trials per round: an integer splits `max_trials` evenly."""
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
    """The oracle of `CoarseToFine`: random search in rounds that zoom in on the best trials.

    Each numerical hyperparameter (``hp.Float``, ``hp.Int``) is sampled in its
    unit coordinate ``u`` in [0, 1], the coordinate in which KerasTuner samples
    it uniformly (``value = hp.prob_to_value(u)``): ``u`` is linear in the value
    for ``sampling="linear"``, in ``log(value)`` for ``"log"`` (so a zoom is a
    zoom in log space, and in ``log(1 - beta)`` for `kerastools.tuning.beta`), and
    in KerasTuner's mirrored log for ``"reverse_log"``. Round 0 samples ``u`` in
    [0, 1]. When every trial of round ``k - 1`` has ended, round ``k`` gets a box:

    * ``top`` = the ``max(1, ceil(top_fraction * n))`` best of the ``n``
      completed trials so far (ties: the earlier trial first);
    * for each numerical parameter active in some top trial, with ``[l, h]``
      its interval in round ``k - 1`` and ``u_i`` the top trials' coordinates::

          width = min(1, max(zoom * (h - l), max(u_i) - min(u_i)))
          lo = (max(u_i) + min(u_i)) / 2 - width / 2, moved into [0, 1 - width]
          interval = [lo, lo + width]

      (a parameter active in no top trial keeps its interval);
    * with ``prune_choices``, each ``hp.Choice``/``hp.Boolean`` keeps the values
      that appear in the top trials (all values if it is active in none).

    Trials of round ``k`` draw ``u`` uniformly in the box (new duplicates are
    redrawn; after 20 collisions the whole prior is tried, then the search stops,
    as in `keras_tuner.RandomSearch`). With an integer `rounds`, round 0 (the
    coarse search) has half of the trials, rounded up, and the other rounds
    share the rest evenly (12 trials in 3 rounds: 6, 3, 3).

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
        rounds: the number of rounds (>= 1, <= `max_trials`), or the number of
            trials of each round, adding up to `max_trials`. Defaults to `3`.
        zoom: the factor by which each round narrows every interval, in (0, 1].
            Defaults to `0.5`.
        top_fraction: the fraction of completed trials that the next box is
            centred on, in (0, 1]. Defaults to `0.25`.
        prune_choices: keep only the choices seen in the best trials. Defaults
            to `True`.

    Note:
        Rounds are synchronous: in a distributed search a worker asking for a
        trial of round ``k`` while round ``k - 1`` still runs gets an ``IDLE``
        answer and asks again (`CoarseToFine` waits half a second between asks).
        The boxes are part of the oracle's state (``oracle.json``), so a resumed
        search (``overwrite=False``) continues the same rounds.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        rounds=3,
        zoom=0.5,
        top_fraction=0.25,
        prune_choices=True,
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
        self.prune_choices = check_bool("prune_choices", prune_choices)
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
        # One box per round started: {"intervals": {name: [lo, hi]}, "choices": {name: [values]}}.
        self.boxes = []

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

    def _top_trials(self, round_index):
        completed = [
            t for t in self._trials_before(round_index) if t.status == TrialStatus.COMPLETED and t.score is not None and not math.isnan(t.score)
        ]
        if not completed:
            return []
        sign = -1.0 if self.objective.direction == "max" else 1.0
        order = {trial_id: i for i, trial_id in enumerate(self.start_order)}
        completed.sort(key=lambda t: (sign * t.score, order[t.trial_id]))
        return completed[: max(1, math.ceil(self.top_fraction * len(completed)))]

    def _next_box(self, round_index):
        previous = self.boxes[-1]
        box = {"intervals": dict(previous["intervals"]), "choices": dict(previous["choices"])}
        top = self._top_trials(round_index)
        for hp in self.hyperparameters.space:
            active = [t.hyperparameters.values[hp.name] for t in top if hp.name in t.hyperparameters.values]
            if not active:
                continue
            if isinstance(hp, (Choice, Boolean)):
                if self.prune_choices:
                    values = [False, True] if isinstance(hp, Boolean) else list(hp.values)
                    box["choices"][hp.name] = [v for v in values if v in active]
            elif not isinstance(hp, Fixed):
                points = [hp.value_to_prob(v) for v in active]
                box["intervals"][hp.name] = zoom_interval(previous["intervals"].get(hp.name, [0.0, 1.0]), points, self.zoom)
        return box

    def ranges(self, round_index):
        """The box of a started round in the parameters' own units.

        Returns ``{name: (low, high)}`` for numerical parameters (the values at
        the interval's ends) and ``{name: [values]}`` for pruned choices;
        parameters not listed span their whole range.
        """
        check_int("round_index", round_index, low=0)
        if round_index >= len(self.boxes):
            raise ValueError(f"Round {round_index} has not started yet. Received: round_index={round_index}")
        box = self.boxes[round_index]
        result = {}
        for hp in self.hyperparameters.space:
            if hp.name in box["intervals"]:
                lo, hi = box["intervals"][hp.name]
                result[hp.name] = (hp.prob_to_value(lo), hp.prob_to_value(min(hi, 1.0 - 1e-12)))
            elif hp.name in box["choices"]:
                result[hp.name] = list(box["choices"][hp.name])
        return result

    # -- sampling ------------------------------------------------------------

    def _uniform(self):
        value = random.Random(self._seed_state).random()
        self._seed_state += 1
        return value

    def _draw(self, box):
        hps = keras_tuner.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            if isinstance(hp, Fixed):
                hps.values[hp.name] = hp.value
            elif box is not None and hp.name in box["choices"]:
                allowed = box["choices"][hp.name]
                hps.values[hp.name] = allowed[min(int(self._uniform() * len(allowed)), len(allowed) - 1)]
            else:
                lo, hi = box["intervals"].get(hp.name, [0.0, 1.0]) if box is not None else (0.0, 1.0)
                hps.values[hp.name] = hp.prob_to_value(lo + (hi - lo) * self._uniform())
        return hps.values

    def _sample(self, box):
        for candidate_box in (box, None):
            for _ in range(self._max_collisions + 1):
                values = self._draw(candidate_box)
                if not self._duplicate(values):
                    return values
        return None

    def populate_space(self, trial_id):
        round_index = self.round_of(len(self.trials))
        while len(self.boxes) <= round_index:
            if not self.boxes:
                self.boxes.append({"intervals": {}, "choices": {}})
            elif not self._round_finished(len(self.boxes) - 1):
                return {"status": TrialStatus.IDLE, "values": None}
            else:
                self.boxes.append(self._next_box(len(self.boxes)))
        values = self._sample(self.boxes[round_index])
        if values is None:
            return {"status": TrialStatus.STOPPED, "values": None}
        return {"status": TrialStatus.RUNNING, "values": values}

    # -- state ---------------------------------------------------------------

    def get_state(self):
        state = super().get_state()
        state["coarse_to_fine"] = {"rounds": self.round_sizes(), "max_trials": self.max_trials, "boxes": self.boxes}
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
        self.boxes = [{"intervals": dict(b["intervals"]), "choices": dict(b["choices"])} for b in saved["boxes"]]
