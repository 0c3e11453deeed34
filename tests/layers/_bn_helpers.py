"""Shared helpers of the BatchNormalization test modules."""

import numpy as np
import tensorflow as tf

STATISTICS = ("moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev")


def rng(seed=0):
    return np.random.default_rng(seed)


def statistics(layer):
    """The layer's moving statistics by name (those it has)."""
    return {
        name: getattr(layer, name).numpy()
        for name in STATISTICS
        if getattr(layer, name, None) is not None
    }


def train_step(layer, x, dy, mask=None):
    """``y``, ``dx``, ``dgamma``, ``dbeta`` of ``sum(y * dy)`` for one training call."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True, mask=mask)
        loss = tf.reduce_sum(y * dy)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return y.numpy(), dx.numpy(), dgamma.numpy(), dbeta.numpy()


def random_mask(generator, shape, keep=0.6):
    """A boolean mask with at least one kept entry."""
    mask = generator.random(shape) < keep
    mask.flat[0] = True
    return mask
