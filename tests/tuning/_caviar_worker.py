"""One process of the caviar test: ``python -m tests.tuning._caviar_worker PROJECT MARKERS``.

The role (chief or worker) comes from KerasTuner's ``KERASTUNER_*`` variables.
Each worker writes ``MARKERS/<tuner_id>-<trial_id>`` when a trial starts; the
worker named by ``CAVIAR_HANG`` then blocks inside its first trial until the test
kills it, so it dies mid-trial at a known point. The chief writes
``PROJECT/summary.json`` when its search returns.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402

from kerastools import tuning  # noqa: E402
from tests.tuning.models import build_digits_model, digits_subset  # noqa: E402

MAX_TRIALS = 4
TRIAL_TIMEOUT = 2.0
HEARTBEAT_INTERVAL = 0.4


class MarkedRandomSearch(keras_tuner.RandomSearch):
    def run_trial(self, trial, *args, **kwargs):
        markers = os.environ["CAVIAR_MARKERS"]
        with open(os.path.join(markers, f"{self.tuner_id}-{trial.trial_id}"), "w") as handle:
            handle.write(str(os.getpid()))
        if os.environ.get("CAVIAR_HANG") == self.tuner_id:
            time.sleep(3600)  # killed here by the test, mid-trial
        return super().run_trial(trial, *args, **kwargs)


def main(project, markers):
    os.environ["CAVIAR_MARKERS"] = markers
    (x, y), (x_dev, y_dev) = digits_subset()
    tuner = MarkedRandomSearch(
        build_digits_model,
        objective="val_accuracy",
        max_trials=MAX_TRIALS,
        seed=0,
        directory=project,
        project_name="caviar",
    )
    tuning.fault_tolerant(tuner, trial_timeout=TRIAL_TIMEOUT, heartbeat_interval=HEARTBEAT_INTERVAL)
    tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=1, batch_size=64, verbose=0)
    if tuner.tuner_id == "chief":
        oracle = tuner.oracle
        summary = {
            "statuses": {t.trial_id: t.status for t in oracle.trials.values()},
            "end_order": oracle.end_order,
            "expired_trials": oracle.expired_trials,
            "dropped_reports": oracle.dropped_reports,
            "best": tuning.hyperparameter_values(tuner.get_best_hyperparameters()[0]),
        }
        with open(os.path.join(project, "summary.json"), "w") as handle:
            json.dump(summary, handle)
    keras.backend.clear_session()
    print(f"{tuner.tuner_id} done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
