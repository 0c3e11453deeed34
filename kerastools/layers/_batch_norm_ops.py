"""Batch normalisation on batch statistics, with the course's hand-derived backward pass.

Forward, over the ``N`` entries that share one feature (the reduced axes)::

    mu = sum(x) / N
    var = sum((x - mu) ** 2) / N              # biased, as in the course and Keras
    inv = 1 / sqrt(var + epsilon)
    x_hat = (x - mu) * inv
    y = gamma * x_hat + beta

Backward (Ioffe & Szegedy 2015, eq. after Algorithm 1; the course's
step-by-step graph collapsed into one expression), with sums over the same axes::

    dbeta = sum(dy)
    dgamma = sum(dy * x_hat)
    dx = (gamma * inv / N) * (N * dy - sum(dy) - x_hat * sum(dy * x_hat))

The op also returns ``mu`` and ``var`` (for the moving averages); gradients
arriving on them are honoured too (``dmu / dx_i = 1 / N``,
``dvar / dx_i = 2 (x_i - mu) / N = 2 x_hat_i / (inv N)``), so the op is exact
whatever is differentiated. All of it is folded into per-feature coefficients,
``dx = a * dy + b * (x - mu) + c`` (``x_hat = (x - mu) * inv`` is never formed),
so the backward pass costs six elementwise passes over the full-size tensors and
two reductions.

With ``synchronized=True`` inside a `tf.distribute` replica context the sums
defining ``N``, ``mu`` and ``var`` are all-reduced across replicas (the statistics
of the global batch), and so are the sums in ``dx``; ``dgamma`` and ``dbeta`` stay
per-replica sums because the strategy adds the replicas' weight gradients itself.
"""

import numpy as np
import tensorflow as tf


def _replica_sum(synchronized):
    """A function summing a tensor over replicas when synchronising (else `None`)."""
    context = tf.distribute.get_replica_context()
    if not synchronized or context is None or context.num_replicas_in_sync == 1:
        return None
    return lambda t: context.all_reduce(tf.distribute.ReduceOp.SUM, t)


def _count(x, axes):
    """The number ``N`` of reduced entries, a Python constant when the shape is static."""
    sizes = [x.shape[a] for a in axes]
    if None not in sizes:
        return tf.constant(float(np.prod(sizes)), x.dtype)
    return tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)


def batch_norm_train(x, gamma, beta, axes, epsilon, synchronized=False):
    """Normalise `x` with its batch statistics over `axes`; hand-written gradient.

    Args:
        x: a floating-point tensor.
        gamma, beta: scale and offset broadcastable to `x` (reduced axes of size
            1), or `None` for no scale / no offset.
        axes: the reduced axes (a list of non-negative integers).
        epsilon: added to the variance.
        synchronized: use the statistics of the global batch across replicas.

    Returns:
        ``(y, mean, variance)``; `mean` and `variance` keep the reduced axes with
        size 1.
    """
    axes = list(axes)
    replica_sum = _replica_sum(synchronized)
    synchronized_here = replica_sum is not None
    if not synchronized_here:
        replica_sum = lambda t: t  # noqa: E731
    has_gamma, has_beta = gamma is not None, beta is not None
    params = [p for p in (gamma, beta) if p is not None]

    @tf.custom_gradient
    def forward(x, *params):
        g = params[0] if has_gamma else None
        b = params[-1] if has_beta else None
        count = _count(x, axes)
        if synchronized_here:
            # One all-reduce for the sum and the count.
            local_sum = tf.reduce_sum(x, axes, keepdims=True)
            totals = replica_sum(tf.stack([local_sum, tf.fill(tf.shape(local_sum), count)]))
            n, mean = totals[1], totals[0] / totals[1]
        else:
            n, mean = count, tf.reduce_mean(x, axes, keepdims=True)
        # Two passes (mean first, then squared deviations) as in the course: no
        # cancellation, unlike E[x**2] - E[x]**2.
        variance = replica_sum(
            tf.reduce_sum(tf.math.squared_difference(x, mean), axes, keepdims=True)
        ) / n
        inv = tf.math.rsqrt(variance + epsilon)
        scale = inv * g if has_gamma else inv
        shift = -mean * scale
        if has_beta:
            shift = shift + b
        y = x * scale + shift

        def grad(dy, dmean, dvar):
            centered = x - mean  # x_hat = centered * inv, folded into the coefficients
            sum_dy = tf.reduce_sum(dy, axes, keepdims=True)
            sum_dy_x_hat = tf.reduce_sum(dy * centered, axes, keepdims=True) * inv
            # Unused `mean` / `variance` outputs arrive as zeros (or None).
            dmean = tf.zeros_like(mean) if dmean is None else dmean
            dvar = tf.zeros_like(variance) if dvar is None else dvar
            # Global sums when synchronising, in a single all-reduce.
            total_dy, total_dy_x_hat, total_dmean, total_dvar = tf.unstack(
                replica_sum(tf.stack([sum_dy, sum_dy_x_hat, dmean, dvar]))
            ) if synchronized_here else (sum_dy, sum_dy_x_hat, dmean, dvar)
            # dx = a * dy + b * x_hat + c, with x_hat = centered * inv.
            coefficient_centered = (2.0 * total_dvar - scale * inv * total_dy_x_hat) / n
            constant = (total_dmean - scale * total_dy) / n
            dx = dy * scale + centered * coefficient_centered + constant
            param_grads = []
            if has_gamma:
                param_grads.append(sum_dy_x_hat)
            if has_beta:
                param_grads.append(sum_dy)
            return (dx, *param_grads)

        return (y, mean, variance), grad

    return forward(x, *params)
