"""Bad arguments raise ValueError (wrong value) or TypeError (wrong type) naming
the argument and the value received."""

import re

import keras
import pytest

import kerastools as kt

RANGE = "must be in [0, 1)"

BAD_ARGUMENTS = [
    # learning rate, for every class
    *[(cls, {"learning_rate": -0.1}, ValueError,
       "Argument `learning_rate` must be >= 0. Received: learning_rate=-0.1")
      for cls in (kt.SGD, kt.Momentum, kt.Adagrad, kt.RMSprop, kt.Adam, kt.AdamW)],
    (kt.Adam, {"learning_rate": "fast"}, TypeError,
     "Argument `learning_rate` must be a number >= 0, a "
     "`keras.optimizers.schedules.LearningRateSchedule` or a callable. "
     "Received: learning_rate='fast' of type str"),
    # decay rates in [0, 1)
    (kt.SGD, {"momentum": 1.0}, ValueError, f"Argument `momentum` {RANGE}. Received: momentum=1.0"),
    (kt.SGD, {"momentum": -0.5}, ValueError, f"Argument `momentum` {RANGE}. Received: momentum=-0.5"),
    (kt.Momentum, {"beta": 1.0}, ValueError, f"Argument `beta` {RANGE}. Received: beta=1.0"),
    (kt.Momentum, {"beta": -0.1}, ValueError, f"Argument `beta` {RANGE}. Received: beta=-0.1"),
    (kt.RMSprop, {"rho": 1.0}, ValueError, f"Argument `rho` {RANGE}. Received: rho=1.0"),
    (kt.RMSprop, {"momentum": 1.5}, ValueError, f"Argument `momentum` {RANGE}. Received: momentum=1.5"),
    (kt.Adam, {"beta_1": 1.0}, ValueError, f"Argument `beta_1` {RANGE}. Received: beta_1=1.0"),
    (kt.Adam, {"beta_2": -0.1}, ValueError, f"Argument `beta_2` {RANGE}. Received: beta_2=-0.1"),
    (kt.AdamW, {"beta_2": 2}, ValueError, f"Argument `beta_2` {RANGE}. Received: beta_2=2.0"),
    # epsilon > 0
    (kt.Adagrad, {"epsilon": 0}, ValueError, "Argument `epsilon` must be > 0. Received: epsilon=0.0"),
    (kt.RMSprop, {"epsilon": -1e-7}, ValueError, "Argument `epsilon` must be > 0. Received: epsilon=-1e-07"),
    (kt.Adam, {"epsilon": 0.0}, ValueError, "Argument `epsilon` must be > 0. Received: epsilon=0.0"),
    # conventions
    (kt.Adagrad, {"epsilon_placement": "hat"}, ValueError,
     "Argument `epsilon_placement` must be one of 'inside', 'outside'. Received: epsilon_placement='hat'"),
    (kt.RMSprop, {"epsilon_placement": "course"}, ValueError,
     "Argument `epsilon_placement` must be one of 'inside', 'outside'. "
     "Received: epsilon_placement='course'"),
    (kt.Adam, {"epsilon_placement": "keras"}, ValueError,
     "Argument `epsilon_placement` must be one of 'hat', 'outside', 'inside'. "
     "Received: epsilon_placement='keras'"),
    # other arguments of the classes
    (kt.Adagrad, {"initial_accumulator_value": -1.0}, ValueError,
     "Argument `initial_accumulator_value` must be >= 0. Received: initial_accumulator_value=-1.0"),
    (kt.SGD, {"nesterov": "yes"}, TypeError, "Argument `nesterov` must be a bool. Received: nesterov='yes'"),
    (kt.Momentum, {"bias_correction": 1}, TypeError,
     "Argument `bias_correction` must be a bool. Received: bias_correction=1"),
    (kt.RMSprop, {"centered": None}, TypeError, "Argument `centered` must be a bool. Received: centered=None"),
    (kt.Adam, {"amsgrad": "no"}, TypeError, "Argument `amsgrad` must be a bool. Received: amsgrad='no'"),
    (kt.AdamW, {"weight_decay": -0.1}, ValueError,
     "Argument `weight_decay` must be >= 0. Received: weight_decay=-0.1"),
    # A ValueError, as in Keras (Keras's own AdamW test pins the type).
    (kt.AdamW, {"weight_decay": None}, ValueError,
     "Argument `weight_decay` must be a float. Received: weight_decay=None"),
    # Keras's base arguments
    (kt.SGD, {"clipnorm": 0.0}, ValueError, "Argument `clipnorm` must be > 0. Received: clipnorm=0.0"),
    (kt.SGD, {"clipnorm": 1.0, "clipvalue": 1.0}, ValueError,
     "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
     "Received: clipnorm=1.0, clipvalue=1.0, global_clipnorm=None"),
    (kt.Adam, {"global_clipnorm": -1.0}, ValueError,
     "Argument `global_clipnorm` must be > 0. Received: global_clipnorm=-1.0"),
    (kt.Adam, {"use_ema": "yes"}, TypeError, "Argument `use_ema` must be a bool. Received: use_ema='yes'"),
    (kt.Adam, {"ema_momentum": 1.5}, ValueError,
     "Argument `ema_momentum` must be in [0, 1]. Received: ema_momentum=1.5"),
    (kt.Adam, {"ema_overwrite_frequency": 0}, ValueError,
     "Argument `ema_overwrite_frequency` must be an integer >= 1. Received: ema_overwrite_frequency=0"),
    (kt.Adam, {"gradient_accumulation_steps": 1}, ValueError,
     "Argument `gradient_accumulation_steps` must be an integer >= 2. "
     "Received: gradient_accumulation_steps=1"),
    (kt.Adam, {"loss_scale_factor": 0.0}, ValueError,
     "Argument `loss_scale_factor` must be > 0. Received: loss_scale_factor=0.0"),
    (kt.Adam, {"name": 3}, TypeError, "Argument `name` must be a string or None. Received: name=3"),
    (kt.Adam, {"beta1": 0.9}, ValueError, "Argument(s) not recognized: {'beta1': 0.9}"),
    # fused
    (kt.Adam, {"fused": "auto"}, TypeError, "Argument `fused` must be a bool. Received: fused='auto'"),
    (kt.Adam, {"fused": True, "epsilon_placement": "inside"}, ValueError,
     "Argument `fused=True` is not available for Adam(epsilon_placement='inside', amsgrad=False): "
     "TensorFlow has no fused kernel for it. Received: fused=True"),
    (kt.Adam, {"fused": True, "amsgrad": True, "epsilon_placement": "inside"}, ValueError,
     "Argument `fused=True` is not available for Adam(epsilon_placement='inside', amsgrad=True)"),
    (kt.RMSprop, {"fused": True, "epsilon_placement": "outside", "momentum": 0.5}, ValueError,
     "Argument `fused=True` is not available for "
     "RMSprop(epsilon_placement='outside', centered=False, momentum=0.5)"),
]  # fmt: skip


@pytest.mark.parametrize(
    "cls, kwargs, error, message",
    BAD_ARGUMENTS,
    ids=[f"{c.__name__}-{'-'.join(k)}" for c, k, _, _ in BAD_ARGUMENTS],
)
def test_bad_arguments_are_named_in_the_error(cls, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        cls(**kwargs)


def test_good_arguments_are_accepted_and_normalised():
    optimizer = kt.Adam(learning_rate=1, beta_1=0, epsilon=1, fused=False)
    assert optimizer.get_config()["learning_rate"] == 1.0
    assert optimizer.beta_1 == 0.0 and isinstance(optimizer.beta_1, float)
    assert kt.SGD(learning_rate=0).get_config()["learning_rate"] == 0.0
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 100)
    assert kt.RMSprop(learning_rate=schedule).get_config()["learning_rate"]["class_name"] == "CosineDecay"
    assert float(kt.Momentum(learning_rate=lambda: 0.5).learning_rate) == 0.5
