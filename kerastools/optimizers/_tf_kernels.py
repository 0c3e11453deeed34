"""TensorFlow's fused training kernels, called on the resource handles of Keras
variables, and the handling of `tf.IndexedSlices` gradients.

Called only on the TensorFlow backend. A Keras variable on that backend
exposes its `tf.Variable`'s resource handle as ``.handle``; inside the
``tf.distribute`` update that Keras runs for each device, the handle of a
mirrored slot variable is the one of that device's copy, so the same calls work
with and without a distribution strategy. All kernels used here have XLA
implementations except ``ResourceApplyAdamWithAmsgrad``, which therefore runs
only outside XLA; the ``ResourceSparseApply*`` kernels have none either, so
sparse rows use gathers and scatters, which do.

Every kernel takes its hyperparameters as scalars of the variable's dtype.
"""

import tensorflow as tf


def _scalar(value, dtype):
    # tf.cast(0.999, tf.float64) would round through float32; convert directly.
    if isinstance(value, (int, float)):
        return tf.constant(value, dtype)
    return tf.cast(value, dtype)


def in_xla_context():
    """Whether the function being traced will be compiled by XLA (``jit_compile=True``)."""
    enclosing = getattr(tf.__internal__, "get_enclosing_xla_context", None)
    return enclosing is not None and enclosing() is not None


def is_indexed_slices(gradient):
    return isinstance(gradient, tf.IndexedSlices)


def cast_slices(gradient, dtype):
    return tf.IndexedSlices(
        tf.cast(gradient.values, dtype), gradient.indices, gradient.dense_shape
    )


def densify(gradient):
    """The dense gradient: duplicate rows summed, absent rows zero."""
    return tf.convert_to_tensor(gradient)


def unique_rows(gradient):
    """``(values, indices)`` with each row index once and duplicates summed, so a
    row-wise rule sees the same gradient as the dense update (an embedding looked
    up twice in a batch gets one row with the summed gradient)."""
    indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(indices)[0])
    return values, indices


def gather(variable, indices):
    return tf.raw_ops.ResourceGather(
        resource=variable.handle, indices=indices, dtype=tf.as_dtype(variable.dtype)
    )


def scatter_update(variable, indices, rows):
    tf.raw_ops.ResourceScatterUpdate(resource=variable.handle, indices=indices, updates=rows)


def scatter_sub(variable, indices, rows):
    tf.raw_ops.ResourceScatterSub(resource=variable.handle, indices=indices, updates=rows)


def gradient_descent(var, lr, grad):
    """``var -= lr * grad``."""
    tf.raw_ops.ResourceApplyGradientDescent(var=var.handle, alpha=lr, delta=grad)


def keras_momentum(var, accum, lr, grad, momentum, nesterov):
    """``accum = momentum * accum - lr * grad``; ``var += accum`` (Nesterov:
    ``var += momentum * accum - lr * grad``)."""
    dtype = var.dtype
    tf.raw_ops.ResourceApplyKerasMomentum(
        var=var.handle,
        accum=accum.handle,
        lr=lr,
        grad=grad,
        momentum=_scalar(momentum, dtype),
        use_nesterov=nesterov,
    )


def momentum(var, accum, lr, grad, momentum):
    """``accum = momentum * accum + grad``; ``var -= lr * accum``."""
    tf.raw_ops.ResourceApplyMomentum(
        var=var.handle,
        accum=accum.handle,
        lr=lr,
        grad=grad,
        momentum=_scalar(momentum, var.dtype),
    )


def adagrad(var, accum, lr, grad):
    """``accum += grad ** 2``; ``var -= lr * grad / sqrt(accum)``."""
    tf.raw_ops.ResourceApplyAdagrad(var=var.handle, accum=accum.handle, lr=lr, grad=grad)


def adagrad_v2(var, accum, lr, grad, epsilon):
    """``accum += grad ** 2``; ``var -= lr * grad / (sqrt(accum) + epsilon)``."""
    tf.raw_ops.ResourceApplyAdagradV2(
        var=var.handle,
        accum=accum.handle,
        lr=lr,
        epsilon=_scalar(epsilon, var.dtype),
        grad=grad,
    )


def rmsprop(var, ms, mom, lr, grad, rho, momentum, epsilon):
    """``ms = rho * ms + (1 - rho) * grad ** 2``;
    ``mom = momentum * mom + lr * grad / sqrt(ms + epsilon)``; ``var -= mom``."""
    dtype = var.dtype
    tf.raw_ops.ResourceApplyRMSProp(
        var=var.handle,
        ms=ms.handle,
        mom=mom.handle,
        lr=lr,
        rho=_scalar(rho, dtype),
        momentum=_scalar(momentum, dtype),
        epsilon=_scalar(epsilon, dtype),
        grad=grad,
    )


def centered_rmsprop(var, mg, ms, mom, lr, grad, rho, momentum, epsilon):
    """As `rmsprop`, with ``mg = rho * mg + (1 - rho) * grad`` and
    ``sqrt(ms - mg ** 2 + epsilon)`` in the denominator."""
    dtype = var.dtype
    tf.raw_ops.ResourceApplyCenteredRMSProp(
        var=var.handle,
        mg=mg.handle,
        ms=ms.handle,
        mom=mom.handle,
        lr=lr,
        rho=_scalar(rho, dtype),
        momentum=_scalar(momentum, dtype),
        epsilon=_scalar(epsilon, dtype),
        grad=grad,
    )


def adam_amsgrad(var, m, v, v_max, lr, grad, beta_1, beta_2, beta_1_power, beta_2_power, epsilon):
    """As `adam`, with ``v_max = maximum(v_max, v)`` in place of ``v`` in the step."""
    dtype = var.dtype
    tf.raw_ops.ResourceApplyAdamWithAmsgrad(
        var=var.handle,
        m=m.handle,
        v=v.handle,
        vhat=v_max.handle,
        beta1_power=_scalar(beta_1_power, dtype),
        beta2_power=_scalar(beta_2_power, dtype),
        lr=lr,
        beta1=_scalar(beta_1, dtype),
        beta2=_scalar(beta_2, dtype),
        epsilon=_scalar(epsilon, dtype),
        grad=grad,
    )


def adam(var, m, v, lr, grad, beta_1, beta_2, beta_1_power, beta_2_power, epsilon, nesterov=False):
    """``m = beta_1 * m + (1 - beta_1) * grad``; ``v = beta_2 * v + (1 - beta_2) * grad ** 2``;
    ``var -= lr * sqrt(1 - beta_2_power) / (1 - beta_1_power) * m / (sqrt(v) + epsilon)``,
    with ``m`` in the step replaced by ``beta_1 * m + (1 - beta_1) * grad`` (the new
    ``m``) if `nesterov`.

    `epsilon` may be a tensor (Adam's paper convention passes a per-step value).
    """
    dtype = var.dtype
    tf.raw_ops.ResourceApplyAdam(
        var=var.handle,
        m=m.handle,
        v=v.handle,
        beta1_power=_scalar(beta_1_power, dtype),
        beta2_power=_scalar(beta_2_power, dtype),
        lr=lr,
        beta1=_scalar(beta_1, dtype),
        beta2=_scalar(beta_2, dtype),
        epsilon=_scalar(epsilon, dtype),
        grad=grad,
        use_nesterov=nesterov,
    )
