"""Hyperparameter search on KerasTuner: search spaces, coarse-to-fine, panda and caviar.

* Search spaces on the course's scales: `learning_rate` and `log_uniform`
  (log-uniform), `beta` (``1 - 10**r``), `epsilon`; `optimizer` and `schedule`
  build kerastools optimizers and learning-rate schedules from a
  `keras_tuner.HyperParameters`, with the priors in `OPTIMIZER_PRIORS` and
  `SCHEDULE_PRIORS`; `hyperparameter_values` reads a trial's values back.
* `CoarseToFine` (and its `CoarseToFineOracle`): random search in rounds that
  zoom in on the best trials.
* `Panda`: one model babysat across sessions, its hyperparameters changed
  between them, with checkpoints and the whole history on disk.
* Caviar: KerasTuner's distributed mode (a chief and workers, set up by
  `caviar_environment`), made to survive a worker that dies mid-trial by
  `fault_tolerant`.
"""

from kerastools.tuning.coarse_to_fine import CoarseToFine
from kerastools.tuning.coarse_to_fine_oracle import CoarseToFineOracle
from kerastools.tuning.fault_tolerance import caviar_environment, fault_tolerant, free_port
from kerastools.tuning.families import OPTIMIZER_PRIORS, SCHEDULE_PRIORS, optimizer, schedule
from kerastools.tuning.panda import Panda
from kerastools.tuning.priors import beta, epsilon, hyperparameter_values, learning_rate, log_uniform

__all__ = [
    "learning_rate",
    "log_uniform",
    "beta",
    "epsilon",
    "optimizer",
    "schedule",
    "hyperparameter_values",
    "OPTIMIZER_PRIORS",
    "SCHEDULE_PRIORS",
    "CoarseToFine",
    "CoarseToFineOracle",
    "Panda",
    "fault_tolerant",
    "caviar_environment",
    "free_port",
]
