"""Multi-worker training with `tf.distribute`: Keras's own `fit`, checkpoints that resume.

* `multi_worker_strategy`: a `tf.distribute.MultiWorkerMirroredStrategy`
  (checked ``TF_CONFIG``, bounded start-up and collective timeouts) under which
  `model.fit`, `evaluate` and `predict` work, with Keras and kerastools
  components alike.
* `parse_tf_config`: the ``TF_CONFIG`` check it applies.
* `BackupAndRestore`: Keras's fault-tolerance callback, with only the chief
  writing (atomically) so that a restarted cluster resumes from its last epoch.
* `sharded_hdf5_dataset`: every worker streams only its share of an HDF5 file.
* `LocalCluster`: N local worker processes of one script (examples, tests).
* `WORK_AROUNDS`: the Keras defects worked around, with their upstream issues.

Note:
    This package is the one place of kerastools allowed to touch Keras
    internals: `kerastools.distribute._keras_fixes` wraps two private
    functions of Keras's TensorFlow trainer (the only import of Keras's
    private package in the library; see its docstring), and `BackupAndRestore`
    sets the model's initial epoch as Keras's own BackupAndRestore does.
    `multi_worker_strategy` configures TensorFlow's coordination service
    through ``tensorflow.python.eager.context`` to bound the start-up wait.
"""

from kerastools.distribute._keras_fixes import UPSTREAM as WORK_AROUNDS
from kerastools.distribute.backup import BackupAndRestore
from kerastools.distribute.data import sharded_hdf5_dataset
from kerastools.distribute._keras_fixes import installed_work_arounds, needed_work_arounds
from kerastools.distribute.local import LocalCluster, free_ports, tf_config
from kerastools.distribute.strategy import multi_worker_strategy, parse_tf_config

__all__ = [
    "multi_worker_strategy",
    "parse_tf_config",
    "BackupAndRestore",
    "sharded_hdf5_dataset",
    "LocalCluster",
    "free_ports",
    "tf_config",
    "needed_work_arounds",
    "installed_work_arounds",
    "WORK_AROUNDS",
]
