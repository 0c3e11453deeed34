"""`numerical_gradient`, `check_gradients` and `assert_gradients_close` (see `kerastools.gradcheck`)."""

import contextlib
import logging

import numpy as np
import tensorflow as tf

from kerastools.gradcheck._problem import build_problem
from kerastools.gradcheck.report import (
    PASS_THRESHOLD,
    WARNING_THRESHOLD,
    GradientCheckReport,
    relative_difference,
)
from kerastools._validation import check_bool, check_choice, check_int, check_number, check_seed


# At most this many float64 entries in one stacked matrix of perturbed parameter
# vectors (128 MiB); chunks shrink for large models to stay under it.
_MAX_STACK_ENTRIES = 1 << 24


class _Flat:
    """Packs a list of tensors into one float64 vector ``theta`` and back."""

    def __init__(self, names, values):
        self.names = list(names)
        self.shapes = [tuple(np.shape(v)) for v in values]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.theta = tf.constant(
            np.concatenate([np.ravel(np.asarray(v, np.float64)) for v in values]), tf.float64
        )

    def unflatten(self, theta):
        parts = tf.split(theta, self.sizes)
        return [tf.reshape(p, s) for p, s in zip(parts, self.shapes)]

    def split_numpy(self, vector):
        offsets = np.cumsum([0, *self.sizes])
        return {
            n: np.reshape(vector[a:b], s)
            for n, a, b, s in zip(self.names, offsets[:-1], offsets[1:], self.shapes)
        }


def _compile(fn, jit_compile):
    return tf.function(fn, jit_compile=jit_compile, reduce_retracing=True)


@contextlib.contextmanager
def _quiet_tracing():
    """Every check compiles new functions; TensorFlow's "retracing" warning about
    that says nothing useful to the user, so it is silenced during a check."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# Under jit_compile="auto", XLA is used from this many perturbed evaluations on:
# compiling costs about half a second on a CPU, which pays off only when the
# evaluations it speeds up (by about a third) take longer than that.
_AUTO_XLA_MIN_EVALUATIONS = 1 << 16


def _run_with_jit_fallback(make, jit_compile, first_args, count):
    """Build the compiled function; under ``"auto"`` fall back to no XLA if it fails."""
    if jit_compile == "auto" and 2 * count < _AUTO_XLA_MIN_EVALUATIONS:
        jit_compile = False
    if jit_compile != "auto":
        fn = make(jit_compile)
        return fn, fn(*first_args)
    try:
        fn = make(True)
        return fn, fn(*first_args)
    except (tf.errors.OpError, NotImplementedError, ValueError, TypeError):
        fn = make(False)
        return fn, fn(*first_args)


def _central_differences(cost, theta, count, steps_for, chunk_size, jit_compile, extra=None):
    """Evaluate ``(cost(theta + s_k) - cost(theta - s_k)) / h_k`` for k < count, batched.

    ``steps_for(idx)`` returns the stacked steps ``s_k`` (``[len(idx), n]``) and the
    divisors ``h_k``; `extra(idx, steps)` optionally returns a second value
    computed in the same compiled call. The perturbed vectors are evaluated with
    `tf.vectorized_map`, `chunk` of them (each sign) per call.
    """
    n = int(theta.shape[0])
    chunk = max(1, min(chunk_size, count, _MAX_STACK_ENTRIES // max(1, n)))

    def make(jit):
        def differences(idx):
            steps, h = steps_for(idx)
            stacked = tf.concat([theta[None, :] + steps, theta[None, :] - steps], axis=0)
            values = tf.vectorized_map(cost, stacked)
            result = (values[:chunk] - values[chunk:]) / h
            return (result,) if extra is None else (result, extra(idx, steps))

        return _compile(differences, jit)

    outputs = []
    fn = None
    for start in range(0, count, chunk):
        # Pad the last chunk with index 0 so that every call has the same shape
        # and the function is traced (and XLA-compiled) once.
        idx = np.arange(start, start + chunk)
        idx[idx >= count] = 0
        idx = tf.constant(idx, tf.int32)
        if fn is None:
            fn, values = _run_with_jit_fallback(make, jit_compile, (idx,), count)
        else:
            values = fn(idx)
        keep = min(chunk, count - start)
        outputs.append([v.numpy()[:keep] for v in values])
    # One array per output: the differences, then `extra`'s values if given.
    return [np.concatenate(column) for column in zip(*outputs)]


def _partials(cost, theta, epsilon, chunk_size, jit_compile):
    """Every partial derivative: ``s_i = eps * e_i``."""
    n = int(theta.shape[0])

    def steps_for(idx):
        at = tf.gather(theta, idx)
        # The step actually taken, (theta_i + eps) - (theta_i - eps), is not
        # exactly 2 * eps in floating point; dividing by it removes that error.
        return tf.one_hot(idx, n, dtype=tf.float64) * epsilon, (at + epsilon) - (at - epsilon)

    with _quiet_tracing():
        return _central_differences(cost, theta, n, steps_for, chunk_size, jit_compile)[0]


def loop_partials(cost, theta, epsilon):
    """The course's per-parameter loop: `cost` takes and perturbs a NumPy vector."""
    theta = np.array(theta, np.float64)
    grad = np.empty_like(theta)
    for i in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += epsilon
        minus[i] -= epsilon
        grad[i] = (float(cost(plus)) - float(cost(minus))) / (plus[i] - minus[i])
    return grad


def numerical_gradient(fn, xs, epsilon=1e-7, *, vectorize=True, chunk_size=1024, jit_compile="auto"):
    """Two-sided finite-difference gradient of a scalar function, in float64.

    ``grad[i] = (fn(x + eps * e_i) - fn(x - eps * e_i)) / (2 * eps)`` for every
    entry of every array in `xs`.

    Args:
        fn: a function of one array (when `xs` is an array) or of a list of
            arrays (when `xs` is a list or tuple) returning a scalar. With
            ``vectorize=True`` it must be traceable by TensorFlow (`tf`/`keras.ops`).
        xs: an array, or a list/tuple of arrays; cast to float64.
        epsilon: the step, > 0. Defaults to `1e-7`.
        vectorize: evaluate all perturbations at once with `tf.vectorized_map`
            (``True``), or loop over the parameters one at a time as in the course
            (``False``; works for any Python function). Defaults to `True`.
        chunk_size: parameters perturbed per vectorised evaluation. Defaults to `1024`.
        jit_compile: ``True``, ``False`` or ``"auto"`` (XLA for large problems,
            at least 32,768 perturbed entries, where compiling pays off; plain
            graph mode otherwise or when XLA cannot compile `fn`). Defaults to
            `"auto"`.

    Returns:
        Arrays shaped like `xs` (a list when `xs` is a list or tuple).

    Example:

    >>> numerical_gradient(lambda x: tf.reduce_sum(x ** 3), np.array([1.0, 2.0]))
    array([ 3., 12.])
    """
    epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
    check_bool("vectorize", vectorize)
    chunk_size = check_int("chunk_size", chunk_size, low=1)
    if jit_compile not in (True, False, "auto"):
        raise ValueError(
            f"Argument `jit_compile` must be True, False or 'auto'. Received: jit_compile={jit_compile!r}"
        )
    is_list = isinstance(xs, (list, tuple))
    arrays = [np.asarray(x, np.float64) for x in (xs if is_list else [xs])]
    flat = _Flat([str(i) for i in range(len(arrays))], arrays)

    def cost(theta):
        parts = flat.unflatten(theta)
        return tf.cast(tf.reshape(fn(parts if is_list else parts[0]), []), tf.float64)

    if vectorize:
        try:
            grad = _partials(cost, flat.theta, epsilon, chunk_size, jit_compile)
        except Exception as error:  # noqa: BLE001 - re-raised with the remedy
            raise TypeError(
                "`fn` could not be evaluated vectorised by TensorFlow "
                f"({type(error).__name__}: {error}). Write it with `tf`/`keras.ops`, "
                "or pass `vectorize=False` for the per-parameter loop."
            ) from error
    else:
        def numpy_cost(theta):
            parts = list(flat.split_numpy(theta).values())
            return fn(parts if is_list else parts[0])

        grad = loop_partials(numpy_cost, flat.theta.numpy(), epsilon)
    grads = list(flat.split_numpy(grad).values())
    return grads if is_list else grads[0]


def _directional(cost, theta, grad, var_index, num_vars, num_directions, epsilon, seed, chunk_size, jit_compile):
    """Random directional derivatives, `num_directions` per variable.

    Direction ``k`` is a random unit vector supported on variable
    ``k // num_directions``; it is regenerated from ``(seed, k)`` inside the
    compiled function, so the ``[count, n]`` matrix of directions never exists
    outside a chunk.
    """
    var_index = tf.constant(var_index, tf.int32)
    grad = tf.constant(grad, tf.float64)

    def directions(idx):
        def one(k):
            z = tf.random.stateless_normal(tf.shape(theta), seed=tf.stack([seed, k]), dtype=tf.float64)
            z = tf.where(var_index == k // num_directions, z, tf.zeros_like(z))
            return z / tf.norm(z)

        return tf.map_fn(one, idx, fn_output_signature=tf.float64)

    def steps_for(idx):
        u = directions(idx)
        return u * epsilon, tf.fill(tf.shape(idx), tf.constant(2.0 * epsilon, tf.float64))

    def analytic(idx, steps):
        # grad . u over the direction's support only: a non-finite gradient entry
        # of another variable must not turn 0 * inf into NaN for this one.
        terms = tf.where(steps != 0, steps * grad[None, :], tf.zeros_like(steps))
        return tf.reduce_sum(terms, axis=-1) / epsilon

    count = num_vars * num_directions
    with _quiet_tracing():
        return _central_differences(cost, theta, count, steps_for, chunk_size, jit_compile, extra=analytic)


def check_gradients(
    target,
    x,
    y=None,
    *,
    loss=None,
    epsilon=1e-7,
    wrt=None,
    mode="full",
    seed=None,
    training=False,
    dtype="float64",
    num_directions=4,
    chunk_size=1024,
    jit_compile="auto",
    call_kwargs=None,
):
    """Compare backpropagated gradients with two-sided finite differences.

    The cost is ``J = loss(y, f(x)) + sum(f.losses)`` (the regularisation losses
    included), or, without `loss` and `y`, ``J = sum(v * f(x)) + sum(f.losses)``
    for a fixed random ``v`` (drawn from `seed`), which checks the whole Jacobian
    projected on ``v``.

    Args:
        target: a Keras layer, a Keras model, or a Python function of `x`.
        x: the input (array, or list/dict of arrays for multi-input targets).
        y: targets for `loss`. Defaults to `None`.
        loss: a Keras loss (object, name or function). Defaults to `None`: the
            compiled loss of a compiled model when `y` is given, else the random
            projection above.
        epsilon: finite-difference step, > 0. Defaults to `1e-7` (the course).
        wrt: ``"weights"`` (trainable variables), ``"inputs"`` (floating-point
            inputs) or ``"both"``. Defaults to `None`: ``"weights"`` for layers and
            models, ``"inputs"`` for functions.
        mode: ``"full"`` (every partial derivative, vectorised) or ``"fast"``
            (`num_directions` random directional derivatives per variable).
            Defaults to `"full"`.
        seed: seed of the random projection and directions. Defaults to `None`.
        training: call the target in training mode. ``False`` checks inference
            (dropout off, batch normalisation on moving statistics); ``True``
            holds the random-seed state fixed, so dropout applies one fixed mask
            and batch normalisation uses batch statistics. Defaults to `False`.
        dtype: ``"float64"`` checks a float64 copy of the target (the user's
            variables keep their values and dtype; the report names them, not
            the copy's); `None` checks the target itself in its own dtype
            (thresholds are then too strict for float32). An unbuilt target is
            first built on `x`, as its first call would build it. Defaults to
            `"float64"`.
        num_directions: directions per variable in ``"fast"`` mode, >= 1.
            Defaults to `4`.
        chunk_size: perturbations evaluated per vectorised call, >= 1.
            Defaults to `1024`.
        jit_compile: ``True``, ``False`` or ``"auto"`` (see `numerical_gradient`).
            Defaults to `"auto"`.
        call_kwargs: extra keyword arguments for the target's call, held fixed
            (e.g. ``{"mask": mask}``). Defaults to `None`.

    Returns:
        A `GradientCheckReport`: ``report.difference``, ``report.passed``
        (difference <= 1e-7), ``report.status`` (``"pass"``, ``"warning"`` up to
        1e-5, ``"fail"``), ``report.per_variable`` (keyed by the paths of the
        target's own variables) and a printable table. A NaN or infinite
        finite difference or gradient is a failure of its variable (see
        `GradientCheckReport`).

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense"),
    ...                           kt.layers.Softmax()], name="classifier")
    >>> x, y = np.random.default_rng(0).random((8, 4)), np.arange(8) % 3
    >>> report = kt.gradcheck.check_gradients(model, x, y, loss="sparse_categorical_crossentropy")
    >>> report.status, report.failing_variables()
    ('pass', [])
    >>> print(report)  # doctest: +ELLIPSIS
    gradient check (full, epsilon=1e-07): difference=... -> pass
    variable                 shape   |analytic|  |numerical|  difference  verdict
    -----------------------  ------  ----------  -----------  ----------  -------
    classifier/dense/kernel  (4, 3)  ...   pass
    classifier/dense/bias    (3,)    ...   pass
    """
    epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
    check_choice("mode", mode, ("full", "fast"))
    seed = check_seed("seed", seed)
    check_bool("training", training)
    if dtype is not None:
        check_choice("dtype", dtype, ("float64", "float32"))
    num_directions = check_int("num_directions", num_directions, low=1)
    chunk_size = check_int("chunk_size", chunk_size, low=1)
    if jit_compile not in (True, False, "auto"):
        raise ValueError(
            f"Argument `jit_compile` must be True, False or 'auto'. Received: jit_compile={jit_compile!r}"
        )

    if training and jit_compile == "auto":
        # XLA's random-number kernels need not draw what TensorFlow's draw from
        # the same seed, and the analytic gradient is not XLA-compiled: keep the
        # dropout mask identical in both by staying off XLA.
        jit_compile = False
    problem = build_problem(target, x, y, loss, wrt, training, dtype, seed, call_kwargs)
    flat = _Flat(problem.names, problem.values)

    def cost(theta):
        return problem.cost(flat.unflatten(theta))

    theta = flat.theta
    with tf.GradientTape() as tape:
        tape.watch(theta)
        value = cost(theta)
    grad = tape.gradient(value, theta)
    grad = np.zeros(theta.shape, np.float64) if grad is None else grad.numpy()

    if mode == "full":
        numerical = _partials(cost, theta, epsilon, chunk_size, jit_compile)
        numerical_by_var = flat.split_numpy(numerical)
        analytic_by_var = flat.split_numpy(grad)
        overall = relative_difference(numerical, grad)
    else:
        var_index = np.repeat(np.arange(len(flat.sizes)), flat.sizes)
        seed_value = np.int64(seed if seed is not None else np.random.randint(2**31))
        numerical, analytic = _directional(
            cost, theta, grad, var_index, len(flat.sizes), num_directions,
            epsilon, seed_value, chunk_size, jit_compile,
        )
        numerical_by_var = dict(zip(flat.names, np.split(numerical, len(flat.names))))
        analytic_by_var = dict(zip(flat.names, np.split(analytic, len(flat.names))))
        overall = relative_difference(numerical, analytic)

    per_variable = {
        name: relative_difference(numerical_by_var[name], analytic_by_var[name]) for name in flat.names
    }
    return GradientCheckReport(
        difference=overall,
        per_variable=per_variable,
        numerical=numerical_by_var,
        analytic=analytic_by_var,
        shapes=dict(zip(flat.names, flat.shapes)),
        mode=mode,
        epsilon=epsilon,
    )


def assert_gradients_close(target, x, y=None, *, threshold=PASS_THRESHOLD, **kwargs):
    """`check_gradients`, raising `AssertionError` with the per-variable table on failure.

    The check fails when the difference exceeds `threshold` or is NaN (a NaN or
    infinite numerical or analytic value); the message names the failing
    variables, and says which hold non-finite values.

    Args:
        target: as for `check_gradients`.
        x: as for `check_gradients`.
        y: as for `check_gradients`. Defaults to `None`.
        **kwargs: the other arguments of `check_gradients`.
        threshold: the largest accepted difference, > 0. Defaults to `1e-7`.

    Returns:
        The `GradientCheckReport` when the check passes.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> report = kt.gradcheck.assert_gradients_close(keras.layers.Dense(3), np.random.default_rng(0).random((4, 5)))
    >>> report.passed
    True
    >>> @tf.custom_gradient
    ... def wrong_square(x):
    ...     return x ** 2, lambda dy: dy * x  # the derivative is 2x, not x
    >>> try:
    ...     kt.gradcheck.assert_gradients_close(wrong_square, np.array([1.0, 2.0]))
    ... except AssertionError as error:
    ...     print(str(error).splitlines()[0])
    Gradient check failed: difference 3.333e-01 > 1e-07; suspect variables: input
    """
    threshold = check_number("threshold", threshold, low=0.0, low_inclusive=False)
    report = check_gradients(target, x, y, **kwargs)
    if not report.difference <= threshold:
        failing = ", ".join(report.failing_variables(threshold))
        if report.non_finite:
            reason = f"non-finite values (NaN/inf) in {', '.join(report.non_finite)}"
        else:
            reason = f"difference {report.difference:.3e} > {threshold:g}"
        raise AssertionError(f"Gradient check failed: {reason}; suspect variables: {failing}\n{report}")
    return report
