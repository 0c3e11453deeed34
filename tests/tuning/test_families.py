"""`tuning.optimizer` and `tuning.schedule`: what they register, what they build, bad input."""

import keras_tuner
import pytest

import kerastools as kt
from kerastools import tuning


def _space(hp):
    return {p.name: p for p in hp.space}


def _with_values(build, **values):
    """Register the space once, then build again with `values` set (as a trial does)."""
    hp = keras_tuner.HyperParameters()
    build(hp)
    hp.values.update(values)
    hp.ensure_active_values()
    return build(hp), hp


def test_optimizer_registers_the_documented_space():
    hp = keras_tuner.HyperParameters()
    opt = tuning.optimizer(hp, ("adam", "momentum", "rmsprop", "adamw"))
    space = _space(hp)
    assert set(space) == {"optimizer", "learning_rate", "momentum/1-beta", "rmsprop/1-rho", "adamw/weight_decay"}
    assert space["optimizer"].values == ["adam", "momentum", "rmsprop", "adamw"]
    assert (space["learning_rate"].min_value, space["learning_rate"].max_value, space["learning_rate"].sampling) == (1e-4, 1.0, "log")
    beta = space["momentum/1-beta"]
    assert beta.sampling == "log" and beta.min_value == pytest.approx(1 - 0.999) and beta.max_value == pytest.approx(0.1)
    assert [c.name for c in beta.conditions] == ["optimizer"]
    # The first choice with its own defaults where they lie in the priors.
    assert isinstance(opt, kt.Adam) and float(opt.learning_rate.numpy()) == pytest.approx(1e-3)
    assert space["momentum/1-beta"].default == pytest.approx(0.1)  # Momentum's beta = 0.9
    assert space["adamw/weight_decay"].default == pytest.approx(0.004)


@pytest.mark.parametrize(
    "choice, cls, values, expected",
    [
        ("sgd", kt.SGD, {"learning_rate": 0.2}, {"momentum": 0.0}),
        ("momentum", kt.Momentum, {"learning_rate": 0.05, "momentum/1-beta": 0.02}, {"beta": 0.98}),
        ("adagrad", kt.Adagrad, {"learning_rate": 0.3}, {"epsilon": 1e-7}),
        ("rmsprop", kt.RMSprop, {"learning_rate": 0.01, "rmsprop/1-rho": 0.005}, {"rho": 0.995}),
        ("adam", kt.Adam, {"learning_rate": 0.002}, {"beta_1": 0.9, "beta_2": 0.999}),
        ("adamw", kt.AdamW, {"learning_rate": 0.002, "adamw/weight_decay": 0.01}, {"weight_decay": 0.01}),
    ],
)
def test_optimizer_builds_the_chosen_class(choice, cls, values, expected):
    choices = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw")
    opt, _ = _with_values(lambda hp: tuning.optimizer(hp, choices), optimizer=choice, **values)
    assert type(opt) is cls
    assert float(opt.learning_rate.numpy()) == pytest.approx(values["learning_rate"], rel=1e-6)
    config = opt.get_config()
    for key, value in expected.items():
        assert config[key] == pytest.approx(value, abs=1e-15)


def test_optimizer_tune_ranges_and_fixed_arguments():
    def build(hp):
        return tuning.optimizer(
            hp, ("adam", "sgd"), tune=("learning_rate", "beta_1", "momentum"), ranges={"epsilon": (1e-9, 1e-6)}, epsilon_placement="inside", clipnorm=1.0
        )

    opt, hp = _with_values(build, optimizer="adam", **{"adam/1-beta_1": 0.05, "adam/epsilon": 1e-8})
    space = _space(hp)
    assert {"adam/1-beta_1", "sgd/1-momentum", "adam/epsilon"} <= set(space) and "adam/1-beta_2" not in space
    assert (space["adam/epsilon"].min_value, space["adam/epsilon"].max_value) == (1e-9, 1e-6)
    config = opt.get_config()
    assert config["beta_1"] == pytest.approx(0.95) and config["epsilon"] == 1e-8
    assert config["epsilon_placement"] == "inside" and config["clipnorm"] == 1.0
    sgd, _ = _with_values(build, optimizer="sgd", **{"sgd/1-momentum": 0.1})
    assert type(sgd) is kt.SGD and sgd.momentum == pytest.approx(0.9) and sgd.get_config()["clipnorm"] == 1.0


def test_optimizer_tune_all():
    hp = keras_tuner.HyperParameters()
    tuning.optimizer(hp, ("rmsprop",), tune="all")
    assert set(_space(hp)) == {"optimizer", "learning_rate", "rmsprop/1-rho", "rmsprop/1-momentum", "rmsprop/epsilon"}


def test_schedule_into_optimizer():
    def build(hp):
        rate = tuning.schedule(hp, decay_steps=10, choices=("constant", "inverse_time", "exponential", "natural_exp", "cosine"), steps_per_epoch=5)
        return tuning.optimizer(hp, ("momentum",), learning_rate=rate)

    hp = keras_tuner.HyperParameters()
    build(hp)
    assert set(_space(hp)) == {
        "schedule",
        "learning_rate",
        "inverse_time/decay_rate",
        "exponential/1-decay_rate",
        "natural_exp/decay_rate",
        "cosine/alpha",
        "optimizer",
        "momentum/1-beta",
    }
    cases = {
        "constant": (float, {}),
        "inverse_time": (kt.schedules.InverseTimeDecay, {"inverse_time/decay_rate": 0.5}),
        "exponential": (kt.schedules.ExponentialDecay, {"exponential/1-decay_rate": 0.04}),
        "natural_exp": (kt.schedules.NaturalExpDecay, {"natural_exp/decay_rate": 2.0}),
        "cosine": (kt.schedules.CosineDecay, {"cosine/alpha": 0.25}),
    }
    for choice, (cls, values) in cases.items():
        opt, _ = _with_values(build, schedule=choice, learning_rate=0.1, **values)
        rate = opt._learning_rate
        if cls is float:
            assert float(opt.learning_rate.numpy()) == pytest.approx(0.1)
            continue
        assert type(rate) is cls
        config = rate.get_config()
        assert config["initial_learning_rate"] == 0.1 and config["decay_steps"] == 10 and config["steps_per_epoch"] == 5
        key = "alpha" if choice == "cosine" else "decay_rate"
        expected = 0.96 if choice == "exponential" else next(iter(values.values()))
        assert config[key] == pytest.approx(expected)


def test_schedule_with_fixed_rate_and_ranges():
    hp = keras_tuner.HyperParameters()
    rate = tuning.schedule(hp, 100, ("inverse_time",), learning_rate=0.05, ranges={"decay_rate": (0.1, 1.0)})
    space = _space(hp)
    assert "learning_rate" not in space
    assert (space["inverse_time/decay_rate"].min_value, space["inverse_time/decay_rate"].max_value) == (0.1, 1.0)
    assert rate.get_config()["initial_learning_rate"] == 0.05


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda hp: tuning.optimizer(hp, ("adam", "nadam")), ValueError, r"Unknown optimizer 'nadam' in `choices`; known: 'sgd', 'momentum'"),
        (lambda hp: tuning.optimizer(hp, ()), ValueError, r"`choices` must name at least one optimizer. Received: choices=\(\)"),
        (lambda hp: tuning.optimizer(hp, "adam"), TypeError, r"`choices` must be a list or tuple of optimizer names. Received: choices='adam'"),
        (lambda hp: tuning.optimizer(hp, ("adam", "adam")), ValueError, r"`choices` must not repeat a name"),
        (lambda hp: tuning.optimizer(hp, ("sgd",), tune=("beta_1",)), ValueError, r"Unknown hyperparameter 'beta_1' in `tune`; the chosen classes tune \['learning_rate', 'momentum'\]"),
        (lambda hp: tuning.optimizer(hp, tune="everything"), TypeError, r"`tune` must be a list or tuple of argument names, or 'all'"),
        (lambda hp: tuning.optimizer(hp, ranges={"rho": (0.9, 0.99)}), ValueError, r"Unknown hyperparameter 'rho' in `ranges`"),
        (lambda hp: tuning.optimizer(hp, ranges={"beta_1": (0.99, 0.9)}), ValueError, r"`ranges\['beta_1'\]\[0\]` and `ranges\['beta_1'\]\[1\]` must form a non-empty range"),
        (lambda hp: tuning.optimizer(hp, ranges={"learning_rate": (0.0, 0.1)}), ValueError, r"`ranges\['learning_rate'\]\[0\]` must be > 0 on a log scale. Received: ranges\['learning_rate'\]\[0\]=0.0"),
        (lambda hp: tuning.optimizer(hp, ranges={"beta_2": (0.9, 1.0)}), ValueError, r"`ranges\['beta_2'\]\[1\]` must be < 1"),
        (lambda hp: tuning.optimizer(hp, ranges={"epsilon": 1e-8}), TypeError, r"`ranges\['epsilon'\]` must be a pair \(min_value, max_value\)"),
        (lambda hp: tuning.optimizer(hp, ranges=[("epsilon", 1, 2)]), TypeError, r"`ranges` must be a dict"),
        (lambda hp: tuning.optimizer(hp, ("adam",), tune=("learning_rate", "beta_1"), beta_1=0.95), ValueError, r"`beta_1` is both fixed and tuned"),
        (lambda hp: tuning.optimizer(hp, ("sgd",), beta_1=0.95), ValueError, r"`beta_1` is not accepted by any of \['sgd'\]. Received: beta_1=0.95"),
        (lambda hp: tuning.optimizer(hp, learning_rate=0.1, tune=("learning_rate",)), ValueError, r"`learning_rate` is given, so it cannot also be tuned"),
        (lambda hp: tuning.schedule(hp, 0), ValueError, r"`decay_steps` must be an integer >= 1. Received: decay_steps=0"),
        (lambda hp: tuning.schedule(hp, 10, ("linear",)), ValueError, r"Unknown schedule 'linear' in `choices`; known: 'constant', 'inverse_time'"),
        (lambda hp: tuning.schedule(hp, 10, ("cosine",), ranges={"alpha": (0.5, 0.1)}), ValueError, r"must form a non-empty range"),
        (lambda hp: tuning.schedule(hp, 10, learning_rate=0.1, ranges={"learning_rate": (1e-3, 1e-1)}), ValueError, r"`learning_rate` is given"),
        (lambda hp: tuning.optimizer(hp, name=3), TypeError, r"`name` must be a non-empty string. Received: name=3"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(keras_tuner.HyperParameters())
