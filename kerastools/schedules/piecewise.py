"""Piecewise-constant decay: fixed rates between step boundaries (the course's 分段常数衰减)."""

import tensorflow as tf

from kerastools._registry import register
from kerastools.schedules._base import Schedule, check_boundaries, check_rate


@register
class PiecewiseConstantDecay(Schedule):
    """Constant rates on intervals: ``values[i]`` while ``boundaries[i-1] < g <= boundaries[i]``.

    With boundaries ``b_0 < b_1 < ... < b_{n-1}`` and values ``v_0 ... v_n``::

        r = v_0        if g <= b_0
            v_i        if b_{i-1} < g <= b_i
            v_n        if g > b_{n-1}

    i.e. ``r = values[i]`` with ``i = sum(g > b for b in boundaries)``; ``g`` is
    the optimizer step, or completed epochs with `steps_per_epoch`.

    Args:
        boundaries: strictly increasing step (or epoch) numbers, at least one.
        values: the rates, >= 0, one more than `boundaries`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"PiecewiseConstantDecay"`.

    Example:

    >>> schedule = PiecewiseConstantDecay(boundaries=[100, 110], values=[1.0, 0.5, 0.1])
    >>> [float(schedule(step)) for step in (100, 101, 111)]
    [1.0, 0.5, 0.10000000149011612]

    Note:
        A boundary belongs to the interval that ends there (``g <= b``), as in
        `keras.optimizers.schedules.PiecewiseConstantDecay` and
        `tf.compat.v1.train.piecewise_constant`. Unlike those, the result is
        always float32 (Keras returns the dtype of ``values``, so integer values
        give an integer learning rate).
    """

    def __init__(self, boundaries, values, steps_per_epoch=None, name=None):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"Argument `values` must be a list of numbers. Received: values={values!r}")
        self.values = [check_rate(f"values[{i}]", v) for i, v in enumerate(values)]
        self.boundaries = check_boundaries(boundaries, len(self.values), "values")
        if not self.boundaries:
            raise ValueError(
                f"Argument `boundaries` must have at least one element. Received: boundaries={boundaries!r}"
            )

    def _rate(self, step):
        g = self._count(step)
        # Index of the interval: how many boundaries lie strictly below g.
        above = tf.cast(tf.expand_dims(g, -1) > tf.constant(self.boundaries, tf.float64), tf.int32)
        return tf.gather(tf.constant(self.values, tf.float64), tf.reduce_sum(above, axis=-1))

    def _config(self):
        return {
            "boundaries": self.boundaries,
            "values": self.values,
            "steps_per_epoch": self.steps_per_epoch,
        }
