"""`BackupAndRestore`: resume a multi-worker `fit` after a worker was killed."""

import os

import keras

from kerastools._registry import register
from kerastools._validation import check_bool
from kerastools.saving import _model_files
from kerastools.saving._checkpoint_files import read_record

BACKUP_NAME = "backup.h5"


def is_chief(model):
    """Whether this process writes files for `model`: the chief of a
    multi-worker strategy (`should_checkpoint`), or any process without one."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy is None or bool(strategy.extended.should_checkpoint)


@register
class BackupAndRestore(keras.callbacks.Callback):
    """Back up the training state every epoch; a restarted `fit` continues from it.

    Keras's `keras.callbacks.BackupAndRestore` does the same for one process,
    but under `MultiWorkerMirroredStrategy` every worker writes the same
    ``latest.weights.h5`` in place (a race, and a torn file if a worker is
    killed while writing), and its weights file leaves out the random-seed
    states of dropout layers, so a resumed run draws other masks. This callback

    * writes only on the chief (the workers hold the same weights), with
      `kerastools.saving` (weights, optimizer slots and step count, seed
      states, the completed epoch), atomically: a kill at any moment leaves
      the previous backup intact;
    * on `on_train_begin`, on every worker, loads the backup if there is one
      and makes `fit` start at its epoch (as Keras's callback does, through
      the model's initial epoch), so the whole cluster restarted with the
      same command continues where the last completed epoch left off;
    * deletes the backup when training completes (`delete_backup`).

    Work lost by a kill: the epoch in progress. The resumed run equals an
    uninterrupted one exactly when each epoch's data order depends only on
    the epoch: build the data with ``initial_epoch=callback.latest_epoch()``,
    e.g. `kerastools.data.mini_batches(..., as_dataset=True, initial_epoch=...)`.

    Args:
        backup_dir: folder of the backup (shared by all workers: the chief
            writes it, every worker reads it).
        delete_backup: remove the backup after a completed `fit`. Defaults to `True`.

    Example:

    On every worker of a cluster (each with its ``TF_CONFIG``); not run as a
    doctest, since it needs the other workers: `tests/distribute` runs it on
    local worker processes.

    >>> restore = kt.distribute.BackupAndRestore("run/backup")  # doctest: +SKIP
    >>> data = kt.data.mini_batches(x, y, 64, seed=0, as_dataset=True,
    ...                             initial_epoch=restore.latest_epoch())  # doctest: +SKIP
    >>> model.fit(data, epochs=10, callbacks=[restore])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, delete_backup=True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"Argument `backup_dir` must be a non-empty path. Received: backup_dir={backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        if os.path.exists(self.backup_dir) and not os.path.isdir(self.backup_dir):
            raise ValueError(f"Argument `backup_dir` is a file, not a folder. Received: backup_dir={self.backup_dir!r}")
        self.delete_backup = check_bool("delete_backup", delete_backup)
        self.path = os.path.join(self.backup_dir, BACKUP_NAME)

    def get_config(self):
        return {"backup_dir": self.backup_dir, "delete_backup": self.delete_backup}

    def latest_epoch(self):
        """The number of epochs the backup completed (0 without a backup)."""
        if not os.path.exists(self.path):
            return 0
        return read_record(self.path).epoch

    def on_train_begin(self, logs=None):
        if not os.path.exists(self.path):
            return
        saved = _model_files.load_model(self.path)
        model = self.model
        if len(saved.variables) != len(model.variables):
            raise ValueError(
                f"The backup {self.path!r} holds a model with {len(saved.variables)} variables; the model "
                f"being trained has {len(model.variables)}. Delete the backup to start afresh."
            )
        for target, value in zip(model.variables, saved.variables):
            target.assign(value)  # weights, batch-norm statistics and seed states
        if model.optimizer is not None:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)  # the call `fit` makes
            for target, value in zip(model.optimizer.variables, saved.optimizer.variables):
                target.assign(value)
        # The attribute Keras's own BackupAndRestore sets; `fit` starts there.
        model._initial_epoch = read_record(self.path).epoch

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief(self.model):
            return
        loss = (logs or {}).get("loss")
        info = {"epoch": epoch + 1, "monitor": "loss", "value": None if loss is None else float(loss), "mode": None}
        _model_files._write(self.model, self.path, checkpoint=info)

    def on_train_end(self, logs=None):
        if self.delete_backup and is_chief(self.model) and os.path.exists(self.path):
            os.remove(self.path)
