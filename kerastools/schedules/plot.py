"""Plot a learning-rate schedule (matplotlib is an optional dependency)."""

import numpy as np
import tensorflow as tf
from keras import ops

from kerastools.schedules._base import Schedule, check_schedule


def evaluate(schedule, steps):
    """The schedule's rate at each of `steps`, as a float64 NumPy array.

    kerastools schedules are element-wise and get all steps at once; any other
    schedule is mapped over the steps one by one inside a `tf.function`.
    """
    steps = np.asarray(steps, dtype=np.float64)
    if isinstance(schedule, Schedule):
        values = schedule(ops.convert_to_tensor(steps))
    else:
        # Keras's schedules assume a scalar step (CosineDecay branches with a cond).
        @tf.function
        def mapped(x):
            return tf.map_fn(lambda s: tf.cast(schedule(s), tf.float32), x, fn_output_signature=tf.float32)

        values = mapped(tf.constant(steps))
    return np.asarray(ops.convert_to_numpy(values), dtype=np.float64)


def plot(schedule, steps, *, ax=None, label=None, log_scale=False):
    """Draw the learning rate of `schedule` against the optimizer step.

    Args:
        schedule: any `keras.optimizers.schedules.LearningRateSchedule`.
        steps: an int ``n`` (steps ``0 ... n - 1``) or a sequence of steps.
        ax: a matplotlib ``Axes`` to draw on, e.g. to compare several schedules
            in one figure. Defaults to `None`: a new ``Figure`` with one ``Axes``.
        label: legend label of the curve. Defaults to `None`: the schedule's
            class name.
        log_scale: whether the rate axis is logarithmic. Defaults to `False`.

    Returns:
        The ``matplotlib.figure.Figure`` holding the plot. It is built without
        pyplot, so it works with any backend (and none): save it with
        ``fig.savefig("lr.png")``.

    Raises:
        ImportError: matplotlib is not installed (``pip install kerastools[plot]``).

    Example:

    >>> from kerastools import schedules
    >>> fig = schedules.plot(schedules.ExponentialDecay(0.1, 100, 0.5, staircase=True), 500,
    ...                      label="exponential")
    >>> fig = schedules.plot(schedules.NaturalExpDecay(0.1, 100, 0.5), 500, ax=fig.axes[0],
    ...                      label="natural exp")
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['exponential', 'natural exp']
    >>> fig.savefig("decay.png")
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "`kerastools.schedules.plot` needs matplotlib, an optional dependency: "
            "install it with `pip install matplotlib` or `pip install kerastools[plot]`."
        ) from error
    check_schedule("schedule", schedule)
    if isinstance(steps, (int, np.integer)):
        if steps < 1:
            raise ValueError(f"Argument `steps` must be >= 1 when an integer. Received: steps={steps!r}")
        steps = np.arange(steps)
    steps = np.asarray(steps, dtype=np.float64)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"Argument `steps` must be an int or a non-empty 1-D sequence. Received: steps={steps!r}")
    rates = evaluate(schedule, steps)
    if ax is None:
        fig = Figure(figsize=(6.0, 4.0))
        ax = fig.add_subplot()
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.grid(True, alpha=0.3)
    ax.plot(steps, rates, label=label or getattr(schedule, "name", None) or type(schedule).__name__)
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    return ax.figure
