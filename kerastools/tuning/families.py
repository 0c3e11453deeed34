"""Search spaces over kerastools optimizers and learning-rate schedules.

One function per family (`optimizer`, `schedule`) registers a choice between
classes and, in a `conditional_scope` per class, the hyperparameters of that
class with documented priors (`OPTIMIZER_PRIORS`, `SCHEDULE_PRIORS`).
"""

import dataclasses
import inspect

from kerastools import optimizers, schedules
from kerastools.optimizers._docs import BASE_OPTIMIZER_ARGUMENTS
from kerastools.tuning import priors as P
from kerastools._validation import check_int

_LOG, _ONE_MINUS, _LINEAR = "log", "one_minus_log", "linear"
LEARNING_RATE_PRIOR = P.Prior(_LOG, 1e-4, 1.0)  # the course's r = -4 * rand()


@dataclasses.dataclass(frozen=True)
class Family:
    """A class, the priors of its tunable arguments, and those tuned by default."""

    cls: type | None
    priors: dict
    tuned: tuple

    def class_default(self, argument):
        if self.cls is None:
            return None
        parameter = inspect.signature(self.cls.__init__).parameters.get(argument)
        if parameter is None or parameter.default is inspect.Parameter.empty:
            return None
        return parameter.default

    def accepts(self, argument):
        return self.cls is not None and argument in inspect.signature(self.cls.__init__).parameters


# Defaults follow the course's order of importance: the learning rate first, then
# momentum's beta; Adam's beta_1, beta_2 and epsilon are "almost never tuned".
OPTIMIZER_PRIORS = {
    "sgd": Family(optimizers.SGD, {"momentum": P.Prior(_ONE_MINUS, 0.5, 0.99)}, ()),
    "momentum": Family(optimizers.Momentum, {"beta": P.Prior(_ONE_MINUS, 0.9, 0.999)}, ("beta",)),
    "adagrad": Family(optimizers.Adagrad, {"epsilon": P.Prior(_LOG, 1e-8, 1e-4)}, ()),
    "rmsprop": Family(
        optimizers.RMSprop,
        {"rho": P.Prior(_ONE_MINUS, 0.9, 0.999), "momentum": P.Prior(_ONE_MINUS, 0.5, 0.99), "epsilon": P.Prior(_LOG, 1e-8, 1e-4)},
        ("rho",),
    ),
    "adam": Family(
        optimizers.Adam,
        {"beta_1": P.Prior(_ONE_MINUS, 0.8, 0.99), "beta_2": P.Prior(_ONE_MINUS, 0.99, 0.9999), "epsilon": P.Prior(_LOG, 1e-8, 1e-4)},
        (),
    ),
    "adamw": Family(
        optimizers.AdamW,
        {
            "weight_decay": P.Prior(_LOG, 1e-5, 1e-1),
            "beta_1": P.Prior(_ONE_MINUS, 0.8, 0.99),
            "beta_2": P.Prior(_ONE_MINUS, 0.99, 0.9999),
            "epsilon": P.Prior(_LOG, 1e-8, 1e-4),
        },
        ("weight_decay",),
    ),
}

SCHEDULE_PRIORS = {
    "constant": Family(None, {}, ()),
    # The course's fractional decay r0 / (1 + k * g / d).
    "inverse_time": Family(schedules.InverseTimeDecay, {"decay_rate": P.Prior(_LOG, 1e-2, 10.0)}, ("decay_rate",)),
    # r0 * k ** (g / d): the course's 0.95 ** epoch with d = steps per epoch.
    "exponential": Family(schedules.ExponentialDecay, {"decay_rate": P.Prior(_ONE_MINUS, 0.5, 0.99)}, ("decay_rate",)),
    "natural_exp": Family(schedules.NaturalExpDecay, {"decay_rate": P.Prior(_LOG, 1e-2, 10.0)}, ("decay_rate",)),
    "cosine": Family(schedules.CosineDecay, {"alpha": P.Prior(_LINEAR, 0.0, 0.5)}, ("alpha",)),
}

# Keyword arguments every kerastools optimizer accepts: Keras's base arguments
# (one list, kept with the optimizers) less `name`, plus `fused`.
_BASE_OPTIMIZER_ARGUMENTS = tuple(a for a in BASE_OPTIMIZER_ARGUMENTS if a != "name") + ("fused",)


def _check_choices(choices, table, what):
    if isinstance(choices, str) or not isinstance(choices, (list, tuple)):
        raise TypeError(f"Argument `choices` must be a list or tuple of {what} names. Received: choices={choices!r}")
    if not choices:
        raise ValueError(f"Argument `choices` must name at least one {what}. Received: choices={choices!r}")
    for choice in choices:
        if choice not in table:
            known = ", ".join(repr(k) for k in table)
            raise ValueError(f"Unknown {what} {choice!r} in `choices`; known: {known}. Received: choices={choices!r}")
    if len(set(choices)) != len(choices):
        raise ValueError(f"Argument `choices` must not repeat a name. Received: choices={choices!r}")
    return tuple(choices)


def _check_ranges(ranges, allowed, priors_by_name):
    """`ranges` as a dict name -> Prior, each range validated on the parameter's scale."""
    if ranges is None:
        return {}
    if not isinstance(ranges, dict):
        raise TypeError(f"Argument `ranges` must be a dict of name -> (min_value, max_value). Received: ranges={ranges!r}")
    checked = {}
    for key, bounds in ranges.items():
        if key not in allowed:
            raise ValueError(
                f"Unknown hyperparameter {key!r} in `ranges`; the chosen classes tune {sorted(allowed)}. Received: ranges={ranges!r}"
            )
        if isinstance(bounds, str) or not hasattr(bounds, "__len__") or len(bounds) != 2:
            raise TypeError(f"Argument `ranges[{key!r}]` must be a pair (min_value, max_value). Received: ranges[{key!r}]={bounds!r}")
        scale = priors_by_name[key][0].scale  # an argument has the same scale in every class
        checked[key] = P.make_prior(scale, bounds[0], bounds[1], low=f"ranges[{key!r}][0]", high=f"ranges[{key!r}][1]")
    return checked


def _priors_by_name(families):
    found = {}
    for family in families:
        for argument, prior in family.priors.items():
            found.setdefault(argument, []).append(prior)
    return found


def _default_for(prior, class_default):
    """The class's own default when it lies in the range (Adam's beta_1 = 0.9), else the middle."""
    if isinstance(class_default, (int, float)) and not isinstance(class_default, bool) and prior.contains(class_default):
        return float(class_default)
    return prior.centre()


def _shared_learning_rate(hp, learning_rate, ranges, default):
    if learning_rate is not None:
        return learning_rate
    prior = ranges.get("learning_rate", LEARNING_RATE_PRIOR)
    return P.sample(hp, "learning_rate", prior, _default_for(prior, default))


def _family_values(hp, name, choice, family, tuned, ranges):
    """Register the tuned arguments of `family` under ``choice/argument`` and return their values."""
    values = {}
    with hp.conditional_scope(name, [choice]):
        for argument, prior in family.priors.items():
            if argument not in tuned:
                continue
            prior = ranges.get(argument, prior)
            values[argument] = P.sample(hp, f"{choice}/{argument}", prior, _default_for(prior, family.class_default(argument)))
    return values


def optimizer(hp, choices=("adam",), *, name="optimizer", learning_rate=None, tune=None, ranges=None, **fixed):
    """A kerastools optimizer chosen and configured by KerasTuner.

    Registers ``hp.Choice(name, choices)``, a shared ``"learning_rate"`` (unless
    `learning_rate` is given) and, under ``hp.conditional_scope(name, [choice])``,
    the tuned arguments of each class as ``"choice/argument"`` (``"1-"`` before
    the argument for the ``1 - 10**r`` scale, e.g. ``"momentum/1-beta"``). Returns
    the optimizer of this trial's choice. The priors (`OPTIMIZER_PRIORS`):

    ==============  =======================  ==========================  =====================
    choice          class                    tuned by default            other tunable
    ==============  =======================  ==========================  =====================
    ``"sgd"``       `kerastools.SGD`         learning_rate               momentum
    ``"momentum"``  `kerastools.Momentum`    learning_rate, beta         --
    ``"adagrad"``   `kerastools.Adagrad`     learning_rate               epsilon
    ``"rmsprop"``   `kerastools.RMSprop`     learning_rate, rho          momentum, epsilon
    ``"adam"``      `kerastools.Adam`        learning_rate               beta_1, beta_2, epsilon
    ``"adamw"``     `kerastools.AdamW`       learning_rate, weight_decay beta_1, beta_2, epsilon
    ==============  =======================  ==========================  =====================

    learning_rate: log-uniform [1e-4, 1]; beta, rho: ``1 - 10**r`` in [0.9, 0.999];
    momentum: ``1 - 10**r`` in [0.5, 0.99]; beta_1: ``1 - 10**r`` in [0.8, 0.99];
    beta_2: ``1 - 10**r`` in [0.99, 0.9999]; epsilon: log-uniform [1e-8, 1e-4];
    weight_decay: log-uniform [1e-5, 0.1]. A class's own default is the
    hyperparameter's default when it lies in the range, else the middle of the
    range on its scale.

    Args:
        hp: the `keras_tuner.HyperParameters` passed to the build function.
        choices: names from the table. Defaults to `("adam",)`.
        name: the name of the choice. Defaults to `"optimizer"`.
        learning_rate: a float or a `LearningRateSchedule` (e.g. from
            `schedule`) to use instead of tuning it. Defaults to `None` (tuned).
        tune: the arguments to tune, where a chosen class has them
            (``"learning_rate"`` included), or ``"all"``. Defaults to `None`:
            the table's defaults.
        ranges: ``{argument: (min_value, max_value)}`` replacing a prior's range
            (same scale); an argument given a range is tuned. Defaults to `None`.
        **fixed: constructor arguments for every chosen class that accepts them
            (e.g. ``epsilon_placement="inside"``, ``clipnorm=1.0``).

    Returns:
        The optimizer instance for this trial.

    Example:

    >>> import keras_tuner
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    ...     opt = kt.tuning.optimizer(hp, ("adam", "momentum"), tune=("learning_rate", "beta", "beta_1"))
    ...     model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    ...     return model
    >>> hp = keras_tuner.HyperParameters()
    >>> model = build(hp)  # before any search: each hyperparameter's default
    >>> type(model.optimizer).__name__, sorted(hp.values)
    ('Adam', ['adam/1-beta_1', 'learning_rate', 'optimizer'])
    >>> round(kt.tuning.hyperparameter_values(hp)["adam/beta_1"], 6)  # stored as 1 - beta_1
    0.9
    """
    P.check_hyperparameters(hp)
    P.check_name(name)
    choices = _check_choices(choices, OPTIMIZER_PRIORS, "optimizer")
    families = [OPTIMIZER_PRIORS[c] for c in choices]
    priors_by_name = _priors_by_name(families)
    priors_by_name["learning_rate"] = [LEARNING_RATE_PRIOR]
    tunable = set(priors_by_name)
    if tune is None:
        tuned = {"learning_rate", *(a for f in families for a in f.tuned)}
    elif tune == "all":
        tuned = set(tunable)
    else:
        if isinstance(tune, str) or not isinstance(tune, (list, tuple)):
            raise TypeError(f"Argument `tune` must be a list or tuple of argument names, or 'all'. Received: tune={tune!r}")
        for argument in tune:
            if argument not in tunable:
                raise ValueError(f"Unknown hyperparameter {argument!r} in `tune`; the chosen classes tune {sorted(tunable)}. Received: tune={tune!r}")
        tuned = set(tune)
    ranges = _check_ranges(ranges, tunable, priors_by_name)
    tuned |= set(ranges)
    if learning_rate is not None:
        if "learning_rate" in ranges or (tune is not None and "learning_rate" in tuned):
            raise ValueError("Argument `learning_rate` is given, so it cannot also be tuned (remove it from `tune` and `ranges`).")
        tuned.discard("learning_rate")
    for argument in fixed:
        if argument in tuned:
            raise ValueError(f"Argument `{argument}` is both fixed and tuned; remove it from `tune`/`ranges` or from the keyword arguments.")
        if argument not in _BASE_OPTIMIZER_ARGUMENTS and not any(f.accepts(argument) for f in families):
            raise ValueError(f"Argument `{argument}` is not accepted by any of {list(choices)}. Received: {argument}={fixed[argument]!r}")

    chosen = hp.Choice(name, list(choices), default=choices[0])
    rate = _shared_learning_rate(hp, learning_rate, ranges, families[0].class_default("learning_rate"))
    result = None
    for choice, family in zip(choices, families):
        values = _family_values(hp, name, choice, family, tuned, ranges)
        if choice == chosen:
            kwargs = {k: v for k, v in fixed.items() if k in _BASE_OPTIMIZER_ARGUMENTS or family.accepts(k)}
            result = family.cls(learning_rate=rate, **kwargs, **values)
    return result


def schedule(hp, decay_steps, choices=("constant", "inverse_time", "exponential", "cosine"), *, name="schedule", learning_rate=None, ranges=None, steps_per_epoch=None):
    """A learning rate (constant or a kerastools schedule) chosen by KerasTuner.

    Registers ``hp.Choice(name, choices)``, the initial rate ``"learning_rate"``
    (log-uniform [1e-4, 1], unless `learning_rate` is given) and each schedule's
    parameter under ``"choice/argument"`` (`SCHEDULE_PRIORS`):

    ==================  ======================================  ===========================================
    choice              rate at step ``g`` (``d = decay_steps``)  tuned prior
    ==================  ======================================  ===========================================
    ``"constant"``      ``r0``                                  --
    ``"inverse_time"``  ``r0 / (1 + k * g / d)``                ``k = decay_rate`` log-uniform [0.01, 10]
    ``"exponential"``   ``r0 * k ** (g / d)``                   ``k = decay_rate`` as ``1 - 10**r`` in [0.5, 0.99]
    ``"natural_exp"``   ``r0 * exp(-k * g / d)``                ``k = decay_rate`` log-uniform [0.01, 10]
    ``"cosine"``        cosine from ``r0`` to ``alpha * r0``    ``alpha`` uniform [0, 0.5]
    ==================  ======================================  ===========================================

    Args:
        hp: the `keras_tuner.HyperParameters` passed to the build function.
        decay_steps: ``d``, an integer > 0 (the whole decay for ``"cosine"``).
        choices: names from the table. Defaults to
            `("constant", "inverse_time", "exponential", "cosine")`.
        name: the name of the choice. Defaults to `"schedule"`.
        learning_rate: a fixed initial rate ``r0`` instead of a tuned one.
            Defaults to `None`.
        ranges: ``{argument: (min_value, max_value)}`` replacing a prior's range
            (``"learning_rate"`` included). Defaults to `None`.
        steps_per_epoch: passed to the schedules: ``g`` then counts completed
            epochs (the course's ``epochNum``). Defaults to `None`.

    Returns:
        The float ``r0`` for ``"constant"``, otherwise the schedule; pass it as
        an optimizer's `learning_rate` (e.g. ``optimizer(hp, learning_rate=...)``).

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> rate = kt.tuning.schedule(hp, decay_steps=10, choices=("inverse_time", "constant"))
    >>> opt = kt.tuning.optimizer(hp, ("adam",), learning_rate=rate)
    >>> type(rate).__name__, opt.learning_rate is not None
    ('InverseTimeDecay', True)
    >>> sorted(hp.values)
    ['inverse_time/decay_rate', 'learning_rate', 'optimizer', 'schedule']
    """
    P.check_hyperparameters(hp)
    P.check_name(name)
    check_int("decay_steps", decay_steps, low=1)
    choices = _check_choices(choices, SCHEDULE_PRIORS, "schedule")
    families = [SCHEDULE_PRIORS[c] for c in choices]
    priors_by_name = _priors_by_name(families)
    priors_by_name["learning_rate"] = [LEARNING_RATE_PRIOR]
    ranges = _check_ranges(ranges, set(priors_by_name), priors_by_name)
    if learning_rate is not None and "learning_rate" in ranges:
        raise ValueError("Argument `learning_rate` is given, so it cannot also be tuned (remove it from `ranges`).")
    chosen = hp.Choice(name, list(choices), default=choices[0])
    rate = _shared_learning_rate(hp, learning_rate, ranges, 0.01)
    result = None
    for choice, family in zip(choices, families):
        values = _family_values(hp, name, choice, family, set(family.priors), ranges)
        if choice == chosen:
            if family.cls is None:
                result = rate
            else:
                result = family.cls(rate, decay_steps, steps_per_epoch=steps_per_epoch, **values)
    return result
