"""`HDF5Checkpoint`: resumable checkpoints that keep the last k and the best n."""

import math
import os
import warnings

import keras

from kerastools.saving import _model_files as saving
from kerastools.saving._checkpoint_files import CheckpointRecord, field_names, find_records
from kerastools._registry import register
from kerastools._validation import check_choice, check_int

# Names whose larger values are better, for mode="auto" (as Keras 2 guessed from
# "acc"); anything ending in "loss" or "error" is minimised.
_MAXIMISED = ("acc", "auc", "precision", "recall", "f1", "iou")
_MINIMISED = ("loss", "error", "mse", "mae", "crossentropy")


def _resolve_mode(mode, monitor):
    if mode != "auto":
        return mode
    name = monitor.lower().removeprefix("val_")
    if name.endswith(_MINIMISED):
        return "min"
    if any(word in name for word in _MAXIMISED):
        return "max"
    raise ValueError(
        f"Cannot tell whether `monitor`={monitor!r} should be minimised or maximised; "
        f"pass mode='min' or mode='max'. Received: mode={mode!r}"
    )


@register
class HDF5Checkpoint(keras.callbacks.Callback):
    """Save resumable checkpoints every epoch; keep the last k and the best n.

    Each checkpoint is a complete `kerastools.saving.save_model` file (weights,
    compile config, optimizer slots, iteration count, schedule, loss-scale and
    random-seed states), written atomically, that also records its epoch and
    the monitored value. After `epoch` (0-based) completes the file
    ``filepath.format(epoch=epoch + 1, **logs)`` is written: its `epoch` is the
    number of completed epochs, the `initial_epoch` to resume from.

    Retention after every save: the `keep_last` most recent checkpoints (by
    epoch) and the `keep_best` best ones (by `monitor` in `mode`) are kept; other
    files of the same pattern are deleted, including those of an earlier run
    that is being resumed. Files are found from the pattern, so one directory
    may hold several series with different patterns.

    Args:
        filepath: path pattern with an ``{epoch}`` field and optionally log keys,
            e.g. ``"ckpt/epoch{epoch:03d}-{val_loss:.3f}.h5"``; the suffix
            (``.h5``, ``.hdf5``, ``.keras``) picks the format.
        monitor: the log key ranking checkpoints for `keep_best`. Defaults to
            `"val_loss"`.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (``"min"`` for names ending
            in ``loss``/``error``/``mse``/``mae``/``crossentropy``, ``"max"``
            for names containing ``acc``/``auc``/``precision``/``recall``/
            ``f1``/``iou``). Defaults to `"auto"`.
        keep_last: how many of the most recent checkpoints to keep (>= 1), or
            `None` to keep all. Defaults to `1`.
        keep_best: `True` (keep the best one), `False`/0 (no best-tracking) or
            the number of best checkpoints to keep. Defaults to `False`.
        save_freq: ``"epoch"``, or an integer `n` to save every `n` epochs.
            Unlike `keras.callbacks.ModelCheckpoint` the integer counts epochs,
            not batches: only a checkpoint at an epoch boundary resumes exactly
            with `fit(initial_epoch=...)`. Defaults to `"epoch"`.
        verbose: 1 prints a line per saved and deleted file. Defaults to `0`.

    Example:

    >>> checkpoint = HDF5Checkpoint("ckpt/epoch{epoch:03d}.h5", keep_last=2, keep_best=True)
    >>> record = checkpoint.latest()        # None on the first run
    >>> if record is None:
    ...     model, initial_epoch = build_model(), 0
    ... else:
    ...     model, initial_epoch = kerastools.saving.load_model(record.path), record.epoch
    >>> model.fit(x, y, validation_data=(xv, yv), epochs=20,
    ...           initial_epoch=initial_epoch, callbacks=[checkpoint])

    Note:
        Resuming reproduces an uninterrupted run exactly when the data order of
        each epoch does not depend on the process: ``shuffle=False``, or
        `kerastools.data.mini_batches(..., as_dataset=True, initial_epoch=...)`
        whose order depends only on the seed and the epoch. ``fit(shuffle=True)``
        on arrays draws a new order in every process.
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", keep_last=1, keep_best=False, save_freq="epoch", verbose=0):
        super().__init__()
        filepath = os.fspath(filepath)
        saving._suffix(filepath)
        if "epoch" not in field_names(filepath):
            raise ValueError(
                "Argument `filepath` must contain an '{epoch}' field (one file per epoch is "
                f"what the retention rules choose among). Received: filepath={filepath!r}"
            )
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"Argument `monitor` must be a non-empty string. Received: monitor={monitor!r}")
        check_choice("mode", mode, ("auto", "min", "max"))
        self.keep_last = check_int("keep_last", keep_last, low=1, allow_none=True)
        if isinstance(keep_best, bool):
            keep_best = int(keep_best)
        self.keep_best = check_int("keep_best", keep_best, low=0)
        if save_freq == "epoch":
            self._every = 1
        elif isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq >= 1:
            self._every = save_freq
        else:
            raise ValueError(f"Argument `save_freq` must be 'epoch' or an integer >= 1 (epochs). Received: save_freq={save_freq!r}")
        self.filepath, self.monitor, self.mode = filepath, monitor, mode
        self.save_freq = save_freq
        self.verbose = check_int("verbose", verbose, low=0)
        # Resolved now so that a bad monitor fails before training, not after an epoch.
        self._mode = _resolve_mode(mode, monitor) if self.keep_best else None
        self._records = {}
        self._warned_missing = False

    def get_config(self):
        return {
            "filepath": self.filepath,
            "monitor": self.monitor,
            "mode": self.mode,
            "keep_last": self.keep_last,
            "keep_best": self.keep_best,
            "save_freq": self.save_freq,
            "verbose": self.verbose,
        }

    def latest(self):
        """The `CheckpointRecord` with the highest epoch for this pattern, or `None`."""
        return saving.latest_checkpoint(self.filepath)

    def checkpoints(self):
        """Every checkpoint of this pattern on disk, sorted by epoch."""
        return sorted(find_records(self.filepath), key=lambda r: r.epoch)

    def on_train_begin(self, logs=None):
        # Files of a run being resumed take part in the retention rules.
        self._records = {os.path.abspath(r.path): r for r in find_records(self.filepath)}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self._every:
            return
        strategy = getattr(self.model, "distribute_strategy", None)
        if strategy is not None and not strategy.extended.should_checkpoint:
            # A multi-worker tf.distribute run: every worker holds the same
            # weights and runs this callback; only the chief writes and prunes,
            # so the workers never race on the same files.
            return
        logs = dict(logs or {})
        value = logs.get(self.monitor)
        value = None if value is None else float(value)
        if value is None and self.keep_best and not self._warned_missing:
            self._warned_missing = True
            warnings.warn(
                f"HDF5Checkpoint: `monitor`={self.monitor!r} is not in the logs (available: "
                f"{sorted(logs)}); checkpoints without it cannot rank as best.",
                stacklevel=2,
            )
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise ValueError(
                f"Argument `filepath` uses the field {err.args[0]!r}, which is not in the logs "
                f"(available: {sorted(logs)}). Received: filepath={self.filepath!r}"
            ) from None
        info = {"epoch": epoch + 1, "monitor": self.monitor, "value": value, "mode": self._mode}
        saving._write(self.model, path, checkpoint=info)
        if self.verbose:
            print(f"Epoch {epoch + 1}: HDF5Checkpoint saved {path}")
        self._records[os.path.abspath(path)] = CheckpointRecord(path, epoch + 1, self.monitor, value, self._mode)
        self._prune()

    def _kept(self):
        records = sorted(self._records.values(), key=lambda r: r.epoch)
        keep = set()
        if self.keep_last is None:
            keep.update(r.path for r in records)
        else:
            keep.update(r.path for r in records[-self.keep_last :])
        if self.keep_best:
            ranked = [r for r in records if r.value is not None and math.isfinite(r.value)]
            sign = 1.0 if self._mode == "min" else -1.0
            # Ties go to the earlier epoch: a later equal value is no improvement.
            ranked.sort(key=lambda r: (sign * r.value, r.epoch))
            keep.update(r.path for r in ranked[: self.keep_best])
        return keep

    def _prune(self):
        keep = {os.path.abspath(p) for p in self._kept()}
        for key in list(self._records):
            if key in keep:
                continue
            path = self._records.pop(key).path
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            if self.verbose:
                print(f"HDF5Checkpoint deleted {path}")
