"""A schedule times a mutable factor: how `ReduceLROnPlateau` lowers a scheduled rate."""

import keras
from keras import ops

from kerastools._registry import register
from kerastools.schedules._base import (
    Schedule,
    check_finite,
    check_schedule,
    deserialize_schedule,
    rate64,
    serialize_schedule,
)


def _check_scale(value):
    return check_finite("scale", value, low=0.0)


@register
class ScaledSchedule(Schedule):
    """``r = scale * S(g)``: any schedule ``S`` times a factor that can change during training.

    Keras's ``ReduceLROnPlateau`` cannot lower a learning rate that is a
    schedule (it raises ``TypeError``). Wrap the schedule in `ScaledSchedule` and
    use `kerastools.callbacks.ReduceLROnPlateau`, which multiplies `scale` by its
    ``factor`` on a plateau; the schedule keeps its shape, scaled down.

    Where the factor lives: `scale` is a non-trainable float64 `keras.Variable`
    read by the compiled train step, so a change takes effect at the next step
    without retracing. `get_config` writes its *current* value into the config,
    and the optimizer's config is written when the model is saved, so the
    factor is restored by ``keras.models.load_model`` from ``.keras`` and
    ``.h5`` files alike. (``model.save_weights`` saves no optimizer config, so
    it does not keep the factor.)

    Args:
        schedule: any `keras.optimizers.schedules.LearningRateSchedule`.
        scale: the initial factor, >= 0. Defaults to `1.0`.
        name: name scope of the operations. Defaults to `"ScaledSchedule"`.

    Example:

    >>> schedule = kt.schedules.ScaledSchedule(kt.schedules.CosineDecay(0.1, decay_steps=1000))
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)
    >>> schedule.scale = 0.5          # what ReduceLROnPlateau does on a plateau
    >>> round(float(schedule(500)), 6)
    0.025
    """

    def __init__(self, schedule, scale=1.0, name=None):
        super().__init__(name=name)
        self.schedule = check_schedule("schedule", deserialize_schedule(schedule))
        self.scale_variable = keras.Variable(
            _check_scale(scale), dtype="float64", trainable=False, name="learning_rate_scale"
        )

    @property
    def scale(self):
        """The current factor, a Python float; assign to change it."""
        return float(ops.convert_to_numpy(self.scale_variable))

    @scale.setter
    def scale(self, value):
        self.scale_variable.assign(_check_scale(value))

    def _rate(self, step):
        return ops.cast(self.scale_variable, "float64") * rate64(self.schedule, step)

    def _config(self):
        return {"schedule": serialize_schedule(self.schedule), "scale": self.scale}
