"""`GradientNormMonitor`: per-layer gradient norms on a fixed batch during `fit`."""

import keras
import tensorflow as tf

from kerastools.diagnostics import _common
from kerastools.diagnostics.gradient_statistics import (
    check_loss,
    check_thresholds,
    make_norm_function,
    report_from_norms,
)
from kerastools._registry import register
from kerastools._validation import check_bool, check_int


@register
class GradientNormMonitor(keras.callbacks.Callback):
    """Gradient norms per variable and per layer on a fixed batch, flagging
    vanishing and exploding gradients.

    Every `freq` epochs it computes what `gradient_norms` computes on the sample
    batch ``(x, y)`` with the current weights (the weights are not changed) and
    keeps the `GradientNormReport`. With `log_dir` it writes the scalars
    ``gradient_norm/<variable path>``, ``gradient_norm_layer/<layer>`` and
    ``gradient_norm/first_last_ratio`` for TensorBoard at step `epoch`.

    Args:
        x: the inputs of a fixed sample batch (e.g. 256 training examples).
        y: their targets. Defaults to `None`.
        loss: `None` for the compiled loss, or a loss name/object/callable.
            Defaults to `None`.
        freq: record after every `freq`-th epoch. Defaults to `1`.
        training: forward pass in training mode (dropout on, batch statistics);
            the model's moving statistics and seed states are restored, so
            training goes on exactly as without the monitor. Defaults to `False`.
        vanishing_threshold: a variable's norm below it is vanishing (>= 0, or
            `None`). Defaults to `1e-7`.
        exploding_threshold: a variable's norm above it is exploding (> 0, or
            `None`). Defaults to `1e3`.
        ratio_threshold: first/last layer norm ratio below ``1 / ratio_threshold``
            is vanishing, above `ratio_threshold` exploding (>= 1, or `None`).
            Defaults to `1e3`.
        log_dir: folder for TensorBoard event files, or `None`. Defaults to `None`.
        verbose: 0 prints nothing; 1 prints the table of an epoch where
            gradients vanish or explode (non-finite norms included); 2 prints it
            every recorded epoch. Defaults to `0`.

    Attributes:
        records: one `GradientNormReport` per recorded epoch of the latest `fit`.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> x_train = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    >>> y_train = x_train.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                           keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> monitor = kt.callbacks.GradientNormMonitor(x_train[:32], y_train[:32], freq=2)
    >>> _ = model.fit(x_train, y_train, epochs=4, verbose=0, callbacks=[monitor])
    >>> [(r.epoch, r.verdict) for r in monitor.records]
    [(1, 'ok'), (3, 'ok')]

    Note:
        The three monitors (`ActivationMonitor`, `GradientNormMonitor`,
        `BiasVarianceMonitor`) share one rule for `verbose`, as Keras's callbacks
        that report events (``EarlyStopping``, ``ReduceLROnPlateau``): 0 prints
        nothing, 1 prints a recorded epoch's report only when it finds a problem
        (so a healthy model prints nothing), 2 prints every recorded epoch's
        report. The records are kept whatever `verbose` is.
    """

    def __init__(
        self,
        x,
        y=None,
        loss=None,
        freq=1,
        training=False,
        vanishing_threshold=1e-7,
        exploding_threshold=1e3,
        ratio_threshold=1e3,
        log_dir=None,
        verbose=0,
    ):
        super().__init__()
        self.x = _common.sample_batch("x", x)
        self.y = _common.sample_batch("y", y, allow_none=True)
        check_loss(loss)
        self.loss = loss
        self.freq = _common.check_freq(freq)
        self.training = check_bool("training", training)
        self._thresholds = check_thresholds(vanishing_threshold, exploding_threshold, ratio_threshold)
        self.log_dir = _common.check_log_dir(log_dir)
        self.verbose = check_int("verbose", verbose, low=0, high=2)
        self.records = []
        self._compute = None
        self._traced_for = None
        self._writer = None

    def on_train_begin(self, logs=None):
        self.records = []
        # A later `fit` of the same model, compiled with the same loss, reuses the trace.
        key = (self.model, getattr(self.model, "loss", None))
        if self._traced_for is None or any(a is not b for a, b in zip(key, self._traced_for)):
            # Traced once for the fixed batch; eager execution would redo the
            # Python-level work of every layer at each call.
            self._compute = tf.function(make_norm_function(self.model, self.loss, self.training))
            self._traced_for = key
        if self.log_dir is not None:
            self._writer = _common.SummaryWriter(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        if not _common.is_due(epoch, self.freq):
            return
        with _common.state_preserved(self.model, self.training):
            value, norms = self._compute(self.x, self.y)
        report = report_from_norms(self.model, value, norms, self._thresholds, epoch)
        self.records.append(report)
        if self._writer is not None:
            scalars = [(f"gradient_norm/{name}", n) for name, n in report.variable_norms.items()]
            scalars += [(f"gradient_norm_layer/{name}", n) for name, n in report.layer_norms.items()]
            if report.first_last_ratio is not None:
                scalars.append(("gradient_norm/first_last_ratio", report.first_last_ratio))
            self._writer.write(epoch, scalars)
        if self.verbose == 2 or (self.verbose == 1 and report.verdict != "ok"):
            print(report)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        loss = self.loss
        if loss is not None and not isinstance(loss, str):
            loss = keras.saving.serialize_keras_object(loss)
        return {
            "x": _common.serialize_batch(self.x),
            "y": _common.serialize_batch(self.y),
            "loss": loss,
            "freq": self.freq,
            "training": self.training,
            **self._thresholds,
            "log_dir": self.log_dir,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["x"] = _common.deserialize_batch(config["x"])
        config["y"] = _common.deserialize_batch(config["y"])
        if isinstance(config["loss"], dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
