"""Batch normalisation on batch statistics, with the course's hand-derived backward pass.

Forward, over the ``N`` entries that share one feature (the reduced axes), or
with a mask ``m`` (1 keeps an entry, 0 leaves it out of the statistics) over
the ``N = sum(m)`` kept entries::

    mu = sum(m * x) / N
    var = sum(m * (x - mu) ** 2) / N          # biased, as in the course and Keras
    inv = 1 / sqrt(var + epsilon)
    x_hat = (x - mu) * inv                    # every entry, kept or not
    y = gamma * x_hat + beta

Batch renormalisation (Ioffe 2017, Algorithm 1) inserts ``x_hat <- r * x_hat + d``
with ``r = clip(sigma_B / sigma, rmin, rmax)`` and
``d = clip((mu - mu_moving) / sigma, -dmax, dmax)`` (``sigma_B = sqrt(var + epsilon)``,
``mu_moving`` and ``sigma`` the renorm moving statistics), so
``y = (r * gamma) * x_hat + (d * gamma + beta)``.

Backward (Ioffe & Szegedy 2015, eq. after Algorithm 1; the course's
step-by-step graph collapsed into one expression). ``r`` and ``d`` are constants
(the paper's ``stop_gradient``), so with ``G = r * gamma``::

    dbeta = sum(dy)
    dgamma = r * sum(dy * x_hat) + d * sum(dy)
    dx = G * inv * dy - m * (G * inv / N) * (sum(dy) + x_hat * sum(dy * x_hat))

The sums over ``dy`` run over **every** entry (masked outputs depend on ``mu``
and ``var`` too); the correction reaches only the kept entries (``m``), the only
ones ``mu`` and ``var`` depend on. Without renormalisation ``r = 1, d = 0``; with
no mask ``m = 1`` and ``dx`` is the course's
``(gamma * inv / N) * (N * dy - sum(dy) - x_hat * sum(dy * x_hat))``.

The op also returns ``mu`` and ``var`` (for the moving averages); gradients
arriving on them are honoured too (``dmu / dx_i = m_i / N``,
``dvar / dx_i = 2 m_i (x_i - mu) / N``), so the op is exact whatever is
differentiated. All of it is folded into per-feature coefficients,
``dx = a * dy + m * (b * (x - mu) + c)`` (``x_hat`` is never formed).

With ``synchronized=True`` inside a `tf.distribute` replica context the sums
defining ``N``, ``mu`` and ``var`` are all-reduced across replicas (the statistics
of the global batch, masked or not), and so are the sums in ``dx``; ``dgamma``
and ``dbeta`` stay per-replica sums because the strategy adds the replicas'
weight gradients itself.
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


def renorm_correction(mean, variance, renorm_mean, renorm_stddev, epsilon, clipping):
    """Ioffe (2017)'s ``(r, d)`` for batch statistics against the renorm moving ones.

    ``sigma`` is floored at ``sqrt(epsilon)`` (it starts near 0 when the moving
    variance is initialised to 0), as in Keras. `clipping` maps ``"rmin"``,
    ``"rmax"``, ``"dmax"`` to floats; a missing key leaves that side unclipped.
    """
    stddev = tf.sqrt(variance + epsilon)
    sigma = tf.maximum(renorm_stddev, tf.sqrt(tf.cast(epsilon, renorm_stddev.dtype)))
    r = stddev / sigma
    d = (mean - renorm_mean) / sigma
    if clipping.get("rmin") is not None:
        r = tf.maximum(r, clipping["rmin"])
    if clipping.get("rmax") is not None:
        r = tf.minimum(r, clipping["rmax"])
    if clipping.get("dmax") is not None:
        d = tf.clip_by_value(d, -clipping["dmax"], clipping["dmax"])
    return r, d


def batch_norm_train(x, gamma, beta, axes, epsilon, synchronized=False, mask=None, renorm=None):
    """Normalise `x` with its batch statistics over `axes`; hand-written gradient.

    Args:
        x: a floating-point tensor.
        gamma, beta: scale and offset broadcastable to `x` (reduced axes of size
            1), or `None` for no scale / no offset.
        axes: the reduced axes (a list of non-negative integers).
        epsilon: added to the variance.
        synchronized: use the statistics of the global batch across replicas.
        mask: `None`, or a tensor broadcastable to `x` whose non-zero entries
            mark the entries that count in the statistics.
        renorm: `None`, or ``(renorm_mean, renorm_stddev, clipping)`` (the first
            two broadcastable like `gamma`) for batch renormalisation.

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
    if mask is not None:
        # Keras's rule: any non-zero mask entry keeps the position.
        mask = tf.cast(tf.cast(mask, tf.bool), x.dtype)
        mask = tf.broadcast_to(mask, tf.shape(x))

    @tf.custom_gradient
    def forward(x, *params):
        g = params[0] if has_gamma else None
        b = params[-1] if has_beta else None
        if mask is None:
            count = _count(x, axes)
            local_sum = tf.reduce_sum(x, axes, keepdims=True)
        else:
            count = tf.reduce_sum(mask, axes, keepdims=True)
            local_sum = tf.reduce_sum(x * mask, axes, keepdims=True)
        if synchronized_here:
            # One all-reduce for the sum and the count.
            counts = tf.broadcast_to(count, tf.shape(local_sum))
            local_sum, count = tf.unstack(replica_sum(tf.stack([local_sum, counts])))
        # A fully masked feature has no statistics: mean and variance 0 (as in
        # Keras), instead of 0 / 0.
        n = count if mask is None else tf.maximum(count, 1.0)
        mean = local_sum / n
        # Two passes (mean first, then squared deviations) as in the course: no
        # cancellation, unlike E[x**2] - E[x]**2.
        squares = tf.math.squared_difference(x, mean)
        if mask is not None:
            squares = squares * mask
        variance = replica_sum(tf.reduce_sum(squares, axes, keepdims=True)) / n
        inv = tf.math.rsqrt(variance + epsilon)
        if renorm is not None:
            renorm_mean, renorm_stddev, clipping = renorm
            r, d = renorm_correction(mean, variance, renorm_mean, renorm_stddev, epsilon, clipping)
            r, d = tf.stop_gradient(r), tf.stop_gradient(d)
            # (r x_hat + d) gamma + beta = x_hat (r gamma) + (d gamma + beta)
            g_eff = r * g if has_gamma else r
            b_eff = d * g if has_gamma else d
            if has_beta:
                b_eff = b_eff + b
        else:
            g_eff, b_eff = g, b
        scale = inv * g_eff if g_eff is not None else inv
        shift = -mean * scale
        if b_eff is not None:
            shift = shift + b_eff
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
            # dx = a * dy + m * (b * centered + c), with x_hat = centered * inv.
            coefficient_centered = (2.0 * total_dvar - scale * inv * total_dy_x_hat) / n
            constant = (total_dmean - scale * total_dy) / n
            correction = centered * coefficient_centered + constant
            if mask is not None:
                correction = correction * mask
            dx = dy * scale + correction
            param_grads = []
            if has_gamma:
                param_grads.append(sum_dy_x_hat if renorm is None else r * sum_dy_x_hat + d * sum_dy)
            if has_beta:
                param_grads.append(sum_dy)
            return (dx, *param_grads)

        return (y, mean, variance), grad

    return forward(x, *params)
