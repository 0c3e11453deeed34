"""Callbacks for learning rates: plateau reduction that works with schedules, and logging.

Exported from `kerastools.callbacks`.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerastools._registry import register
from kerastools._validation import check_choice, check_int, check_number
from kerastools.schedules.scaled import ScaledSchedule

_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
# Substrings of metric names that are maximised, for mode="auto".
_MAXIMISED = ("acc", "auc", "precision", "recall", "f1", "iou")
# Marks a summary as a scalar for TensorBoard's "scalars" plugin.
_SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")
).SerializeToString()


def _current_learning_rate(optimizer):
    """`optimizer.learning_rate` (a variable, or a schedule's value) as a float."""
    return float(ops.convert_to_tensor(optimizer.learning_rate).numpy())


def _learning_rate_object(optimizer):
    # Keras exposes no public accessor for the schedule object an optimizer was
    # built with (`optimizer.learning_rate` evaluates it); `_learning_rate` holds
    # it in every Keras 3 release. tests/schedules/test_callbacks.py pins this.
    # A LossScaleOptimizer (mixed precision) forwards its rate to the optimizer it wraps.
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    return getattr(optimizer, "_learning_rate", None)


@register
class ReduceLROnPlateau(keras.callbacks.Callback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving, schedules included.

    After `patience` epochs without an improvement of more than `min_delta`:

    * a constant learning rate ``r`` becomes ``max(r * factor, min_lr)``, as in
      ``keras.callbacks.ReduceLROnPlateau``;
    * a `kerastools.schedules.ScaledSchedule` ``scale * S(g)`` gets
      ``scale <- scale * factor``, limited so that the current rate
      ``scale * S(g)`` does not go below `min_lr`. The schedule keeps its
      shape; later it may still decay below `min_lr` by itself. The new scale
      is saved with the model (see `ScaledSchedule`).

    Any other schedule raises ``TypeError`` when training begins: wrap it,
    ``learning_rate=ScaledSchedule(schedule)``, or pass the `ScaledSchedule`
    nested inside another schedule as `schedule`.

    Every epoch it also writes the learning rate into ``logs["learning_rate"]``,
    before any reduction of that epoch (as Keras's callback does; a
    `LearningRateLogger` placed after it records the reduced rate).

    Note:
        ``mode="auto"`` decides from the name only; Keras's callback also asks
        the compiled metrics for their direction and raises when it cannot
        tell. Pass ``mode`` explicitly for custom metrics.

    Args:
        monitor: the quantity watched. Defaults to `"val_loss"`.
        factor: the multiplier, in (0, 1). Defaults to `0.1`.
        patience: epochs without improvement before a reduction, >= 0.
            Defaults to `10`.
        verbose: 0 silent, 1 prints a line per reduction. Defaults to `0`.
        mode: `"min"`, `"max"` or `"auto"` (`"max"` when the name contains
            acc, auc, precision, recall, f1 or iou, `"min"` otherwise).
            Defaults to `"auto"`.
        min_delta: smallest change that counts as an improvement, >= 0.
            Defaults to `1e-4`.
        cooldown: epochs to wait after a reduction before counting again, >= 0.
            Defaults to `0`.
        min_lr: lower bound on the learning rate a reduction produces, >= 0.
            Defaults to `0.0`.
        schedule: the `ScaledSchedule` to lower. Defaults to `None`: the
            optimizer's learning rate itself.

    Example:

    >>> x = np.ones((16, 3), dtype="float32")
    >>> y = np.zeros((16, 1), dtype="float32")
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> schedule = kt.schedules.ScaledSchedule(kt.schedules.CosineDecay(0.1, decay_steps=10000))
    >>> model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    >>> plateau = kt.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
    ...                                          min_delta=10.0)  # nothing counts as progress
    >>> _ = model.fit(x, y, epochs=3, verbose=0, callbacks=[plateau])
    >>> schedule.scale  # halved after epochs 2 and 3
    0.25
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        schedule=None,
    ):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"Argument `monitor` must be a string. Received: monitor={monitor!r}")
        self.monitor = monitor
        self.factor = check_number("factor", factor, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.patience = check_int("patience", patience, low=0)
        self.verbose = check_int("verbose", verbose, low=0)
        self.mode = check_choice("mode", mode, ("auto", "min", "max"))
        self.min_delta = check_number("min_delta", min_delta, low=0.0)
        self.cooldown = check_int("cooldown", cooldown, low=0)
        self.min_lr = check_number("min_lr", min_lr, low=0.0)
        if schedule is not None and not isinstance(schedule, ScaledSchedule):
            raise TypeError(
                "Argument `schedule` must be a `kerastools.schedules.ScaledSchedule`. "
                f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
            )
        self.schedule = schedule
        maximise = self.mode == "max" or (
            self.mode == "auto" and any(word in monitor.lower() for word in _MAXIMISED)
        )
        self._sign = -1.0 if maximise else 1.0  # compares sign * value: smaller is better
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def _target(self):
        """The `ScaledSchedule` to lower, or `None` for a constant learning rate."""
        if self.schedule is not None:
            return self.schedule
        learning_rate = _learning_rate_object(self.model.optimizer)
        if isinstance(learning_rate, ScaledSchedule):
            return learning_rate
        if isinstance(learning_rate, _LearningRateSchedule) or callable(learning_rate):
            raise TypeError(
                f"ReduceLROnPlateau cannot lower the learning rate {learning_rate!r}: it is a schedule. "
                "Wrap it, `learning_rate=kerastools.schedules.ScaledSchedule(schedule)`, and the "
                "callback will scale it down."
            )
        return None

    def on_train_begin(self, logs=None):
        self._reset()
        self._target()  # fail before the first epoch, not at the first plateau

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _current_learning_rate(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau monitors `{self.monitor}`, which is not in the logs. "
                f"Available: {', '.join(sorted(logs))}.",
                stacklevel=2,
            )
            return
        current = self._sign * float(current)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or current < self.best - self.min_delta:
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch):
        """Lower the rate once; whether anything changed."""
        optimizer = self.model.optimizer
        old = _current_learning_rate(optimizer)
        # float32 comparison: the rate the optimizer sees is float32.
        if not old > np.float32(self.min_lr):
            return False
        target = self._target()
        if target is None:
            new = max(old * self.factor, self.min_lr)
            optimizer.learning_rate = new
        else:
            unscaled = float(ops.convert_to_numpy(target.schedule(optimizer.iterations)))
            floor = self.min_lr / unscaled if unscaled > 0 else 0.0
            scale = max(target.scale * self.factor, floor)
            if not scale < target.scale:
                return False
            target.scale = scale
            new = scale * unscaled
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing the learning rate to {new:.6g}.")
        return True

    def get_config(self):
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "min_delta": self.min_delta,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
        }


@register
class LearningRateLogger(keras.callbacks.Callback):
    """Records the learning rate every epoch: ``logs["learning_rate"]`` and, optionally, TensorBoard.

    The value is ``optimizer.learning_rate`` at the end of the epoch, i.e. the
    schedule evaluated at the optimizer's step count (the rate of the next
    step), as Keras's own callbacks log it. Because `History` runs after the
    callbacks you pass, ``history.history["learning_rate"]`` holds one value
    per epoch.

    Args:
        log_dir: a folder for TensorBoard event files; the scalar is written
            under the tag ``"learning_rate"`` with the epoch as step. Defaults to
            `None` (no TensorBoard output). Keras's `TensorBoard` callback also
            logs the rate (as ``epoch_learning_rate``); this one does not need it.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> schedule = kt.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    >>> model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    >>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0,
    ...                     callbacks=[kt.callbacks.LearningRateLogger(log_dir="logs")])
    >>> np.round(history.history["learning_rate"], 6)  # 0.1 * 0.5 ** (step / 2) after steps 2, 4
    array([0.05 , 0.025])
    >>> import os
    >>> len(os.listdir("logs")) > 0
    True
    """

    def __init__(self, log_dir=None):
        super().__init__()
        if log_dir is not None and not isinstance(log_dir, (str, bytes)) and not hasattr(log_dir, "__fspath__"):
            raise TypeError(f"Argument `log_dir` must be a path or None. Received: log_dir={log_dir!r}")
        self.log_dir = None if log_dir is None else str(log_dir)
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir is not None and self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        rate = _current_learning_rate(self.model.optimizer)
        if logs is not None:
            logs["learning_rate"] = rate
        if self._writer is not None:
            with self._writer.as_default():
                # What `tf.summary.scalar` writes, without needing the tensorboard
                # package installed (TensorFlow 2.21 does not pull it in).
                tf.summary.write("learning_rate", tf.constant(rate, tf.float32), step=epoch, metadata=_SCALAR_METADATA)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        return {"log_dir": self.log_dir}
