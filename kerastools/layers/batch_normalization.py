"""Batch normalisation (with masks and batch renormalisation), hand-derived backward pass."""

import keras
import tensorflow as tf

from kerastools._registry import register
from kerastools._validation import check_bool, check_number
from kerastools.layers._axes import axis_config, axis_from_config, normalize_axis, resolve_axes
from kerastools.layers._batch_norm_ops import batch_norm_train
from kerastools.layers._renorm import check_renorm_clipping, clone_initializer, sqrt_initializer


@register
class BatchNormalization(keras.layers.Layer):
    """Batch normalisation (Ioffe & Szegedy 2015) with a hand-written backward pass.

    In training (``training=True``), over the ``N`` mini-batch entries sharing a
    feature (every axis except `axis`)::

        mu_B = sum(x) / N
        sigma2_B = sum((x - mu_B) ** 2) / N
        x_hat = (x - mu_B) / sqrt(sigma2_B + epsilon)
        y = gamma * x_hat + beta

    and the moving statistics (the course's exponentially weighted averages)
    ``moving_mean <- momentum * moving_mean + (1 - momentum) * mu_B`` and
    ``moving_variance <- momentum * moving_variance + (1 - momentum) * sigma2_B``.
    In inference ``mu_B`` and ``sigma2_B`` are replaced by the moving statistics.

    **Masks.** With a mask ``m`` (e.g. from ``Embedding(mask_zero=True)`` or
    ``Masking``; one dimension less than the input, broadcast over the last
    axis; non-zero keeps a position), the statistics use the kept entries only:
    ``N = sum(m)``, ``mu_B = sum(m * x) / N``,
    ``sigma2_B = sum(m * (x - mu_B) ** 2) / N``. Every entry is normalised with
    them, and the mask is passed on to the next layer. A feature with no kept
    entry gets ``mu_B = sigma2_B = 0``. In inference the mask changes nothing.

    **Batch renormalisation** (``renorm=True``, Ioffe 2017) corrects the batch
    statistics towards moving ones, ``mu`` (``renorm_mean``) and ``sigma``
    (``renorm_stddev``), so that training sees the transform inference will use::

        sigma_B = sqrt(sigma2_B + epsilon)
        r = clip(sigma_B / sigma, rmin, rmax)
        d = clip((mu_B - mu) / sigma, -dmax, dmax)
        y = gamma * (r * x_hat + d) + beta

    with ``r`` and ``d`` treated as constants in the backward pass, then
    ``mu <- renorm_momentum * mu + (1 - renorm_momentum) * mu_B`` and
    ``sigma <- renorm_momentum * sigma + (1 - renorm_momentum) * sigma_B``. For
    inference the layer tracks ``moving_stddev`` (averaged with `momentum` like
    ``sigma``) and sets ``moving_variance = max(moving_stddev ** 2 - epsilon, 0)``;
    inference is the same formula with or without renorm. ``sigma`` is floored
    at ``sqrt(epsilon)`` when dividing.

    The training-mode gradient is derived by hand (the backward pass the book
    points to in section 6.3), not automatic differentiation: with sums over all
    ``N`` normalised entries (and ``G = r * gamma``, ``m = 1`` without mask,
    ``r = 1, d = 0`` without renorm), ``dbeta = sum(dy)``,
    ``dgamma = r * sum(dy * x_hat) + d * sum(dy)`` and
    ``dx = G * inv * dy - m * (G * inv / N) * (sum(dy) + x_hat * sum(dy * x_hat))``
    where ``inv = 1 / sqrt(sigma2_B + epsilon)``.

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
        renorm: use batch renormalisation in training. Defaults to `False`.
        renorm_clipping: a dict with optional keys ``"rmax"``, ``"rmin"``
            (``0 <= rmin <= rmax``) and ``"dmax"`` (``>= 0``); a missing key
            leaves that bound open (``rmax = inf``, ``rmin = 0``, ``dmax = inf``).
            Defaults to `None` (no clipping).
        renorm_momentum: of ``renorm_mean`` and ``renorm_stddev``, in
            ``[0, 1]``. Defaults to `0.99`.
        synchronized: under a `tf.distribute` strategy, normalise with the
            statistics of the **global** batch (all replicas; masked and
            renormalised statistics too; the hand-written backward pass
            all-reduces its sums). With `False` each replica normalises with
            its own slice of the batch. Defaults to `False`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the input tensor.
        training: normalise with the batch statistics (and update the moving
            ones). Defaults to `None` (inference, unless inside `fit`).
        mask: optional, one dimension less than `inputs`; see above.

    Example:

    >>> bn = kt.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> y = bn(np.random.rand(32, 10), training=True)   # batch statistics
    >>> y = bn(np.random.rand(4, 10))                   # moving statistics
    >>> x = np.array([[1.0, 2.0, 3.0, 0.0]]).reshape(1, 4, 1)
    >>> mask = np.array([[True, True, True, False]])    # the 0 is padding
    >>> masked = kt.layers.BatchNormalization(momentum=0.0)
    >>> _ = masked(x, mask=mask, training=True)
    >>> print(masked.moving_mean.numpy(), masked.moving_variance.numpy().round(4))
    [2.] [0.6667]

    Note:
        Same arguments, defaults, variables (and their order), config keys and
        results as ``keras.layers.BatchNormalization``, so a Keras config or
        saved model loads into this class. Statistics are computed in float32
        (or float64) even when the layer computes in float16 (mixed
        precision), as in Keras. The moving statistics are mean-aggregated
        across replicas, so replicas hold the same moving statistics (with
        ``synchronized=False`` the moving mean is the mean of the replicas'
        means and the moving variance the mean of their variances); Keras
        ignores `synchronized` when a mask is given, this layer does not. The
        book's NumPy layer uses ``momentum=0.9`` and ``epsilon=1e-6``;
        Keras's defaults are kept here. A layer with ``trainable=False`` runs
        in inference mode, as in Keras.

    References:
        Ioffe & Szegedy, 2015, https://arxiv.org/abs/1502.03167;
        Ioffe, 2017, https://arxiv.org/abs/1702.03275
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
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
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
        self.renorm = check_bool("renorm", renorm)
        clipping = check_renorm_clipping(renorm_clipping)
        # Keras keeps `None` without renorm and `{}` (no clipping) with it.
        self.renorm_clipping = clipping if renorm or renorm_clipping is not None else None
        self.renorm_momentum = check_number("renorm_momentum", renorm_momentum, low=0.0, high=1.0)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_mean_initializer = keras.initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = keras.initializers.get(moving_variance_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self.moving_stddev = self.renorm_mean = self.renorm_stddev = None

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

        # Keras's order, so that weights saved from a Keras layer load here.
        if self.scale:
            self.gamma = weight("gamma", self.gamma_initializer, True, self.gamma_regularizer, self.gamma_constraint)
        if self.center:
            self.beta = weight("beta", self.beta_initializer, True, self.beta_regularizer, self.beta_constraint)
        self.moving_mean = weight("moving_mean", self.moving_mean_initializer, False)
        self.moving_variance = weight("moving_variance", self.moving_variance_initializer, False)
        if self.renorm:
            stddev_initializer = sqrt_initializer(self.moving_variance_initializer)
            self.moving_stddev = weight("moving_stddev", stddev_initializer, False)
            self.renorm_mean = weight("renorm_mean", clone_initializer(self.moving_mean_initializer), False)
            self.renorm_stddev = weight("renorm_stddev", stddev_initializer, False)
        self.input_spec = keras.layers.InputSpec(
            ndim=rank, axes={a: input_shape[a] for a in self._feature_axes}
        )

    def _broadcast(self, variable, dtype):
        return None if variable is None else tf.reshape(tf.cast(variable, dtype), self._broadcast_shape)

    def _check_mask(self, inputs, mask):
        if mask is not None and len(mask.shape) != len(inputs.shape) - 1:
            raise ValueError(
                "The mask provided should be one dimension less than the inputs. "
                f"Received: mask.shape={tuple(mask.shape)}, inputs.shape={tuple(inputs.shape)}"
            )

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            mask = tf.convert_to_tensor(mask)
            self._check_mask(inputs, mask)
            mask = tf.expand_dims(mask, -1)  # Keras's convention: broadcast over the last axis
        # Statistics in at least float32: float16 squares overflow at 256.
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = tf.cast(inputs, dtype)
        gamma = self._broadcast(self.gamma, dtype)
        beta = self._broadcast(self.beta, dtype)
        if training and self.trainable:
            renorm = None
            if self.renorm:
                renorm_mean = self._broadcast(self.renorm_mean, dtype)
                renorm_stddev = self._broadcast(self.renorm_stddev, dtype)
                renorm = (renorm_mean, renorm_stddev, self.renorm_clipping)
            y, mean, variance = batch_norm_train(
                x, gamma, beta, self._reduction_axes, self.epsilon, self.synchronized, mask, renorm
            )
            self._update_moving_statistics(mean, variance)
        else:
            inv = tf.math.rsqrt(self._broadcast(self.moving_variance, dtype) + self.epsilon)
            scale = inv * gamma if gamma is not None else inv
            shift = -self._broadcast(self.moving_mean, dtype) * scale
            if beta is not None:
                shift = shift + beta
            y = x * scale + shift
        return tf.cast(y, self.compute_dtype)

    def _update_moving_statistics(self, mean, variance):
        def ewma(moving, batch, momentum):
            batch = tf.reshape(tf.cast(batch, moving.dtype), moving.shape)
            moving.assign(moving * momentum + batch * (1.0 - momentum))

        ewma(self.moving_mean, mean, self.momentum)
        if not self.renorm:
            ewma(self.moving_variance, variance, self.momentum)
            return
        stddev = tf.sqrt(variance + self.epsilon)
        ewma(self.renorm_mean, mean, self.renorm_momentum)
        ewma(self.renorm_stddev, stddev, self.renorm_momentum)
        ewma(self.moving_stddev, stddev, self.momentum)
        # Rounding can push sigma**2 - epsilon below 0 when sigma2_B is ~0.
        self.moving_variance.assign(tf.nn.relu(tf.square(self.moving_stddev) - self.epsilon))

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
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**axis_from_config(config))
