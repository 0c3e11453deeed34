"""Inverted dropout, with the course's `keep_prob` or Keras's `rate`."""

import numbers

import keras
import tensorflow as tf

from kerastools._registry import register
from kerastools._validation import check_number, check_seed
from kerastools.layers._stateless import build_if_stateless


def _normalize_noise_shape(noise_shape):
    """`None` or a tuple of positive integers and `None`s; any bad value is a
    `ValueError`, as in Keras (whose tests pin the exception type)."""
    if noise_shape is None:
        return None
    prefix = "Invalid value received for argument `noise_shape`."
    if isinstance(noise_shape, str):
        raise ValueError(
            f"{prefix} Expected a tuple or list of integers. Received: noise_shape={noise_shape!r}"
        )
    try:
        dims = tuple(noise_shape)
    except TypeError:
        raise ValueError(
            f"{prefix} Expected an iterable of integers (e.g., a tuple or list). "
            f"Received: noise_shape={noise_shape!r}"
        ) from None
    for dim in dims:
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise ValueError(
                f"{prefix} Expected all elements to be integers or None. "
                f"Received: noise_shape={noise_shape!r}"
            )
        if dim <= 0:
            raise ValueError(
                f"{prefix} Expected all dimensions to be positive integers or None. "
                f"Received: noise_shape={noise_shape!r}"
            )
    return tuple(None if dim is None else int(dim) for dim in dims)


@register
class Dropout(keras.layers.Layer):
    """Inverted dropout: ``A <- A * D / keep_prob`` with ``D ~ Bernoulli(keep_prob)``.

    In training (``training=True``) each entry of the mask ``D`` is 1 with
    probability ``keep_prob = 1 - rate`` (the course's
    ``D = np.random.rand(*A.shape) < keep_prob``) and the kept activations are
    divided by ``keep_prob`` so that ``E[output] = input``. In inference the layer
    is the identity. The backward pass uses the same mask:
    ``dA_in = dA_out * D / keep_prob``.

    Args:
        rate: the fraction dropped, in ``[0, 1)`` (Keras's argument). Pass
            exactly one of `rate` and `keep_prob`. Defaults to `None`.
        keep_prob: the fraction kept, in ``(0, 1]`` (the course's argument;
            ``keep_prob=1`` switches dropout off, as the course suggests while
            checking that the cost decreases). Defaults to `None`.
        noise_shape: shape of the mask, broadcast against the input; `None`
            entries take the input's size. E.g. ``(None, 1, 1, None)`` drops whole
            feature maps of an NHWC input. Defaults to `None` (the input's shape).
        seed: `None` or a non-negative integer; with an integer the sequence of
            masks is reproducible. Defaults to `None`.

    Raises:
        ValueError: `rate` outside ``[0, 1)``, `keep_prob` outside ``(0, 1]``,
            both or neither given, or a bad `noise_shape` (not an iterable of
            positive integers and `None`: a `ValueError` whatever is wrong, as
            in Keras).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:

    >>> layer = kt.layers.Dropout(keep_prob=0.8, seed=0)
    >>> y = layer(np.ones((2, 5)), training=True)
    >>> print(sorted(set(y.numpy().ravel().tolist())))   # dropped, or kept and divided by 0.8
    [0.0, 1.25]

    Note:
        The mask is drawn in float32 whatever the compute dtype (a float16
        ``keep_prob`` would be rounded), from a `keras.random.SeedGenerator`
        whose state is a layer variable: the layer is stateless-callable and
        XLA-compilable. Under a `tf.distribute` strategy each replica folds its
        replica id into the seed, so replicas draw **different** masks (the
        Keras built-in draws the same mask on every replica). The book's
        ``Dropout`` (section 6.4.3) is non-inverted (multiply by
        ``1 - dropout_ratio`` at test time); the course's inverted dropout is
        what is implemented, as in Keras. The layer has no weights and is built
        at construction (``layer.built`` is `True` after ``__init__``), as
        Keras's is.

    References:
        Srivastava et al., 2014, https://jmlr.org/papers/v15/srivastava14a.html
    """

    def __init__(self, rate=None, keep_prob=None, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (rate is None) == (keep_prob is None):
            raise ValueError(
                "Pass exactly one of `rate` and `keep_prob`. "
                f"Received: rate={rate!r}, keep_prob={keep_prob!r}"
            )
        if rate is not None:
            rate = check_number("rate", rate)  # a TypeError for a non-number
            if not 0.0 <= rate < 1.0:
                # Keras's wording (its tests pin it); rate = 1 would divide by 0.
                raise ValueError(
                    "Invalid value received for argument `rate`. Expected a float value "
                    f"between 0 and 1 (0 <= rate < 1). Received: rate={rate!r}"
                )
        else:
            keep_prob = check_number("keep_prob", keep_prob, low=0.0, high=1.0, low_inclusive=False)
        self._rate_arg = rate
        self._keep_prob_arg = keep_prob
        self.noise_shape = _normalize_noise_shape(noise_shape)
        self.seed = check_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        build_if_stateless(self)

    @property
    def keep_prob(self):
        """The probability ``1 - rate`` of keeping a unit."""
        return self._keep_prob_arg if self._keep_prob_arg is not None else 1.0 - self._rate_arg

    @property
    def rate(self):
        """The probability ``1 - keep_prob`` of dropping a unit."""
        return self._rate_arg if self._rate_arg is not None else 1.0 - self._keep_prob_arg

    def _mask_shape(self, inputs):
        shape = tf.shape(inputs)
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(inputs.shape):
            raise ValueError(
                f"Argument `noise_shape` must have one entry per input dimension "
                f"({len(inputs.shape)}). Received: noise_shape={self.noise_shape!r}"
            )
        return tf.stack([shape[i] if d is None else d for i, d in enumerate(self.noise_shape)])

    def call(self, inputs, training=False):
        if not training or self.keep_prob == 1.0:
            return inputs
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(context.replica_id_in_sync_group, tf.int32)
            )
        uniform = tf.random.stateless_uniform(self._mask_shape(inputs), seed=seed, dtype=tf.float32)
        # D / keep_prob on the (possibly smaller, broadcast) mask, then one product.
        scaled_mask = tf.cast(uniform < self.keep_prob, inputs.dtype) * tf.cast(
            1.0 / self.keep_prob, inputs.dtype
        )
        return inputs * scaled_mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self._rate_arg,
            "keep_prob": self._keep_prob_arg,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }
