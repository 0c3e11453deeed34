"""Coarse-to-fine random search: random search in rounds, each round zoomed in on the best trials."""

import keras_tuner

from kerastools.tuning.coarse_to_fine_oracle import CoarseToFineOracle
from kerastools.tuning.polling import IdlePolling


class CoarseToFine(IdlePolling, keras_tuner.Tuner):
    """Coarse-to-fine random search, the course's way of searching hyperparameters.

    "Sample at random; where the good points cluster, zoom in and sample more
    densely there." `max_trials` trials are run in rounds: round 0 samples the
    whole space (a Latin hypercube: every stretch of every parameter's range
    gets a trial); each later round draws its trials in boxes around the
    clusters of the best trials so far (one box per cluster, on each
    parameter's own scale: log scale for ``sampling="log"``, ``1 - beta`` on a
    log scale for `kerastools.tuning.beta`), which narrow by `zoom` after a
    round that brought no improvement and widen by `grow` after one that did
    (each draw in a box is the one of `candidates` draws farthest from the
    trials so far; a lone good trial away from the best cluster gets a box
    `lone_width` times as wide), plus a share `explore` from the whole space; with
    `restart`, a zoom whose first rounds bring no improvement is given up for
    a round over the whole space. See `CoarseToFineOracle` for the exact
    rule.

    On the synthetic suite of ``benchmarks/tuning.py`` (100 seeds, 12 to 60
    trials) it beats random search on about 70% of the searches, with a median
    and a worst search at least as good as random search's on every objective
    and budget;
    `keras_tuner.BayesianOptimization` finds better points once it is past its
    random start, at a few hundred times the oracle cost per trial. The figures,
    and where it falls short, are on the benchmarks page.

    A `keras_tuner.Tuner`: `search`, `results_summary`, `get_best_models`,
    TensorBoard logging, the distributed mode and resumption with
    ``overwrite=False`` (the rounds continue where they stopped) all work as for
    `keras_tuner.RandomSearch`.

    Args:
        hypermodel: a `keras_tuner.HyperModel` or a function ``build(hp) -> model``.
        objective: as in `keras_tuner.RandomSearch` (e.g. ``"val_accuracy"``).
        max_trials: the total number of trials, >= `rounds`. Defaults to `10`.
        rounds: ``None`` (round 0 gets 40% of the trials, rounded up, the rest
            goes in rounds of about ``sqrt(max_trials) / 1.5`` trials), the
            number of rounds (round 0 gets 40% of the trials), or a list of the
            trials of each round. Defaults to `None`.
        zoom: the boxes' narrowing after a round without improvement, in
            (0, 1]; round 1's boxes are at least `zoom` wide per parameter (in
            unit coordinates). Defaults to `0.5`.
        grow: the boxes' widening after a round that improved the best
            score, >= 1. Defaults to `1.25`.
        top_fraction: fraction of the completed trials the boxes are built
            around. Defaults to `0.25`.
        explore: fraction of each later round drawn from the whole space, in
            [0, 1), rounded down per round. Defaults to `0.15`.
        max_boxes: the most boxes (clusters of good trials) per round.
            Defaults to `3`.
        prune_choices: the probability, in [0, 1], that a draw in a box takes
            each choice from the values seen in its cluster (else from all
            values); `True` is 1, `False` 0. Defaults to `0.7`.
        candidates: each draw in a box is the farthest from the trials so far
            of this many uniform draws, >= 1. Defaults to `5`.
        lone_width: the least width of the box around a lone good trial (a
            cluster of one, not the best cluster), as a fraction of the
            other boxes' width, in (0, 1]. Defaults to `0.25`.
        restart: after this many rounds of boxes in a row without
            improvement, counted from round 1 or from the round after a
            restart, the next round is drawn from the whole space and the
            zoom starts again, >= 0 (0: never; 2 makes the worst searches
            of small budgets better and costs a few points of win rate,
            most at 60 trials). Defaults to `0`.
        seed: as in `keras_tuner.RandomSearch` (here ``0`` is a seed too).
            Defaults to `None`.
        hyperparameters: as in `keras_tuner.RandomSearch`. Defaults to `None`.
        tune_new_entries: as in `keras_tuner.RandomSearch`. Defaults to `True`.
        allow_new_entries: as in `keras_tuner.RandomSearch`. Defaults to `True`.
        max_retries_per_trial: as in `keras_tuner.RandomSearch`. Defaults to `0`.
        max_consecutive_failed_trials: as in `keras_tuner.RandomSearch`.
            Defaults to `3`.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`, `project_name`,
            `overwrite`, `executions_per_trial`, ...).

    Example:

    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile(kt.SGD(kt.tuning.learning_rate(hp, min_value=1e-3, max_value=0.3)), loss="mse")
    ...     return model
    >>> x = np.random.default_rng(0).random((32, 2)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> tuner = kt.tuning.CoarseToFine(build, objective="val_loss", max_trials=4, rounds=2, seed=1,
    ...                                directory="runs", project_name="demo")
    >>> tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    >>> tuner.oracle.round_sizes()  # 40% of the trials, rounded up, for the coarse round
    [2, 2]
    >>> lo, hi = tuner.oracle.ranges(1)["learning_rate"]  # round 1's best box, in the parameter's units
    >>> bool(1e-3 <= lo < hi <= 0.3), bool(hi / lo <= (0.3 / 1e-3) ** 0.5 * 1.0001)  # at most half as wide, in log scale
    (True, True)
    >>> kt.tuning.CoarseToFineOracle(max_trials=30).round_sizes()  # rounds=None: sized from the budget
    [12, 5, 5, 4, 4]
    """

    def __init__(
        self,
        hypermodel=None,
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
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        self.seed = seed
        oracle = CoarseToFineOracle(
            objective=objective,
            max_trials=max_trials,
            rounds=rounds,
            zoom=zoom,
            top_fraction=top_fraction,
            explore=explore,
            max_boxes=max_boxes,
            prune_choices=prune_choices,
            grow=grow,
            candidates=candidates,
            lone_width=lone_width,
            restart=restart,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        super().__init__(oracle, hypermodel, **kwargs)
