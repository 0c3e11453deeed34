"""Batch normalisation with a hand-derived backward pass."""

import keras
import tensorflow as tf

from kerastools._registry import register
from kerastools._validation import check_bool, check_number
from kerastools.layers._axes import axis_config, axis_from_config, normalize_axis, resolve_axes
from kerastools.layers._batch_norm_ops import batch_norm_train


@register
class BatchNormalization(keras.layers.Layer):
    """Batch normalisation (Ioffe & Szegedy 2015) with a hand-written backward pass.

    In training (``training=True``), over the mini-batch entries sharing a
    feature (every axis except `axis`)::

        mu_B = mean(x)
        sigma2_B = mean((x - mu_B) ** 2)
        x_hat = (x - mu_B) / sqrt(sigma2_B + epsilon)
        y = gamma * x_hat + beta

    and the moving statistics (the course's exponentially weighted averages)
    ``moving_mean <- momentum * moving_mean + (1 - momentum) * mu_B`` and
    ``moving_variance <- momentum * moving_variance + (1 - momentum) * sigma2_B``.
    In inference ``mu_B`` and ``sigma2_B`` are replaced by the moving statistics.

    The training-mode gradient is derived by hand (the backward pass the book
    points to in section 6.3), not automatic
    differentiation: with sums over the ``N`` normalised entries,
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * x_hat)`` and
    ``dx = (gamma / (N * sqrt(sigma2_B + epsilon))) * (N * dy - sum(dy) - x_hat * sum(dy * x_hat))``.

    Args:
        axis: the feature axis (or a tuple of axes) kept; statistics are taken
            over all the others. ``-1`` after a channels-last `Conv2D` normalises
            per channel; ``(1, 2, 3)`` on a 4-D input normalises every
            activation separately, as the book's NumPy layer does.
            Defaults to `-1`.
        momentum: of the moving averages, in ``[0, 1]``. Defaults to `0.99`.
        epsilon: added to the variance, > 0. Defaults to `0.001`.
        center: learn the offset ``beta``. Defaults to `True`.
        scale: learn the scale ``gamma``. Defaults to `True`.
        beta_initializer: initializer of ``beta``. Defaults to `"zeros"`.
        gamma_initializer: initializer of ``gamma``. Defaults to `"ones"`.
        moving_mean_initializer: initializer of the moving mean. Defaults to `"zeros"`.
        moving_variance_initializer: initializer of the moving variance.
            Defaults to `"ones"`.
        beta_regularizer: optional regularizer of ``beta``. Defaults to `None`.
        gamma_regularizer: optional regularizer of ``gamma``. Defaults to `None`.
        beta_constraint: optional constraint on ``beta``. Defaults to `None`.
        gamma_constraint: optional constraint on ``gamma``. Defaults to `None`.
        synchronized: under a `tf.distribute` strategy, normalise with the
            statistics of the **global** batch (all replicas; the hand-written
            backward pass all-reduces its sums too). With `False` each replica
            normalises with its own slice of the batch. Defaults to `False`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> bn = kt.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(32, 10))
    >>> y = keras.ops.convert_to_numpy(bn(x, training=True))  # batch statistics
    >>> bool(np.allclose(y.mean(axis=0), 0.0, atol=1e-5)), bool(np.allclose(y.std(axis=0), 1.0, atol=1e-3))
    (True, True)
    >>> moving_mean = keras.ops.convert_to_numpy(bn.moving_mean)  # 0.9 * 0 + 0.1 * batch mean
    >>> bool(np.allclose(moving_mean, 0.1 * x.mean(axis=0), atol=1e-6))
    True
    >>> y = bn(x[:4])  # inference: the moving statistics

    Note:
        Same arguments, defaults, variables and results as
        ``keras.layers.BatchNormalization`` (Keras's `renorm` and masks are not
        offered). Statistics are computed in float32 (or float64) even when
        the layer computes in float16 (mixed precision), as in Keras. The
        moving statistics are mean-aggregated across replicas, so replicas
        hold the same moving statistics (with ``synchronized=False`` the moving
        mean is the mean of the replicas' means and the moving variance the
        mean of their variances). The book's NumPy layer uses
        ``momentum=0.9`` and ``epsilon=1e-6``; Keras's defaults are kept here.
        A layer with ``trainable=False`` runs in inference mode, as in Keras.

    References:
        Ioffe & Szegedy, 2015, https://arxiv.org/abs/1502.03167
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = normalize_axis(axis)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        self.center = check_bool("center", center)
        self.scale = check_bool("scale", scale)
        self.synchronized = check_bool("synchronized", synchronized)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_mean_initializer = keras.initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = keras.initializers.get(moving_variance_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        rank = len(input_shape)
        self._feature_axes = resolve_axes(self.axis, rank)
        self._reduction_axes = [a for a in range(rank) if a not in self._feature_axes]
        if any(input_shape[a] is None for a in self._feature_axes):
            raise ValueError(
                f"The feature axes {self._feature_axes} of the input must have a known size. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        param_shape = tuple(input_shape[a] for a in self._feature_axes)
        self._broadcast_shape = [input_shape[a] if a in self._feature_axes else 1 for a in range(rank)]

        def weight(name, initializer, trainable, regularizer=None, constraint=None):
            return self.add_weight(
                shape=param_shape,
                name=name,
                initializer=initializer,
                regularizer=regularizer,
                constraint=constraint,
                trainable=trainable,
                autocast=False,  # statistics stay float32 under mixed precision
                # Replicas write their own batch statistics; averaging the
                # writes keeps one consistent moving statistic on every replica.
                aggregation="none" if trainable else "mean",
            )

        if self.scale:
            self.gamma = weight("gamma", self.gamma_initializer, True, self.gamma_regularizer, self.gamma_constraint)
        if self.center:
            self.beta = weight("beta", self.beta_initializer, True, self.beta_regularizer, self.beta_constraint)
        self.moving_mean = weight("moving_mean", self.moving_mean_initializer, False)
        self.moving_variance = weight("moving_variance", self.moving_variance_initializer, False)
        self.input_spec = keras.layers.InputSpec(
            ndim=rank, axes={a: input_shape[a] for a in self._feature_axes}
        )

    def _broadcast(self, variable, dtype):
        return None if variable is None else tf.reshape(tf.cast(variable, dtype), self._broadcast_shape)

    def call(self, inputs, training=None):
        # Statistics in at least float32: float16 squares overflow at 256.
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = tf.cast(inputs, dtype)
        gamma = self._broadcast(self.gamma, dtype)
        beta = self._broadcast(self.beta, dtype)
        if training and self.trainable:
            y, mean, variance = batch_norm_train(
                x, gamma, beta, self._reduction_axes, self.epsilon, self.synchronized
            )
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                batch = tf.reshape(tf.cast(batch, moving.dtype), moving.shape)
                moving.assign(moving * self.momentum + batch * (1.0 - self.momentum))
        else:
            inv = tf.math.rsqrt(self._broadcast(self.moving_variance, dtype) + self.epsilon)
            scale = inv * gamma if gamma is not None else inv
            shift = -self._broadcast(self.moving_mean, dtype) * scale
            if beta is not None:
                shift = shift + beta
            y = x * scale + shift
        return tf.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            **axis_config(self.axis),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize(self.beta_initializer),
            "gamma_initializer": serialize(self.gamma_initializer),
            "moving_mean_initializer": serialize(self.moving_mean_initializer),
            "moving_variance_initializer": serialize(self.moving_variance_initializer),
            "beta_regularizer": serialize(self.beta_regularizer),
            "gamma_regularizer": serialize(self.gamma_regularizer),
            "beta_constraint": serialize(self.beta_constraint),
            "gamma_constraint": serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**axis_from_config(config))
