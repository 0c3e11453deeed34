"""kerastools.callbacks bias/variance: the course's four verdicts, logs, fit, errors."""

import csv

import keras
import numpy as np
import pytest

from kerastools.diagnostics import BiasVarianceDiagnosis, BiasVarianceMonitor, diagnose_bias_variance
from tests.diagnostics import reference as ref
from tests.conformance import assert_config_round_trip

# The course's table (week 1, "Bias / Variance"): train and dev error of four cat classifiers.
COURSE_CASES = [
    (0.15, 0.16, "high bias"),
    (0.005, 0.01, "good"),
    (0.01, 0.11, "high variance"),
    (0.15, 0.30, "high bias and high variance"),
]


@pytest.mark.parametrize("train_error, dev_error, verdict", COURSE_CASES)
def test_the_course_table_gives_its_four_verdicts(train_error, dev_error, verdict):
    d = diagnose_bias_variance(train_error, dev_error)
    bias, variance, expected = ref.bias_variance(train_error, dev_error, 0.0, 0.05, 0.05)
    assert d.verdict == expected == verdict
    assert d.avoidable_bias == pytest.approx(bias, abs=1e-15)
    assert d.variance == pytest.approx(variance, abs=1e-15)
    assert (d.high_bias, d.high_variance) == ("bias" in verdict, "variance" in verdict)
    assert isinstance(d, BiasVarianceDiagnosis) and d.epoch is None


def test_baseline_error_turns_bias_into_avoidable_bias():
    # Blurry images: even people err 15% of the time, so 15% / 16% is good.
    assert diagnose_bias_variance(0.15, 0.16, baseline_error=0.15).verdict == "good"
    d = diagnose_bias_variance(0.15, 0.16, baseline_error=0.05)
    assert d.verdict == "high bias" and d.avoidable_bias == pytest.approx(0.10)


def test_tolerances_decide_and_are_strict():
    assert diagnose_bias_variance(0.05, 0.10).verdict == "good"  # exactly at the tolerance
    assert diagnose_bias_variance(0.05, 0.10, variance_tolerance=0.049).verdict == "high variance"
    assert diagnose_bias_variance(0.05, 0.10, bias_tolerance=0.0).verdict == "high bias"
    both = diagnose_bias_variance(0.05, 0.10, bias_tolerance=0.0, variance_tolerance=0.0)
    assert both.verdict == "high bias and high variance"


def test_advice_follows_the_course_recipe():
    assert diagnose_bias_variance(0.005, 0.01).advice == ()
    bias = diagnose_bias_variance(0.15, 0.16).advice
    variance = diagnose_bias_variance(0.01, 0.11).advice
    both = diagnose_bias_variance(0.15, 0.30).advice
    assert "a bigger network" in bias and "more training data" not in bias
    assert "more training data" in variance and "a bigger network" not in variance
    assert set(both) == set(bias) | set(variance) and len(both) == len(set(both))
    assert "try: a bigger network" in str(diagnose_bias_variance(0.15, 0.16))


@pytest.mark.parametrize("train_error, dev_error, verdict", COURSE_CASES)
def test_monitor_on_hand_made_logs(train_error, dev_error, verdict):
    monitor = BiasVarianceMonitor(metric="accuracy")
    logs = {"loss": 0.3, "accuracy": 1 - train_error, "val_loss": 0.4, "val_accuracy": 1 - dev_error}
    monitor.on_train_begin()
    monitor.on_epoch_end(0, logs)
    assert monitor.verdict == verdict and monitor.records[0].epoch == 0
    assert logs["avoidable_bias"] == pytest.approx(train_error, abs=1e-12)
    assert logs["variance"] == pytest.approx(dev_error - train_error, abs=1e-12)
    assert logs["high_bias"] == float("bias" in verdict)
    assert logs["high_variance"] == float("variance" in verdict)
    assert all(type(v) is float for v in logs.values())  # numbers only: TensorBoard-safe


def test_error_metrics_losses_and_prefix():
    monitor = BiasVarianceMonitor(baseline_error=0.1, metric="loss", bias_tolerance=0.2, prefix="bv_")
    assert monitor.mode == "auto"
    logs = {"loss": 0.5, "val_loss": 0.53}
    monitor.on_epoch_end(3, logs)  # loss is used as the error itself
    assert monitor.records[0].avoidable_bias == pytest.approx(0.4)
    assert monitor.verdict == "high bias" and monitor.records[0].epoch == 3
    assert logs["bv_variance"] == pytest.approx(0.03) and "variance" not in logs
    forced = BiasVarianceMonitor(metric="score", mode="max")
    forced.on_epoch_end(0, {"score": 0.98, "val_score": 0.7})
    assert forced.records[0].train_error == pytest.approx(0.02) and forced.verdict == "high variance"


def test_a_fit_without_epochs_is_not_an_error():
    monitor = BiasVarianceMonitor()
    monitor.on_train_begin()
    monitor.on_train_end()  # e.g. resuming with initial_epoch == epochs
    assert monitor.records == [] and monitor.verdict is None


def test_epochs_without_validation_are_skipped():
    monitor = BiasVarianceMonitor()
    logs = {"loss": 0.3, "accuracy": 0.9}
    monitor.on_epoch_end(0, logs)  # validation_freq=2: nothing to compare with
    monitor.on_epoch_end(1, {**logs, "val_loss": 0.3, "val_accuracy": 0.88})
    assert [r.epoch for r in monitor.records] == [1] and "variance" not in logs


def _digits_split():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return (x[:300], y[:300]), (x[1500:], y[1500:])


def _classifier(seed=0, units=32, dropout=0.0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def test_fit_with_validation_history_csv_and_early_stopping(tmp_path, capsys):
    (x, y), dev = _digits_split()
    monitor = BiasVarianceMonitor(baseline_error=0.0, verbose=2)
    stop = keras.callbacks.EarlyStopping(monitor="variance", mode="min", patience=100)
    log = tmp_path / "log.csv"
    history = _classifier().fit(
        x, y, validation_data=dev, epochs=3, batch_size=64, verbose=0,
        callbacks=[monitor, stop, keras.callbacks.CSVLogger(str(log))],
    )
    assert len(monitor.records) == 3
    for epoch, record in enumerate(monitor.records):
        train_error = 1 - history.history["accuracy"][epoch]
        dev_error = 1 - history.history["val_accuracy"][epoch]
        assert record.train_error == pytest.approx(train_error, abs=1e-12)
        assert history.history["variance"][epoch] == pytest.approx(dev_error - train_error, abs=1e-12)
        assert history.history["avoidable_bias"][epoch] == pytest.approx(train_error, abs=1e-12)
    rows = list(csv.DictReader(log.open()))
    assert float(rows[-1]["variance"]) == pytest.approx(history.history["variance"][-1], rel=1e-6)
    assert capsys.readouterr().out.count("BiasVarianceMonitor epoch") == 3


def test_progress_bar_accepts_the_log_entries(capsys):
    (x, y), dev = _digits_split()
    _classifier().fit(x, y, validation_data=dev, epochs=1, verbose=1, callbacks=[BiasVarianceMonitor()])
    assert "variance:" in capsys.readouterr().out


def test_train_data_measures_the_final_weights_in_inference_mode(monkeypatch):
    from kerastools.diagnostics import bias_variance

    monkeypatch.setattr(bias_variance, "_EVALUATION_CHUNK", 150)  # one step for 100, `evaluate` for 200
    (x, y), dev = _digits_split()
    model = _classifier(dropout=0.5)
    monitor = BiasVarianceMonitor(train_data=(x[:200], y[:200]))
    small = BiasVarianceMonitor(train_data=(x[:100], y[:100]))
    history = model.fit(x, y, validation_data=dev, epochs=2, verbose=0, callbacks=[monitor, small])
    predicted = np.argmax(model.predict(x[:200], verbose=0), axis=1)
    assert monitor.records[-1].train_error == pytest.approx(np.mean(predicted != y[:200]), abs=1e-6)
    assert monitor.records[-1].dev_error == pytest.approx(1 - history.history["val_accuracy"][-1], abs=1e-12)
    for n, m in [(200, monitor), (100, small)]:
        evaluated = model.evaluate(x[:n], y[:n], verbose=0, return_dict=True)["accuracy"]
        assert m.records[-1].train_error == pytest.approx(1 - evaluated, abs=1e-7)
    # Evaluating inside `fit` leaves training untouched: same run without the monitor.
    alone = _classifier(dropout=0.5).fit(x, y, validation_data=dev, epochs=2, verbose=0)
    assert alone.history["loss"] == history.history["loss"]
    assert alone.history["accuracy"] == history.history["accuracy"]


def test_unknown_metric_and_missing_validation_are_clear_errors():
    (x, y), dev = _digits_split()
    with pytest.raises(ValueError, match=r"'f1' and 'val_f1' must both be in the logs; .* among \['accuracy', 'loss'\]. Received: metric='f1'"):
        _classifier().fit(x, y, validation_data=dev, epochs=1, verbose=0, callbacks=[BiasVarianceMonitor(metric="f1")])
    with pytest.raises(ValueError, match="found no 'val_accuracy' in any epoch's logs: pass `validation_data`"):
        _classifier().fit(x, y, epochs=1, verbose=0, callbacks=[BiasVarianceMonitor()])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"metric": "val_accuracy"}, ValueError, r"`metric` must be the name of a training metric .* Received: metric='val_accuracy'"),
        ({"metric": 3}, ValueError, "Received: metric=3"),
        ({"mode": "up"}, ValueError, r"`mode` must be one of 'auto', 'max', 'min'. Received: mode='up'"),
        ({"baseline_error": -0.1}, ValueError, r"`baseline_error` must be in \[0, 1\]. Received: baseline_error=-0.1"),
        ({"baseline_error": 2.0}, ValueError, r"`baseline_error` must be in \[0, 1\]"),
        ({"bias_tolerance": -1}, ValueError, r"`bias_tolerance` must be >= 0. Received: bias_tolerance=-1.0"),
        ({"variance_tolerance": "x"}, TypeError, "`variance_tolerance` must be a real number"),
        ({"train_data": np.zeros((2, 3))}, TypeError, r"`train_data` must be None or a tuple \(x, y\)"),
        ({"prefix": "val_x"}, ValueError, "`prefix` must be a string not starting with 'val_'. Received: prefix='val_x'"),
        ({"verbose": 3}, ValueError, r"`verbose` must be an integer in \[0, 2\]. Received: verbose=3"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        BiasVarianceMonitor(**kwargs)


def test_bad_errors_for_the_function():
    with pytest.raises(TypeError, match="`train_error` must be a real number"):
        diagnose_bias_variance("0.1", 0.2)
    with pytest.raises(ValueError, match=r"`baseline_error` must be >= 0. Received: baseline_error=-1.0"):
        diagnose_bias_variance(0.1, 0.2, baseline_error=-1)


def test_baseline_above_one_is_fine_for_losses():
    assert BiasVarianceMonitor(metric="loss", baseline_error=2.0).baseline_error == 2.0


def test_config_round_trip():
    assert_config_round_trip(BiasVarianceMonitor(0.02, "loss", "min", 0.1, 0.2, prefix="p_", verbose=1))
    with_data = BiasVarianceMonitor(train_data=(np.ones((2, 3), "float32"), np.array([0, 1])))
    clone = assert_config_round_trip(with_data)
    np.testing.assert_array_equal(clone.train_data[0], with_data.train_data[0])
    assert clone.train_data[1].dtype == with_data.train_data[1].dtype
