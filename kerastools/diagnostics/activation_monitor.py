"""`ActivationMonitor`: activation statistics and histograms per layer during `fit`."""

import keras
import tensorflow as tf

from kerastools.diagnostics import _common
from kerastools.diagnostics.activation_statistics import (
    activation_name,
    _has_inputs,
    build_extractor,
    check_layers,
    check_statistics_args,
    resolve_layers,
    statistics_from_activations,
)
from kerastools._registry import register
from kerastools._validation import check_bool, check_int


@register
class ActivationMonitor(keras.callbacks.Callback):
    """Per-layer activation statistics and histograms on a fixed batch during `fit`.

    Every `freq` epochs it runs the model on the sample batch `x` and records,
    for each chosen layer, what `activation_statistics` computes (mean, std,
    fraction saturated, fraction zero, fraction of dead units, histogram). With
    `log_dir`, it also writes them for TensorBoard: a histogram
    ``activations/<layer>`` and scalars ``activations/<layer>/<statistic>`` at
    step `epoch` (0-based, as Keras's TensorBoard callback).

    Args:
        x: a fixed sample batch of inputs (e.g. 256 training examples).
        layers: layer names or layers; `None` for every hidden layer with a
            non-linear activation. Defaults to `None`.
        freq: record after every `freq`-th epoch. Defaults to `1`.
        training: forward pass in training mode (dropout on, batch statistics);
            the model's moving statistics and seed states are restored, so
            training goes on exactly as without the monitor. Defaults to `False`.
        bins: number of histogram bins. Defaults to `30`.
        histogram_range: ``(low, high)``, or `None` for the activation's range
            when bounded, else the data's. Defaults to `None`.
        saturation_tolerance: distance to a bound counted as saturated, in
            [0, 0.5). Defaults to `0.01`.
        max_saturated_fraction: flag a layer ``saturated`` above this fraction.
            Defaults to `0.25`.
        max_dead_fraction: flag a layer ``dead`` above this fraction of dead
            units. Defaults to `0.25`.
        log_dir: folder for TensorBoard event files, or `None`. Defaults to `None`.
        verbose: 0 prints nothing; 1 prints the table of an epoch where a layer
            is saturated or dead or has non-finite activations; 2 prints it every
            recorded epoch. Defaults to `0`.

    Attributes:
        records: one `ActivationReport` per recorded epoch of the latest `fit`.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> x_train = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    >>> y_train = (x_train.sum(axis=1) > 0).astype("float32")
    >>> model = keras.Sequential([
    ...     keras.Input((4,)),
    ...     keras.layers.Dense(8, activation="tanh", name="hidden"),
    ...     keras.layers.Dense(1, activation="sigmoid", name="out"),
    ... ])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy")
    >>> monitor = kt.callbacks.ActivationMonitor(x_train[:32], freq=2, log_dir="logs/activations")
    >>> _ = model.fit(x_train, y_train, epochs=4, verbose=0, callbacks=[monitor])
    >>> [r.epoch for r in monitor.records]  # every second epoch, 0-based
    [1, 3]
    >>> list(monitor.records[-1].layers), monitor.records[-1].saturated_layers
    (['hidden'], [])

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
        layers=None,
        freq=1,
        training=False,
        bins=30,
        histogram_range=None,
        saturation_tolerance=0.01,
        max_saturated_fraction=0.25,
        max_dead_fraction=0.25,
        log_dir=None,
        verbose=0,
    ):
        super().__init__()
        self.x = _common.sample_batch("x", x)
        self.layers = check_layers(layers)
        self.freq = _common.check_freq(freq)
        self.training = check_bool("training", training)
        self._options = check_statistics_args(
            bins, histogram_range, saturation_tolerance, max_saturated_fraction, max_dead_fraction
        )
        self.log_dir = _common.check_log_dir(log_dir)
        self.verbose = check_int("verbose", verbose, low=0, high=2)
        self.records = []
        self._forward = None
        self._traced_for = None
        self._writer = None

    def on_train_begin(self, logs=None):
        self.records = []
        if self._traced_for is not self.model and _has_inputs(self.model):
            self._prepare()  # now, so that a wrong layer name fails before training
        if self.log_dir is not None:
            self._writer = _common.SummaryWriter(self.log_dir)

    def _prepare(self):
        # A Sequential model without `keras.Input` gets its inputs during the first
        # batch, so this may have to wait for the first epoch's end.
        chosen = resolve_layers(self.model, self.layers, self.x)
        self._names = {layer.name: activation_name(layer) for layer in chosen}
        extractor = build_extractor(self.model, chosen)
        # Compiled once for the fixed batch, as Keras's own predict function is;
        # an eager call repeats every layer's Python-level work each epoch. A
        # later `fit` of the same model reuses it.
        self._forward = tf.function(lambda x: extractor(x, training=self.training))
        self._traced_for = self.model

    def on_epoch_end(self, epoch, logs=None):
        if not _common.is_due(epoch, self.freq):
            return
        if self._traced_for is not self.model:
            self._prepare()
        with _common.state_preserved(self.model, self.training):
            outputs = self._forward(self.x)
        activations = {name: keras.ops.convert_to_numpy(outputs[name]) for name in self._names}
        report = statistics_from_activations(activations, self._names, self._options, epoch)
        self.records.append(report)
        if self._writer is not None:
            self._write(report, epoch)
        problem = report.saturated_layers or report.dead_layers or any(s.fraction_nonfinite > 0 for s in report)
        if self.verbose == 2 or (self.verbose == 1 and problem):
            print(report)

    def _write(self, report, step):
        fields = ("mean", "std", "fraction_zero", "fraction_dead", "fraction_saturated")
        scalars = [
            (f"activations/{s.layer}/{field}", getattr(s, field))
            for s in report
            for field in fields
            if getattr(s, field) is not None
        ]
        histograms = [(f"activations/{s.layer}", s.histogram, s.bin_edges) for s in report]
        self._writer.write(step, scalars, histograms)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        return {
            "x": _common.serialize_batch(self.x),
            "layers": None if self.layers is None else list(self.layers),
            "freq": self.freq,
            "training": self.training,
            **self._options,
            "histogram_range": None if self._options["histogram_range"] is None else list(self._options["histogram_range"]),
            "log_dir": self.log_dir,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["x"] = _common.deserialize_batch(config["x"])
        return cls(**config)
