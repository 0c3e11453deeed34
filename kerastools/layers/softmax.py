"""Numerically stable softmax over any axis, with an optional mask."""

import keras
import tensorflow as tf

from kerastools._registry import register
from kerastools.layers._axes import axis_config, axis_from_config, normalize_axis, resolve_axes
from kerastools.layers._stateless import build_if_stateless


@register
class Softmax(keras.layers.Layer):
    """Softmax ``a_i = exp(z_i - max(z)) / sum_j exp(z_j - max(z))`` along `axis`.

    The course's ``t = exp(z); a = t / sum(t)`` overflows for large ``z``
    (``exp(1000) = inf``, then ``inf / inf = nan``). Subtracting the maximum
    first leaves the result unchanged (the factor ``exp(-max(z))`` cancels) and
    keeps every exponent ``<= 0``: inputs of ``+-1e4`` give no NaN or Inf.

    With a mask (``mask[i]`` true or ``> 0.5`` keeps ``z_i``), the masked
    positions get probability exactly 0 and the others are normalised among
    themselves; a slice with every position masked gives all zeros (not NaN).

    Args:
        axis: an integer or a tuple of integers: the axes normalised together.
            Defaults to `-1`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the logits ``z``.
        mask: optional boolean (or 0/1) tensor broadcastable to `inputs`
            without adding dimensions (each dimension 1 or the input's, as
            Keras requires); another shape is a `ValueError`.

    Example:

    >>> softmax = kt.layers.Softmax()
    >>> np.round(keras.ops.convert_to_numpy(softmax(np.array([[1.0, 2.0, 1.0]]))), 4)
    array([[0.2119, 0.5761, 0.2119]], dtype=float32)
    >>> keras.ops.convert_to_numpy(softmax(np.array([[1e4, -1e4, 0.0]])))  # no NaN
    array([[1., 0., 0.]], dtype=float32)
    >>> masked = softmax(np.array([[1.0, 2.0, 3.0]]), mask=np.array([[True, True, False]]))
    >>> np.round(keras.ops.convert_to_numpy(masked), 4)
    array([[0.2689, 0.7311, 0.    ]], dtype=float32)

    Note:
        Keras's ``keras.layers.Softmax`` replaces masked logits by ``-1e9``, so
        a fully masked slice gets a uniform distribution before being zeroed;
        here it is zero throughout, and unmasked positions never see ``-1e9``.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = normalize_axis(axis)
        self.supports_masking = True
        build_if_stateless(self)

    @staticmethod
    def _check_mask(inputs, mask):
        """Keras's rule: the mask broadcasts to `inputs` without adding dimensions."""
        if len(mask.shape) > len(inputs.shape):
            raise ValueError(
                "The `mask` must be broadcastable to `inputs` and must not have more "
                f"dimensions. Received: inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}"
            )
        for mask_dim, input_dim in zip(mask.shape[::-1], inputs.shape[::-1]):
            if mask_dim is not None and input_dim is not None and mask_dim not in (1, input_dim):
                raise ValueError(
                    "The `mask` must be broadcastable to `inputs`: each mask dimension must "
                    "be 1 or match the input's. "
                    f"Received: inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}"
                )

    def call(self, inputs, mask=None):
        axes = resolve_axes(self.axis, len(inputs.shape))
        if mask is None:
            if len(axes) == 1:
                # TensorFlow's fused kernel subtracts the maximum itself.
                return tf.nn.softmax(inputs, axis=axes[0])
            shifted = inputs - tf.stop_gradient(tf.reduce_max(inputs, axis=axes, keepdims=True))
            exps = tf.exp(shifted)
            return exps / tf.reduce_sum(exps, axis=axes, keepdims=True)
        mask = tf.convert_to_tensor(mask)
        self._check_mask(inputs, mask)
        keep = mask if mask.dtype == tf.bool else mask > tf.cast(0.5, mask.dtype)
        keep = tf.broadcast_to(keep, tf.shape(inputs))
        lowest = tf.constant(inputs.dtype.min, inputs.dtype)
        # The maximum over the kept entries only: a masked huge logit must not
        # push the kept exponents to underflow. Any constant shift is exact, so
        # no gradient flows through it.
        peak = tf.reduce_max(tf.where(keep, inputs, lowest), axis=axes, keepdims=True)
        peak = tf.stop_gradient(tf.where(peak == lowest, tf.zeros_like(peak), peak))
        zeros = tf.zeros_like(inputs)
        exps = tf.where(keep, tf.exp(tf.where(keep, inputs - peak, zeros)), zeros)
        total = tf.reduce_sum(exps, axis=axes, keepdims=True)
        # All-masked slices: 0 / 1 instead of 0 / 0.
        safe_total = tf.where(total > 0, total, tf.ones_like(total))
        return exps / safe_total

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), **axis_config(self.axis)}

    @classmethod
    def from_config(cls, config):
        return cls(**axis_from_config(config))
