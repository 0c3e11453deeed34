"""2-D convolution with padding P and stride S: TensorFlow's kernels or the book's im2col."""

import keras
import tensorflow as tf

from kerastools import initializers
from kerastools._registry import register
from kerastools._validation import check_bool, check_choice, check_int
from kerastools.layers import _spatial
from kerastools.layers._im2col import conv2d_im2col

_IMPLEMENTATIONS = ("native", "im2col")


@register
class Conv2D(keras.layers.Layer):
    """2-D convolution ``y = activation(conv(x, K) + b)`` with `filters` kernels.

    Every output position takes the dot product of a ``FH x FW x C`` window of
    the (zero-padded) input with each kernel. For an ``H x W`` input padded by
    ``P``, with stride ``S``, the output is ``OH x OW`` with

        OH = floor((H + 2 * P - FH) / S) + 1,   OW = floor((W + 2 * P - FW) / S) + 1

    (the book's formula, section 7.2.4; with dilation ``D`` replace ``FH`` by ``D * (FH - 1) + 1``).

    Args:
        filters: the number of kernels ``F`` (output channels), >= 1.
        kernel_size: ``FH`` and ``FW``: an integer or a pair.
        strides: ``S``: an integer or a pair, >= 1. Defaults to `1`.
        padding: ``"valid"`` (``P = 0``), ``"same"`` (``OH = ceil(H / S)``, the
            odd pixel of padding at the bottom/right as in TensorFlow), or explicit
            zero padding: an integer ``P``, a pair ``(P_h, P_w)`` or
            ``((top, bottom), (left, right))``. Defaults to `"valid"`.
        data_format: ``"channels_last"`` (NHWC) or ``"channels_first"`` (NCHW, the
            book's layout; transposed to NHWC internally, since TensorFlow's CPU
            kernels are NHWC-only). Defaults to `None`: Keras's `image_data_format()`.
        dilation_rate: an integer or a pair, >= 1. Defaults to `1`.
        activation: an activation name or function. Defaults to `None`.
        use_bias: add a bias ``b`` per filter. Defaults to `True`.
        kernel_initializer: Defaults to `kerastools.initializers.GlorotUniform()`,
            Keras's default; the course's choice for ReLU networks is
            `kerastools.initializers.HeNormal()`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: optional regularizer of the kernel. Defaults to `None`.
        bias_regularizer: optional regularizer of the bias. Defaults to `None`.
        activity_regularizer: optional regularizer of the output. Defaults to `None`.
        kernel_constraint: optional constraint on the kernel. Defaults to `None`.
        bias_constraint: optional constraint on the bias. Defaults to `None`.
        implementation: ``"native"`` (TensorFlow's convolution kernels) or
            ``"im2col"`` (the book's im2col + matrix product, with the
            hand-written col2im backward pass; needs a static input height and
            width). Defaults to `"native"`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> conv = kt.layers.Conv2D(8, 3, padding=1, activation="relu",
    ...                         kernel_initializer=kt.initializers.HeNormal(seed=0))
    >>> tuple(conv(np.zeros((2, 8, 8, 1))).shape)  # OH = (8 + 2*1 - 3) / 1 + 1
    (2, 8, 8, 8)
    >>> im2col = kt.layers.Conv2D(4, (3, 3), strides=2, implementation="im2col")
    >>> tuple(im2col(np.zeros((1, 7, 7, 3))).shape)  # OH = floor((7 - 3) / 2) + 1
    (1, 3, 3, 4)

    Note:
        Kernels are ``(FH, FW, C, F)`` as in Keras (the book writes
        ``(FN, C, FH, FW)``), so weights move between this layer and
        ``keras.layers.Conv2D`` unchanged. Grouped convolutions and LoRA are
        not offered. Keras forbids ``strides > 1`` together with
        ``dilation_rate > 1``, and so does this layer.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        implementation="native",
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = check_int("filters", filters, low=1)
        self.kernel_size = _spatial.normalize_pair("kernel_size", kernel_size)
        self.strides = _spatial.normalize_pair("strides", strides)
        self.padding = _spatial.normalize_padding(padding)
        self.data_format = _spatial.normalize_data_format(data_format)
        self.dilation_rate = _spatial.normalize_pair("dilation_rate", dilation_rate)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "Arguments `strides` > 1 and `dilation_rate` > 1 cannot be combined. "
                f"Received: strides={strides!r}, dilation_rate={dilation_rate!r}"
            )
        self.activation = keras.activations.get(activation)
        self.use_bias = check_bool("use_bias", use_bias)
        if kernel_initializer is None:
            kernel_initializer = initializers.GlorotUniform()
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.implementation = check_choice("implementation", implementation, _IMPLEMENTATIONS)

    def build(self, input_shape):
        _spatial.check_input(
            self, input_shape, "kernel_size", self.kernel_size, self.padding, self.dilation_rate
        )
        channel_axis = -1 if self.data_format == "channels_last" else 1
        channels = input_shape[channel_axis]
        if channels is None:
            raise ValueError(
                f"`{self.name}` needs a known number of input channels. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        if self.implementation == "im2col" and None in _spatial.spatial_dims(input_shape, self.data_format):
            raise ValueError(
                "implementation='im2col' needs a known input height and width. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={channel_axis: channels})

    def _convolve(self, x, kernel):
        if self.implementation == "im2col":
            pads = _spatial.explicit_pads(self.padding, x, self.kernel_size, self.strides, self.dilation_rate)
            return conv2d_im2col(x, kernel, self.strides, self.dilation_rate, pads)
        mode, pads = _spatial.tf_padding(self.padding, x, self.kernel_size, self.strides, self.dilation_rate)
        if pads is not None:
            x = _spatial.pad(x, pads)
        if max(self.dilation_rate) == 1:
            return tf.nn.conv2d(x, kernel, self.strides, mode)
        # TensorFlow's CPU Conv2D kernels have no dilated backward pass;
        # `tf.nn.convolution` rewrites dilation as space-to-batch (as Keras does).
        return tf.nn.convolution(x, kernel, self.strides, mode, dilations=self.dilation_rate)

    def call(self, inputs):
        x = _spatial.to_channels_last(inputs, self.data_format)
        y = self._convolve(x, tf.cast(self.kernel, self.compute_dtype))
        if self.use_bias:
            y = tf.nn.bias_add(y, tf.cast(self.bias, self.compute_dtype))
        y = _spatial.from_channels_last(y, self.data_format)
        return y if self.activation is None else self.activation(y)

    def compute_output_shape(self, input_shape):
        return _spatial.output_shape(
            input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.data_format, self.dilation_rate,
        )

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize(self.kernel_initializer),
            "bias_initializer": serialize(self.bias_initializer),
            "kernel_regularizer": serialize(self.kernel_regularizer),
            "bias_regularizer": serialize(self.bias_regularizer),
            "activity_regularizer": serialize(self.activity_regularizer),
            "kernel_constraint": serialize(self.kernel_constraint),
            "bias_constraint": serialize(self.bias_constraint),
            "implementation": self.implementation,
        }
