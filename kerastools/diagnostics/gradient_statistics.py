"""Gradient norms per variable and per layer on a batch: vanishing and exploding gradients."""

import inspect
import math

import keras
import tensorflow as tf

from kerastools.diagnostics import _common
from kerastools.diagnostics.records import GradientNormReport
from kerastools._validation import check_bool, check_number


def check_thresholds(vanishing_threshold, exploding_threshold, ratio_threshold):
    return dict(
        vanishing_threshold=check_number("vanishing_threshold", vanishing_threshold, low=0.0, allow_none=True),
        exploding_threshold=check_number(
            "exploding_threshold", exploding_threshold, low=0.0, low_inclusive=False, allow_none=True
        ),
        ratio_threshold=check_number("ratio_threshold", ratio_threshold, low=1.0, allow_none=True),
    )


def check_loss(loss):
    if loss is None:
        return None
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError):
        raise ValueError(
            f"Argument `loss` must be None, a Keras loss name, a loss object or a "
            f"callable(y_true, y_pred). Received: loss={loss!r}"
        ) from None


def _norm(gradient):
    """``||g||_2`` in float64 (a float32 gradient of 1e20 must not overflow when
    squared), computed where the gradient lives: only a scalar leaves the device."""
    if isinstance(gradient, tf.IndexedSlices):
        gradient = tf.convert_to_tensor(gradient)
    return tf.sqrt(tf.reduce_sum(tf.square(tf.cast(gradient, tf.float64))))


def make_norm_function(model, loss=None, training=False):
    """A function ``(x, y) -> (loss, [||dJ/dW||_2 for W in model.trainable_variables])``.

    Without `loss` the model's compiled loss is used (``model.compute_loss``, which
    adds ``model.losses``); with it, ``mean(loss(y, model(x))) + sum(model.losses)``.
    """
    loss_fn = check_loss(loss)
    if loss_fn is None and not getattr(model, "compiled", False):
        raise ValueError(
            "Gradient norms need a loss: compile the model, or pass `loss=` "
            f"(e.g. loss='mse'). Received: loss=None for an uncompiled model {model.name!r}"
        )
    compute_loss_takes_training = (
        loss_fn is None and "training" in inspect.signature(model.compute_loss).parameters
    )

    def compute(x, y):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=training)
            if loss_fn is not None:
                value = keras.ops.mean(loss_fn(y, y_pred))
                for extra in model.losses:
                    value = value + keras.ops.cast(keras.ops.sum(extra), value.dtype)
            elif compute_loss_takes_training:
                value = model.compute_loss(x=x, y=y, y_pred=y_pred, training=training)
            else:
                value = model.compute_loss(x=x, y=y, y_pred=y_pred)
        gradients = tape.gradient(value, model.trainable_variables)
        # A variable the loss does not depend on has gradient None: its norm is 0.
        norms = [tf.zeros((), tf.float64) if g is None else _norm(g) for g in gradients]
        return value, norms

    return compute


def report_from_norms(model, loss_value, norms, thresholds, epoch=None):
    """Per-layer grouping and flags for the gradient norms of `model`'s variables."""
    variables = model.trainable_variables
    norms = {v.path: float(keras.ops.convert_to_numpy(n)) for v, n in zip(variables, norms)}
    owner = {}
    for layer in model.layers:
        for v in layer.trainable_variables:
            owner.setdefault(id(v), layer.name)
    squares = {}
    for v in variables:
        name = owner.get(id(v), model.name)
        squares[name] = squares.get(name, 0.0) + norms[v.path] ** 2
    layer_norms = {name: math.sqrt(total) for name, total in squares.items()}
    ratio = None
    if len(layer_norms) >= 2:
        first, last = list(layer_norms.values())[0], list(layer_norms.values())[-1]
        if last > 0:
            ratio = first / last
        elif first > 0:
            ratio = math.inf
    vanishing_threshold = thresholds["vanishing_threshold"]
    exploding_threshold = thresholds["exploding_threshold"]
    ratio_threshold = thresholds["ratio_threshold"]
    vanishing = tuple(
        name for name, n in norms.items() if vanishing_threshold is not None and n < vanishing_threshold
    )
    exploding = tuple(
        name
        for name, n in norms.items()
        if not math.isfinite(n) or (exploding_threshold is not None and n > exploding_threshold)
    )
    ratio_low = ratio is not None and ratio_threshold is not None and ratio < 1.0 / ratio_threshold
    ratio_high = ratio is not None and ratio_threshold is not None and ratio > ratio_threshold
    return GradientNormReport(
        loss=float(keras.ops.convert_to_numpy(loss_value)),
        variable_norms=norms,
        layer_norms=layer_norms,
        first_last_ratio=ratio,
        vanishing_variables=vanishing,
        exploding_variables=exploding,
        vanishing=bool(vanishing) or ratio_low,
        exploding=bool(exploding) or ratio_high,
        epoch=epoch,
    )


def gradient_norms(
    model,
    x,
    y=None,
    *,
    loss=None,
    training=False,
    vanishing_threshold=1e-7,
    exploding_threshold=1e3,
    ratio_threshold=1e3,
):
    """Gradient norms of the loss on a batch, per variable and per layer, without `fit`.

    For every trainable variable ``W``, ``||dJ/dW||_2`` of the loss ``J`` on
    ``(x, y)``; per layer, the norm of all its variables' gradients together.
    Backpropagation multiplies by every layer's weights and activation
    derivatives, so gradients shrink or grow geometrically towards the input:
    the ratio of the first to the last layer's norm measures it.

    * **vanishing**: some variable's norm < `vanishing_threshold`, or
      ``first / last < 1 / ratio_threshold``;
    * **exploding**: some variable's norm is NaN/inf or > `exploding_threshold`,
      or ``first / last > ratio_threshold``.

    Args:
        model: a Keras model (any kind); compiled, or pass `loss`.
        x: the inputs of the batch.
        y: its targets; `None` for models whose loss needs no target.
            Defaults to `None`.
        loss: `None` for the compiled loss (``model.compute_loss``, including
            ``model.losses``), or a loss name/object/callable: then ``J =
            mean(loss(y, model(x))) + sum(model.losses)``. Defaults to `None`.
        training: forward pass in training mode (dropout on, batch statistics);
            the model's moving statistics and seed states are restored
            afterwards. Defaults to `False`.
        vanishing_threshold: a norm below it is vanishing; >= 0, or `None` to disable. Defaults to `1e-7`.
        exploding_threshold: a norm above it is exploding; > 0, or `None` to disable. Defaults to `1e3`.
        ratio_threshold: the largest accepted first/last ratio (or its
            inverse), >= 1, or `None` to disable the ratio test. Defaults to `1e3`.

    Returns:
        A `GradientNormReport`; ``print(report)`` shows the per-variable table.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> tiny = kt.initializers.ScaledNormal(stddev=0.01, seed=0)  # the course's randn * 0.01
    >>> model = keras.Sequential(
    ...     [keras.Input((100,))]
    ...     + [keras.layers.Dense(100, activation="sigmoid", kernel_initializer=tiny) for _ in range(5)]
    ...     + [keras.layers.Dense(10, activation="softmax")])
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((256, 100)), rng.integers(0, 10, 256)
    >>> report = kt.diagnostics.gradient_norms(model, x, y, loss="sparse_categorical_crossentropy")
    >>> report.verdict, f"{report.first_last_ratio:.0e}"
    ('vanishing', '1e-07')
    """
    thresholds = check_thresholds(vanishing_threshold, exploding_threshold, ratio_threshold)
    x = _common.sample_batch("x", x)
    y = _common.sample_batch("y", y, allow_none=True)
    training = check_bool("training", training)
    compute = make_norm_function(model, loss, training)
    with _common.state_preserved(model, training):
        value, norms = compute(x, y)
    return report_from_norms(model, value, norms, thresholds)
