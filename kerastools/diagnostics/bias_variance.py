"""Bias and variance from training vs dev error, against a baseline (human/Bayes) error."""

import dataclasses

import keras

from kerastools.diagnostics.records import BiasVarianceDiagnosis
from kerastools.diagnostics._common import deserialize_batch, sample_batch, serialize_batch
from kerastools._registry import register
from kerastools._validation import check_choice, check_int, check_number

HIGH_BIAS = "high bias"
HIGH_VARIANCE = "high variance"
BOTH = "high bias and high variance"
GOOD = "good"

# The course's basic recipe (week 1, "Basic recipe for machine learning").
_BIAS_ADVICE = ("a bigger network", "train longer", "another optimisation algorithm", "another architecture")
_VARIANCE_ADVICE = ("more training data", "regularisation (L2, dropout)", "another architecture")

_MODES = ("auto", "max", "min")
# Entries put into the epoch logs; all numbers, so History, CSVLogger,
# ProgbarLogger and TensorBoard can all take them (a string breaks the last two).
LOG_KEYS = ("avoidable_bias", "variance", "high_bias", "high_variance")
# Largest `train_data` measured in one compiled test step (and batch size beyond).
_EVALUATION_CHUNK = 1024


def diagnose_bias_variance(
    train_error, dev_error, baseline_error=0.0, *, bias_tolerance=0.05, variance_tolerance=0.05
):
    """The course's bias/variance verdict from training and dev errors.

    ``avoidable_bias = train_error - baseline_error`` and
    ``variance = dev_error - train_error``; the bias is high when
    ``avoidable_bias > bias_tolerance``, the variance when
    ``variance > variance_tolerance``, giving one of four verdicts:
    ``"high bias"`` (under-fitting), ``"high variance"`` (over-fitting),
    ``"high bias and high variance"`` or ``"good"``.

    Args:
        train_error: error on the training set (e.g. ``1 - accuracy``).
        dev_error: error on the dev set.
        baseline_error: human-level / Bayes (optimal) error, >= 0. Defaults to `0.0`.
        bias_tolerance: largest acceptable avoidable bias, >= 0. Defaults to `0.05`.
        variance_tolerance: largest acceptable train/dev gap, >= 0. Defaults to `0.05`.

    Returns:
        A `BiasVarianceDiagnosis` (its ``advice`` lists the course's remedies).

    Example:

    >>> diagnose_bias_variance(0.01, 0.11).verdict      # the course's third case
    'high variance'
    >>> diagnose_bias_variance(0.15, 0.16, baseline_error=0.15).verdict   # blurry images
    'good'
    """
    train_error = check_number("train_error", train_error)
    dev_error = check_number("dev_error", dev_error)
    baseline_error = check_number("baseline_error", baseline_error, low=0.0)
    bias_tolerance = check_number("bias_tolerance", bias_tolerance, low=0.0)
    variance_tolerance = check_number("variance_tolerance", variance_tolerance, low=0.0)
    avoidable_bias = train_error - baseline_error
    variance = dev_error - train_error
    high_bias = avoidable_bias > bias_tolerance
    high_variance = variance > variance_tolerance
    verdict = {(True, True): BOTH, (True, False): HIGH_BIAS, (False, True): HIGH_VARIANCE}.get(
        (high_bias, high_variance), GOOD
    )
    advice = (_BIAS_ADVICE if high_bias else ()) + tuple(
        a for a in (_VARIANCE_ADVICE if high_variance else ()) if not (high_bias and a in _BIAS_ADVICE)
    )
    return BiasVarianceDiagnosis(
        train_error=train_error,
        dev_error=dev_error,
        baseline_error=baseline_error,
        avoidable_bias=avoidable_bias,
        variance=variance,
        high_bias=high_bias,
        high_variance=high_variance,
        verdict=verdict,
        advice=advice,
    )


def resolve_mode(metric, mode):
    """``"max"`` (an accuracy-like score, error = 1 - score) or ``"min"`` (an error)."""
    if mode != "auto":
        return mode
    return "max" if "acc" in metric else "min"


@register
class BiasVarianceMonitor(keras.callbacks.Callback):
    """Diagnoses bias and variance after every epoch, as in the course.

    With ``e_train`` the training error, ``e_dev`` the dev error and ``e_*`` the
    baseline (human-level / Bayes) error::

        avoidable_bias = e_train - e_*          # high when > bias_tolerance
        variance       = e_dev - e_train        # high when > variance_tolerance

    The errors come from `metric`: ``logs[metric]`` for the training set (or
    the metric measured on `train_data`) and ``logs["val_" + metric]`` for the dev
    set. An accuracy-like metric (``mode="max"``) gives ``error = 1 - value``; an
    error or loss (``mode="min"``) is used as it is.

    Each diagnosed epoch adds four **numbers** to the epoch logs, seen by every
    callback after this one in the list (History, CSVLogger, TensorBoard,
    ``EarlyStopping(monitor="variance", mode="min")``; the mode must be given, as
    Keras cannot infer it for a name it does not know): ``avoidable_bias``,
    ``variance``, ``high_bias`` and ``high_variance`` (1.0 or 0.0), each prefixed
    by `prefix`. The verdict string
    (``"high bias"``, ``"high variance"``, ``"high bias and high variance"``,
    ``"good"``) is kept in `records` and printed according to `verbose`, never put
    into `logs`: Keras's progress bar averages every log entry and TensorBoard
    writes each as a scalar, and both fail on a string.

    Args:
        baseline_error: human-level / Bayes error e_*, >= 0 (in [0, 1] for
            ``mode="max"``). Defaults to `0.0`.
        metric: name of the compiled metric (or ``"loss"``) the errors come from.
            Defaults to `"accuracy"`.
        mode: ``"max"`` when `metric` is a score such as accuracy (error =
            1 - value), ``"min"`` when it is an error or a loss, ``"auto"`` for
            ``"max"`` when the name contains ``"acc"``. Defaults to `"auto"`.
        bias_tolerance: largest acceptable avoidable bias, >= 0. Defaults to `0.05`.
        variance_tolerance: largest acceptable train/dev gap, >= 0. Defaults to `0.05`.
        train_data: `None` to take the training error from the logs, or ``(x, y)``
            arrays to measure it at the end of each epoch in inference mode, as
            ``model.evaluate(x, y)`` would. Defaults to `None`.
        prefix: prepended to the names of the entries put into the logs (must not
            start with ``"val_"``). Defaults to `""`.
        verbose: 0 prints nothing; 1 prints the diagnosis of an epoch whose
            verdict is not ``"good"`` (high bias and/or high variance); 2 prints
            it every diagnosed epoch. Defaults to `0`.

    Attributes:
        records: one `BiasVarianceDiagnosis` per diagnosed epoch of the latest `fit`.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((40, 20)).astype("float32"), rng.integers(0, 2, 40)
    >>> x_dev, y_dev = rng.standard_normal((40, 20)).astype("float32"), rng.integers(0, 2, 40)
    >>> model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
    ...                           keras.layers.Dense(2, activation="softmax")])
    >>> model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> monitor = kt.callbacks.BiasVarianceMonitor(baseline_error=0.01, metric="accuracy", train_data=(x, y))
    >>> history = model.fit(x, y, validation_data=(x_dev, y_dev), epochs=30, verbose=0, callbacks=[monitor])
    >>> monitor.records[-1].verdict  # random labels: learned by heart, not generalised
    'high variance'
    >>> len(history.history["variance"])  # the train/dev gap, per epoch
    30

    Note:
        Keras's ``logs[metric]`` is the running average over the epoch's batches
        while the weights change (and with dropout active), not the error of the
        final weights on the training set that the course compares. It is a
        slightly pessimistic estimate; pass `train_data` (for example a subset of
        the training set of the size of the dev set) for the course's quantity.
        Epochs without validation (``validation_freq > 1``) are not diagnosed.

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
        baseline_error=0.0,
        metric="accuracy",
        mode="auto",
        bias_tolerance=0.05,
        variance_tolerance=0.05,
        train_data=None,
        prefix="",
        verbose=0,
    ):
        super().__init__()
        if not isinstance(metric, str) or not metric or metric.startswith("val_"):
            raise ValueError(
                f"Argument `metric` must be the name of a training metric such as "
                f"'accuracy' or 'loss' (without 'val_'). Received: metric={metric!r}"
            )
        self.metric = metric
        self.mode = check_choice("mode", mode, _MODES)
        high = 1.0 if resolve_mode(metric, mode) == "max" else None
        self.baseline_error = check_number("baseline_error", baseline_error, low=0.0, high=high)
        self.bias_tolerance = check_number("bias_tolerance", bias_tolerance, low=0.0)
        self.variance_tolerance = check_number("variance_tolerance", variance_tolerance, low=0.0)
        if train_data is not None and (not isinstance(train_data, (tuple, list)) or len(train_data) != 2):
            raise TypeError(
                f"Argument `train_data` must be None or a tuple (x, y). "
                f"Received: train_data={train_data!r:.80} of type {type(train_data).__name__}"
            )
        self.train_data = None if train_data is None else tuple(
            sample_batch(f"train_data[{i}]", part) for i, part in enumerate(train_data)
        )
        if not isinstance(prefix, str) or prefix.startswith("val_"):
            # TensorBoard sends every "val_*" entry to the validation run.
            raise ValueError(f"Argument `prefix` must be a string not starting with 'val_'. Received: prefix={prefix!r}")
        self.prefix = prefix
        self.verbose = check_int("verbose", verbose, low=0, high=2)
        self.records = []
        self._epochs_seen = 0

    def _error(self, value):
        value = float(value)
        return 1.0 - value if resolve_mode(self.metric, self.mode) == "max" else value

    def on_train_begin(self, logs=None):
        self.records = []
        self._epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        self._epochs_seen += 1
        if not any(key.startswith("val_") for key in logs):
            return  # no validation in this epoch (validation_freq > 1)
        dev_key = "val_" + self.metric
        if self.metric not in logs or dev_key not in logs:
            raise ValueError(self._missing(logs))
        train_value = logs[self.metric] if self.train_data is None else self._evaluate_train_data()
        diagnosis = diagnose_bias_variance(
            self._error(train_value),
            self._error(logs[dev_key]),
            self.baseline_error,
            bias_tolerance=self.bias_tolerance,
            variance_tolerance=self.variance_tolerance,
        )
        diagnosis = dataclasses.replace(diagnosis, epoch=epoch)
        self.records.append(diagnosis)
        values = (diagnosis.avoidable_bias, diagnosis.variance, diagnosis.high_bias, diagnosis.high_variance)
        for key, value in zip(LOG_KEYS, values):
            logs[self.prefix + key] = float(value)
        if self.verbose == 2 or (self.verbose == 1 and diagnosis.verdict != GOOD):
            print(f"BiasVarianceMonitor {diagnosis}")

    def _evaluate_train_data(self):
        """`metric` on `train_data` with the current weights, in inference mode.

        Up to `_EVALUATION_CHUNK` examples go through `model.test_on_batch`, which
        runs Keras's compiled test step as `evaluate` does but without building a
        new input pipeline at each call (about 50 times faster on small sets);
        larger sets go through `model.evaluate` in batches of that size.
        """
        x, y = self.train_data
        if len(keras.tree.flatten(x)[0]) <= _EVALUATION_CHUNK:
            results = self.model.test_on_batch(x, y, return_dict=True)
        else:
            results = self.model.evaluate(x, y, batch_size=_EVALUATION_CHUNK, verbose=0, return_dict=True)
        return results[self.metric]

    def on_train_end(self, logs=None):
        if self._epochs_seen and not self.records:
            raise ValueError(
                f"BiasVarianceMonitor found no 'val_{self.metric}' in any epoch's logs: "
                f"pass `validation_data` (or `validation_split`) to `fit`."
            )

    def _missing(self, logs):
        return (
            f"BiasVarianceMonitor: {self.metric!r} and 'val_{self.metric}' must both be in the "
            f"logs; compile the model with that metric or choose `metric` among "
            f"{sorted(k for k in logs if not k.startswith('val_'))}. Received: metric={self.metric!r}"
        )

    @property
    def verdict(self):
        """The latest verdict, or `None` before the first diagnosed epoch."""
        return self.records[-1].verdict if self.records else None

    def get_config(self):
        return {
            "baseline_error": self.baseline_error,
            "metric": self.metric,
            "mode": self.mode,
            "bias_tolerance": self.bias_tolerance,
            "variance_tolerance": self.variance_tolerance,
            "train_data": None if self.train_data is None else serialize_batch(list(self.train_data)),
            "prefix": self.prefix,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["train_data"] = deserialize_batch(config["train_data"])
        return cls(**config)
