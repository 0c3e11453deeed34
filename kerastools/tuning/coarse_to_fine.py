"""Coarse-to-fine random search: random search in rounds, each round zoomed in on the best trials."""

import keras_tuner

from kerastools.tuning.coarse_to_fine_oracle import CoarseToFineOracle
from kerastools.tuning.polling import IdlePolling


class CoarseToFine(IdlePolling, keras_tuner.Tuner):
    """Coarse-to-fine random search, the course's way of searching hyperparameters.

    "Sample at random; where the good points cluster, zoom in and sample more
    densely there." `max_trials` trials are run in `rounds` rounds of random
    search; each round samples a box centred on the best trials so far and
    `zoom` times narrower per parameter than the last, on each parameter's own
    scale (log scale for ``sampling="log"``, ``1 - beta`` on a log scale for
    `kerastools.tuning.beta`). See `CoarseToFineOracle` for the exact rule.

    A `keras_tuner.Tuner`: `search`, `results_summary`, `get_best_models`,
    TensorBoard logging, the distributed mode and resumption with
    ``overwrite=False`` (the rounds continue where they stopped) all work as for
    `keras_tuner.RandomSearch`.

    Args:
        hypermodel: a `keras_tuner.HyperModel` or a function ``build(hp) -> model``.
        objective: as in `keras_tuner.RandomSearch` (e.g. ``"val_accuracy"``).
        max_trials: the total number of trials, >= `rounds`. Defaults to `10`.
        rounds: the number of rounds (round 0, the coarse one, gets half of the
            trials), or a list of the trials of each round. Defaults to `3`.
        zoom: each round's width factor per parameter, in (0, 1]. Defaults to `0.5`.
        top_fraction: fraction of the completed trials the next box is centred
            on. Defaults to `0.25`.
        prune_choices: keep only the choices seen in the best trials. Defaults
            to `True`.
        seed, hyperparameters, tune_new_entries, allow_new_entries,
            max_retries_per_trial, max_consecutive_failed_trials: as in
            `keras_tuner.RandomSearch`. Defaults to `None`, `None`, `True`,
            `True`, `0` and `3`.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`, `project_name`,
            `overwrite`, `executions_per_trial`, ...).

    Example:

    >>> tuner = kerastools.tuning.CoarseToFine(build, objective="val_accuracy", max_trials=12, rounds=3,
    ...                                        directory="runs", project_name="digits")
    >>> tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=5)
    >>> tuner.oracle.ranges(2)   # the last round's box, in the parameters' units
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=10,
        rounds=None,
        zoom=0.5,
        top_fraction=0.25,
        explore=0.25,
        max_boxes=3,
        prune_choices=True,
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
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        super().__init__(oracle, hypermodel, **kwargs)
