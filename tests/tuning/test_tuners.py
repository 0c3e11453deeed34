"""KerasTuner's tuners and CoarseToFine search models built from kerastools components;
the best model saves to and reloads from `.h5` through `kerastools.saving`."""

import keras
import keras_tuner
import numpy as np
import pytest

import kerastools as kt
from kerastools import tuning
from tests.tuning.models import build_digits_model, digits_subset

TUNERS = {
    "random": lambda **kw: keras_tuner.RandomSearch(build_digits_model, max_trials=2, **kw),
    "hyperband": lambda **kw: keras_tuner.Hyperband(build_digits_model, max_epochs=2, factor=2, hyperband_iterations=1, **kw),
    "bayesian": lambda **kw: keras_tuner.BayesianOptimization(build_digits_model, max_trials=3, num_initial_points=2, **kw),
    "coarse_to_fine": lambda **kw: tuning.CoarseToFine(build_digits_model, max_trials=4, rounds=2, **kw),
}


@pytest.fixture(scope="module")
def data():
    return digits_subset()


# `get_best_models` loads a trial's checkpoint (weights and optimizer) into a freshly
# built model whose optimizer has no variables yet; Keras warns and loads the
# weights, which is all that `get_best_models` promises.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning")
@pytest.mark.parametrize("name", sorted(TUNERS))
def test_search_and_reload_best_model_from_h5(name, data, tmp_path):
    (x, y), (x_dev, y_dev) = data
    tuner = TUNERS[name](objective="val_accuracy", seed=1, directory=str(tmp_path), project_name=name)
    tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=1, batch_size=64, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert trials and all(t.status == "COMPLETED" for t in trials)
    assert all(np.isfinite(t.score) for t in trials)
    best_hp = tuner.get_best_hyperparameters()[0]
    assert best_hp.values["optimizer"] in ("adam", "momentum")
    assert best_hp.values["schedule"] in ("constant", "inverse_time")

    (best,) = tuner.get_best_models(1)
    assert any(isinstance(layer, kt.layers.Softmax) for layer in best.layers)
    assert isinstance(best.optimizer, (kt.Adam, kt.Momentum))
    expected = best.predict(x_dev, verbose=0)
    path = tmp_path / "best.h5"
    kt.saving.save_model(best, path)
    restored = kt.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(x_dev, verbose=0), expected)
    assert type(restored.optimizer) is type(best.optimizer)
    # The reloaded model trains on (its compile configuration came back with it).
    restored.fit(x, y, epochs=1, batch_size=64, verbose=0)


def test_retrained_best_model_keeps_its_schedule_in_h5(data, tmp_path):
    """Rebuild the best configuration, train it, save it: the schedule and the
    optimizer state survive the `.h5` round trip and training resumes exactly."""
    (x, y), (x_dev, y_dev) = data
    hp = keras_tuner.HyperParameters()
    build_digits_model(hp)
    hp.values.update({"schedule": "inverse_time", "optimizer": "momentum", "inverse_time/decay_rate": 0.5, "momentum/1-beta": 0.05})
    hp.ensure_active_values()
    keras.utils.set_random_seed(0)
    model = build_digits_model(hp)
    model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    kt.saving.save_model(model, tmp_path / "m.h5")
    restored = kt.saving.load_model(tmp_path / "m.h5")
    assert isinstance(restored.optimizer._learning_rate, kt.schedules.InverseTimeDecay)
    assert restored.optimizer.beta == pytest.approx(0.95)
    model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    restored.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
