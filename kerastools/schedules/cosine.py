"""Cosine decay and its linear and noisy-linear variants (the course's 余弦衰减)."""

import math
import random

import tensorflow as tf
from keras import ops

from kerastools._registry import register
from kerastools._validation import check_int, check_number
from kerastools.schedules._base import Schedule, check_finite, check_rate, check_steps, interpolate

_PHILOX = 1  # TensorFlow's RNG_ALG_PHILOX


def _keyed_normal(key, count):
    """A N(0, 1) float64 draw determined by the uint64 `key` and the int64 `count`.

    Philox (the counter-based generator of TensorFlow's stateless ops) with key
    ``seed`` and counter ``(count, 0)`` gives 64 random bits; Box-Muller turns
    them into a normal draw. TensorFlow's float samplers are not used because
    they give different values under XLA; Philox's bits do not.
    """
    counter = tf.stack([tf.cast(count, tf.uint64), tf.constant(0, tf.uint64)])
    bits = tf.raw_ops.StatelessRandomUniformFullIntV2(
        shape=[2], key=key, counter=counter, alg=_PHILOX, dtype=tf.uint32
    )
    # uniforms in (0, 1), never 0: |z| is at most sqrt(2 * 33 * ln 2) ~ 6.8
    u_radius, u_angle = tf.unstack((tf.cast(bits, tf.float64) + 0.5) * 2.0**-32)
    return tf.sqrt(-2.0 * tf.math.log(u_radius)) * tf.cos(2.0 * math.pi * u_angle)


@tf.function(input_signature=[tf.TensorSpec([1], tf.uint64), tf.TensorSpec([None], tf.int64)])
def _keyed_normals(key, counts):
    # Stateless ops take one seed per call: a vector of steps (plotting) needs a
    # loop, compiled once here rather than run op by op in eager mode.
    return tf.map_fn(lambda c: _keyed_normal(key, c), counts, fn_output_signature=tf.float64)


@register
class CosineDecay(Schedule):
    """Cosine decay (Loshchilov & Hutter's SGDR without restarts), optional linear warm-up.

    With ``r0 = initial_learning_rate``, ``d = decay_steps``, ``a = alpha`` and
    ``g`` the optimizer step (or completed epochs with `steps_per_epoch`)::

        r = r0 * ((1 - a) * 0.5 * (1 + cos(pi * min(g, d) / d)) + a)

    from ``r0`` down to ``a * r0``, then constant. With `warmup_target` set, the
    rate first rises linearly from ``r0`` to `warmup_target` over `warmup_steps`
    and the cosine then decays from `warmup_target` (Keras's form).

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        alpha: ``a``, the final rate as a fraction of the starting one, in
            [0, 1]. Defaults to `0.0`.
        warmup_target: rate reached at the end of the warm-up, >= 0. Defaults to
            `None` (no warm-up).
        warmup_steps: length of the warm-up, >= 0. Defaults to `0`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"CosineDecay"`.

    Example:

    >>> schedule = CosineDecay(0.1, decay_steps=1000, alpha=0.01)
    >>> [round(float(schedule(step)), 6) for step in (0, 500, 1000, 5000)]
    [0.1, 0.0505, 0.001, 0.001]

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017.

    Note:
        Same formula and arguments as `keras.optimizers.schedules.CosineDecay`
        and `tf.compat.v1.train.cosine_decay` (which has no warm-up). For a
        warm-up in front of any other schedule use `Warmup`.
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        warmup_target=None,
        warmup_steps=0,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.alpha = check_number("alpha", alpha, low=0.0, high=1.0)
        self.warmup_target = None if warmup_target is None else check_rate("warmup_target", warmup_target)
        if warmup_steps != 0:
            warmup_steps = check_steps("warmup_steps", warmup_steps)
        self.warmup_steps = warmup_steps

    def _rate(self, step):
        g = self._count(step)
        d = float(self.decay_steps)
        if self.warmup_target is None:
            return self.initial_learning_rate * self._decayed(ops.minimum(g, d) / d)
        w = float(self.warmup_steps)
        # max(w, 1) only guards the division; with w = 0 that branch is never taken.
        ramp = interpolate(self.initial_learning_rate, self.warmup_target, g / max(w, 1.0))
        fraction = ops.clip(g - w, 0.0, d) / d
        return ops.where(g < w, ramp, self.warmup_target * self._decayed(fraction))

    def _decayed(self, fraction):
        cosine = 0.5 * (1.0 + ops.cos(math.pi * fraction))
        return (1.0 - self.alpha) * cosine + self.alpha

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
            "steps_per_epoch": self.steps_per_epoch,
        }


@register
class LinearCosineDecay(Schedule):
    """Linear-cosine decay (Bello et al. 2017): a cosine whose amplitude falls linearly.

    With ``r0 = initial_learning_rate``, ``d = decay_steps``, ``g' = min(g, d)``
    (``g`` the optimizer step, or completed epochs with `steps_per_epoch`)::

        linear = (d - g') / d
        cosine = 0.5 * (1 + cos(2 * pi * num_periods * g' / d))
        r = r0 * ((alpha + linear) * cosine + beta)

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        num_periods: number of cosine periods over ``d``, >= 0. Defaults to `0.5`.
        alpha: added to the linear term, >= 0. Defaults to `0.0`.
        beta: floor added to the product, >= 0. Defaults to `0.001`.
        steps_per_epoch: when set, ``g`` counts whole epochs. Defaults to `None`.
        name: name scope of the operations. Defaults to `"LinearCosineDecay"`.

    Example:

    >>> schedule = LinearCosineDecay(0.1, decay_steps=1000)
    >>> [round(float(schedule(step)), 6) for step in (0, 500, 1000)]
    [0.1001, 0.0251, 0.0001]

    References:
        Bello et al., "Neural Optimizer Search with Reinforcement Learning",
        ICML 2017.

    Note:
        `tf.compat.v1.train.linear_cosine_decay`, same arguments and defaults;
        Keras 3 has no namesake.
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        num_periods=0.5,
        alpha=0.0,
        beta=0.001,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(steps_per_epoch=steps_per_epoch, name=name)
        self.initial_learning_rate = check_rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = check_steps("decay_steps", decay_steps)
        self.num_periods = check_finite("num_periods", num_periods, low=0.0)
        self.alpha = check_finite("alpha", alpha, low=0.0)
        self.beta = check_finite("beta", beta, low=0.0)

    def _terms(self, step):
        """``(g', linear, cosine)`` of the formula."""
        d = float(self.decay_steps)
        g = ops.minimum(self._count(step), d)
        linear = (d - g) / d
        cosine = 0.5 * (1.0 + ops.cos((2.0 * math.pi * self.num_periods / d) * g))
        return g, linear, cosine

    def _rate(self, step):
        _, linear, cosine = self._terms(step)
        return self.initial_learning_rate * ((self.alpha + linear) * cosine + self.beta)

    def _config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "num_periods": self.num_periods,
            "alpha": self.alpha,
            "beta": self.beta,
            "steps_per_epoch": self.steps_per_epoch,
        }


@register
class NoisyLinearCosineDecay(LinearCosineDecay):
    """Linear-cosine decay with Gaussian noise on the linear term, reproducible per step.

    As `LinearCosineDecay`, with ``linear`` replaced by ``linear + eps_g``::

        eps_g ~ N(0, initial_variance / (1 + g') ** variance_decay)
        r = r0 * ((alpha + linear + eps_g) * cosine + beta)

    ``eps_g`` is drawn by a stateless generator keyed on ``(seed, g)``: the same
    seed and step always give the same rate (in eager mode, in `tf.function`,
    under XLA, after reloading), and different steps give independent draws.

    Args:
        initial_learning_rate: ``r0``, >= 0.
        decay_steps: ``d``, > 0 (in steps, or in epochs with `steps_per_epoch`).
        initial_variance: variance of the noise at step 0, >= 0. Defaults to `1.0`.
        variance_decay: exponent of the variance's decay, >= 0. Defaults to `0.55`.
        num_periods: number of cosine periods over ``d``, >= 0. Defaults to `0.5`.
        alpha: added to the linear term, >= 0. Defaults to `0.0`.
        beta: floor added to the product, >= 0. Defaults to `0.001`.
        seed: integer in [0, 2**64), the Philox key. Defaults to `None`: a random seed is drawn
            once, at construction, and recorded in the config, so a saved and
            reloaded schedule continues with the same noise.
        steps_per_epoch: when set, ``g`` counts whole epochs (one draw per
            epoch). Defaults to `None`.
        name: name scope of the operations. Defaults to `"NoisyLinearCosineDecay"`.

    Example:

    >>> schedule = NoisyLinearCosineDecay(0.1, decay_steps=1000, seed=42)
    >>> float(schedule(10)) == float(schedule(10))
    True

    References:
        Bello et al., "Neural Optimizer Search with Reinforcement Learning",
        ICML 2017.

    Note:
        `tf.compat.v1.train.noisy_linear_cosine_decay` draws fresh noise at every
        call (it is not reproducible); its deterministic part and noise
        distribution are the same as here. Past ``decay_steps`` the noise keeps
        being drawn per step with the variance reached at ``g' = d``, as in
        TensorFlow 1.
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        initial_variance=1.0,
        variance_decay=0.55,
        num_periods=0.5,
        alpha=0.0,
        beta=0.001,
        seed=None,
        steps_per_epoch=None,
        name=None,
    ):
        super().__init__(
            initial_learning_rate,
            decay_steps,
            num_periods=num_periods,
            alpha=alpha,
            beta=beta,
            steps_per_epoch=steps_per_epoch,
            name=name,
        )
        self.initial_variance = check_finite("initial_variance", initial_variance, low=0.0)
        self.variance_decay = check_finite("variance_decay", variance_decay, low=0.0)
        seed = check_int("seed", seed, low=0, high=2**64 - 1, allow_none=True)
        self.seed = random.SystemRandom().randrange(2**31) if seed is None else seed

    def _rate(self, step):
        g, linear, cosine = self._terms(step)
        std = ops.sqrt(self.initial_variance / ops.power(1.0 + g, self.variance_decay))
        noise = std * self._standard_normal(self._count(step))
        return self.initial_learning_rate * ((self.alpha + linear + noise) * cosine + self.beta)

    def _standard_normal(self, count):
        """One N(0, 1) draw per element of `count`, keyed on ``(seed, count)``."""
        count = ops.cast(count, "int64")
        key = tf.constant([self.seed], tf.uint64)
        if len(count.shape) == 0:
            return _keyed_normal(key, count)
        values = _keyed_normals(key, tf.reshape(count, [-1]))
        return tf.reshape(values, tf.shape(count))

    def _config(self):
        return {
            **super()._config(),
            "initial_variance": self.initial_variance,
            "variance_decay": self.variance_decay,
            "seed": self.seed,
        }
