"""Max and average pooling over 2-D windows, per channel, with padding and stride."""

import keras
import tensorflow as tf

from kerastools._registry import register
from kerastools.layers import _spatial
from kerastools.layers._stateless import build_if_stateless


class _Pooling2D(keras.layers.Layer):
    """Shared argument handling; subclasses define `_pool(x_nhwc)`.

    No weights: built at construction, as Keras's pooling layers are; the
    input's rank and the window's fit are checked when the layer is used.
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _spatial.normalize_pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _spatial.normalize_pair("strides", strides)
        self.padding = _spatial.normalize_padding(padding)
        if isinstance(self.padding, tuple):
            # A window made only of padding would have no input to pool.
            for (before, after), size in zip(self.padding, self.pool_size):
                if max(before, after) > size // 2:
                    raise ValueError(
                        "Explicit `padding` must be at most half of `pool_size` on each side. "
                        f"Received: padding={padding!r}, pool_size={self.pool_size}"
                    )
        self.data_format = _spatial.normalize_data_format(data_format)
        self.input_spec = keras.layers.InputSpec(ndim=4)
        build_if_stateless(self)

    def _check_input(self, input_shape):
        _spatial.check_input(self, input_shape, "pool_size", self.pool_size, self.padding)

    def call(self, inputs):
        self._check_input(inputs.shape)  # static shapes: checked once, when traced
        x = _spatial.to_channels_last(inputs, self.data_format)
        return _spatial.from_channels_last(self._pool(x), self.data_format)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        return _spatial.output_shape(
            input_shape, channels, self.pool_size, self.strides, self.padding, self.data_format
        )

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
        }


@register
class MaxPooling2D(_Pooling2D):
    """Max pooling: each output is the largest input of its ``FH x FW`` window, per channel.

    Output size ``OH = floor((H + P_top + P_bottom - FH) / S) + 1`` as for
    `Conv2D`. The gradient flows only to the maximum of each window (to one
    of the tied positions when several inputs share the maximum, as in TensorFlow).

    Args:
        pool_size: ``(FH, FW)``: an integer or a pair, >= 1. Defaults to `(2, 2)`.
        strides: an integer or a pair, >= 1. Defaults to `None`: `pool_size`
            (non-overlapping windows, the book's "stride 2 for 2x2 pooling").
        padding: ``"valid"``, ``"same"`` or explicit padding (an integer, a pair
            or ``((top, bottom), (left, right))``, each at most half the window).
            Padded positions never win the maximum (padding with ``-inf``, as
            ``"same"`` does in TensorFlow). Defaults to `"valid"`.
        data_format: ``"channels_last"`` or ``"channels_first"``. Defaults to
            `None`: Keras's `image_data_format()`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> keras.ops.convert_to_numpy(kt.layers.MaxPooling2D(2)(x))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)

    Note:
        The book's im2col pooling pads with zeros, so a window of negative
        inputs touching the padding returns 0; here (and in Keras) padding is
        never selected.
    """

    def _pool(self, x):
        mode, pads = _spatial.tf_padding(self.padding, x, self.pool_size, self.strides)
        if pads is not None:
            x = _spatial.pad(x, pads, float("-inf"))
        return tf.nn.max_pool2d(x, self.pool_size, self.strides, mode)


@register
class AveragePooling2D(_Pooling2D):
    """Average pooling: each output is the mean of its ``FH x FW`` window, per channel.

    Windows that overlap the padding average over their **input** positions
    only (padding is not counted), for ``"same"`` and explicit padding alike.

    Args:
        pool_size: ``(FH, FW)``: an integer or a pair, >= 1. Defaults to `(2, 2)`.
        strides: an integer or a pair, >= 1. Defaults to `None`: `pool_size`.
        padding: ``"valid"``, ``"same"`` or explicit padding (an integer, a pair
            or ``((top, bottom), (left, right))``, each at most half the window).
            Defaults to `"valid"`.
        data_format: ``"channels_last"`` or ``"channels_first"``. Defaults to
            `None`: Keras's `image_data_format()`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> keras.ops.convert_to_numpy(kt.layers.AveragePooling2D(2)(x))[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)

    Note:
        Keras's and TensorFlow's ``"same"`` average pooling also excludes the
        padding; PyTorch's ``AvgPool2d`` counts it by default
        (``count_include_pad=True``).
    """

    def _pool(self, x):
        mode, pads = _spatial.tf_padding(self.padding, x, self.pool_size, self.strides)
        if pads is None:
            return tf.nn.avg_pool2d(x, self.pool_size, self.strides, mode)
        sums = tf.nn.avg_pool2d(_spatial.pad(x, pads), self.pool_size, self.strides, "VALID")
        # Fraction of each window that is input rather than padding.
        ones = tf.ones(tf.concat([[1], tf.shape(x)[1:3], [1]], axis=0), x.dtype)
        coverage = tf.nn.avg_pool2d(_spatial.pad(ones, pads), self.pool_size, self.strides, "VALID")
        return sums / coverage
