"""Priors on the course's scales, registered as KerasTuner hyperparameters.

The course samples a learning rate as ``r = -4 * np.random.rand(); alpha = 10**r``
(uniform in the exponent: log-uniform) and a momentum coefficient as
``beta = 1 - 10**r`` with ``r`` uniform in ``[log10(1 - beta_max), log10(1 - beta_min)]``
(``[-3, -1]`` for ``beta`` in ``[0.9, 0.999]``): ``1 - beta`` is log-uniform, so
as many samples fall in ``[0.9, 0.99]`` as in ``[0.99, 0.999]``.

KerasTuner's ``sampling="log"`` is the first exactly. Its ``sampling="reverse_log"``
is *not* the second: it makes ``min_value + max_value - value`` log-uniform on
``[min_value, max_value]``, i.e. it mirrors the log scale inside the range. On
``[0.9, 0.999]`` that is nearly uniform (the ratio of the bounds is 1.11); it equals
the course's scale only when ``min_value + max_value == 1``. So a ``beta`` is
stored as the hyperparameter ``"1-beta"`` (the prefix goes on the last part of a
``"/"``-separated name) with ``sampling="log"`` on ``[1 - max_value, 1 - min_value]``,
and ``1 - value`` is returned: exactly the course's ``1 - 10**r``, and every tuner
(random search, Hyperband, Bayesian optimisation, `CoarseToFine`) sees an ordinary
log-scaled parameter.
"""

import dataclasses
import math

import keras_tuner

from kerastools._validation import check_number

SCALES = ("linear", "log", "one_minus_log")
COMPLEMENT_PREFIX = "1-"


@dataclasses.dataclass(frozen=True)
class Prior:
    """Where and on which scale one hyperparameter is drawn.

    ``scale`` is ``"linear"`` (uniform), ``"log"`` (log-uniform) or
    ``"one_minus_log"`` (``1 - value`` log-uniform: the course's ``1 - 10**r``).
    """

    scale: str
    min_value: float
    max_value: float

    def centre(self):
        """The middle of the range on its own scale (the default value)."""
        lo, hi = self.min_value, self.max_value
        if self.scale == "log":
            return math.sqrt(lo * hi)
        if self.scale == "one_minus_log":
            return 1.0 - math.sqrt((1.0 - lo) * (1.0 - hi))
        return 0.5 * (lo + hi)

    def contains(self, value):
        return self.min_value <= value <= self.max_value


def check_hyperparameters(hp):
    if not isinstance(hp, keras_tuner.HyperParameters):
        raise TypeError(
            "Argument `hp` must be a keras_tuner.HyperParameters (the argument of the "
            f"hypermodel's build function). Received: hp={hp!r} of type {type(hp).__name__}"
        )
    return hp


def check_name(name, argument="name"):
    if not isinstance(name, str) or not name:
        raise TypeError(f"Argument `{argument}` must be a non-empty string. Received: {argument}={name!r}")
    return name


def check_range(scale, min_value, max_value, *, low="min_value", high="max_value"):
    """Validate the bounds of a range on `scale` and return them as floats.

    `low` and `high` are the names used in messages (e.g. ``"ranges['beta_1'][0]"``).
    """
    lo = check_number(low, min_value)
    hi = check_number(high, max_value)
    if not lo < hi:
        raise ValueError(
            f"Arguments `{low}` and `{high}` must form a non-empty range, {low} < {high}. "
            f"Received: {low}={min_value!r}, {high}={max_value!r}"
        )
    if scale == "log" and lo <= 0:
        raise ValueError(f"Argument `{low}` must be > 0 on a log scale. Received: {low}={min_value!r}")
    if scale == "one_minus_log":
        if lo < 0:
            raise ValueError(f"Argument `{low}` must be >= 0 for a parameter drawn as 1 - 10**r. Received: {low}={min_value!r}")
        if hi >= 1:
            raise ValueError(
                f"Argument `{high}` must be < 1 for a parameter drawn as 1 - 10**r "
                f"(1 - {high} is on a log scale and must be > 0). Received: {high}={max_value!r}"
            )
    return lo, hi


def make_prior(scale, min_value, max_value, *, low="min_value", high="max_value"):
    lo, hi = check_range(scale, min_value, max_value, low=low, high=high)
    return Prior(scale, lo, hi)


def complement_name(name):
    """``"beta"`` -> ``"1-beta"``, ``"adam/beta_1"`` -> ``"adam/1-beta_1"``."""
    head, sep, tail = name.rpartition("/")
    return f"{head}{sep}{COMPLEMENT_PREFIX}{tail}"


def check_default(default, prior, argument="default"):
    if default is None:
        return prior.centre()
    value = check_number(argument, default)
    if not prior.contains(value):
        raise ValueError(
            f"Argument `{argument}` must lie in [min_value, max_value] = "
            f"[{prior.min_value:g}, {prior.max_value:g}]. Received: {argument}={default!r}"
        )
    return value


def sample(hp, name, prior, default):
    """Register `name` with `prior` in `hp` and return its value (`None` while inactive).

    `default` must lie in the range (see `check_default`).
    """
    if prior.scale == "one_minus_log":
        # 1 - x is exact for x in [0.5, 1] (Sterbenz), so the bounds map back exactly.
        value = hp.Float(
            complement_name(name),
            min_value=1.0 - prior.max_value,
            max_value=1.0 - prior.min_value,
            sampling="log",
            default=1.0 - default,
        )
        return None if value is None else 1.0 - value
    return hp.Float(name, min_value=prior.min_value, max_value=prior.max_value, sampling=prior.scale, default=default)


def _registered(hp, name, scale, min_value, max_value, default):
    check_hyperparameters(hp)
    check_name(name)
    prior = make_prior(scale, min_value, max_value)
    return sample(hp, name, prior, check_default(default, prior))


def learning_rate(hp, name="learning_rate", min_value=1e-4, max_value=1.0, default=None):
    """A learning rate drawn log-uniformly, as the course does.

    The course's ``r = -4 * np.random.rand(); alpha = 10**r`` is the default
    range: with ``a = log10(min_value)`` and ``b = log10(max_value)``::

        r = a + (b - a) * u,   u ~ U(0, 1)
        learning_rate = 10 ** r

    Args:
        hp: the `keras_tuner.HyperParameters` passed to the build function.
        name: the hyperparameter's name. Defaults to `"learning_rate"`.
        min_value: lower bound, > 0. Defaults to `1e-4`.
        max_value: upper bound, > `min_value`. Defaults to `1.0`.
        default: the value used before any search (e.g. by
            ``tune_new_entries=False``). Defaults to `None`, the geometric middle
            ``sqrt(min_value * max_value)`` (0.01 for the default range).

    Returns:
        The value for this trial (a float), or `None` inside an inactive
        `conditional_scope`.

    Example:

    >>> import keras_tuner
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    ...     model.compile(kt.Adam(kt.tuning.learning_rate(hp)), loss="mse")
    ...     return model
    >>> hp = keras_tuner.HyperParameters()
    >>> model = build(hp)
    >>> hp.get("learning_rate")  # the default: the middle of [1e-4, 1] on the log scale
    0.01
    >>> hp.space[0].sampling
    'log'
    """
    return _registered(hp, name, "log", min_value, max_value, default)


def log_uniform(hp, name, min_value, max_value, default=None):
    """Any positive hyperparameter drawn log-uniformly (e.g. an L2 lambda, a weight decay).

    ``value = 10 ** r`` with ``r`` uniform in ``[log10(min_value), log10(max_value)]``;
    KerasTuner's ``hp.Float(name, min_value, max_value, sampling="log")``, with
    the bounds checked. Arguments and return value as in `learning_rate`
    (`default` defaults to the geometric middle).
    """
    return _registered(hp, name, "log", min_value, max_value, default)


def epsilon(hp, name="epsilon", min_value=1e-8, max_value=1e-4, default=None):
    """An optimizer's epsilon drawn log-uniformly in ``[min_value, max_value]``.

    Arguments and return value as in `learning_rate`; `default` defaults to the
    geometric middle (1e-6 for the default range).
    """
    return _registered(hp, name, "log", min_value, max_value, default)


def beta(hp, name="beta", min_value=0.9, max_value=0.999, default=None):
    """An averaging coefficient drawn as the course's ``1 - 10**r``.

    With ``a = log10(1 - max_value)`` and ``b = log10(1 - min_value)``
    (``[-3, -1]`` for the default range)::

        r = a + (b - a) * u,   u ~ U(0, 1)
        beta = 1 - 10 ** r

    so each decade of ``1 / (1 - beta)`` (the number of values averaged) gets the
    same share of the samples. For momentum's ``beta``, Adam's ``beta_1`` and
    ``beta_2``, RMSprop's ``rho``...

    The hyperparameter is stored as ``"1-" + name`` (``"adam/beta_1"`` becomes
    ``"adam/1-beta_1"``), log-uniform on ``[1 - max_value, 1 - min_value]``;
    `hyperparameter_values` turns such entries back into ``beta``.

    Args:
        hp: the `keras_tuner.HyperParameters` passed to the build function.
        name: the name of the coefficient. Defaults to `"beta"`.
        min_value: lower bound, in [0, 1). Defaults to `0.9`.
        max_value: upper bound, in (`min_value`, 1). Defaults to `0.999`.
        default: Defaults to `None`, the middle on this scale,
            ``1 - sqrt((1 - min_value) * (1 - max_value))`` (0.99 for the
            default range).

    Returns:
        ``beta`` for this trial (a float), or `None` inside an inactive
        `conditional_scope`.

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> momentum = kt.Momentum(learning_rate=0.01, beta=kt.tuning.beta(hp))
    >>> round(momentum.beta, 6), hp.space[0].name, hp.space[0].sampling  # 1 - beta, log-uniform
    (0.99, '1-beta', 'log')

    Note:
        KerasTuner's ``sampling="reverse_log"`` is a different scale: it makes
        ``min_value + max_value - beta`` log-uniform, which on ``[0.9, 0.999]``
        is almost uniform in ``beta``. It matches the course only when
        ``min_value + max_value == 1``.
    """
    return _registered(hp, name, "one_minus_log", min_value, max_value, default)


def hyperparameter_values(hp):
    """The values of a trial with every ``"1-x"`` entry turned back into ``x = 1 - value``.

    Args:
        hp: a `keras_tuner.HyperParameters` (e.g. from
            ``tuner.get_best_hyperparameters()``) or a dict of values.

    Returns:
        A new dict: ``{"adam/1-beta_1": 0.05}`` becomes ``{"adam/beta_1": 0.95}``;
        other entries are copied.

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> beta = kt.tuning.beta(hp, "momentum", default=0.99)
    >>> hp.values
    {'1-momentum': 0.01}
    >>> kt.tuning.hyperparameter_values(hp)
    {'momentum': 0.99}
    """
    if isinstance(hp, keras_tuner.HyperParameters):
        values = hp.values
    elif isinstance(hp, dict):
        values = hp
    else:
        raise TypeError(
            f"Argument `hp` must be a keras_tuner.HyperParameters or a dict. Received: hp={hp!r} of type {type(hp).__name__}"
        )
    result = {}
    for name, value in values.items():
        head, sep, tail = name.rpartition("/")
        if tail.startswith(COMPLEMENT_PREFIX) and isinstance(value, float):
            result[f"{head}{sep}{tail[len(COMPLEMENT_PREFIX):]}"] = 1.0 - value
        else:
            result[name] = value
    return result
