"""`HDF5Checkpoint`: resumable checkpoints that keep the last k and the best n."""

import os
import uuid
import warnings
import zlib

import keras
import numpy as np

from kerastools.saving import _model_files as saving
from kerastools.saving._checkpoint_files import (
    CheckpointRecord,
    Pattern,
    _plain_value,
    _read_quietly,
    _warn,
    find_records,
    newest,
    retained,
    scan,
)
from kerastools._registry import register
from kerastools._validation import check_choice, check_int

# Names whose larger values are better, for mode="auto" (as Keras 2 guessed from
# "acc"); anything ending in "loss" or "error" is minimised.
_MAXIMISED = ("acc", "auc", "precision", "recall", "f1", "iou")
_MINIMISED = ("loss", "error", "mse", "mae", "crossentropy")
_LISTED = 10  # foreign files named in an error message


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


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def _listing(names):
    shown = ", ".join(repr(n) for n in names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


@register
class HDF5Checkpoint(keras.callbacks.Callback):
    """Save resumable checkpoints every epoch; keep the last k and the best n of this series.

    Each checkpoint is a complete `kerastools.saving.save_model` file (weights,
    compile config, optimizer slots, iteration count, schedule, loss-scale and
    random-seed states), written atomically, that also records its epoch, the
    monitored value and who wrote it. After `epoch` (0-based) completes the file
    ``filepath.format(epoch=epoch + 1, **logs)`` is written: its `epoch` is the
    number of completed epochs, the `initial_epoch` to resume from.

    **Series.** The files one run writes form a *series*, named by a random
    identifier stored in each file with the write sequence number, the optimizer
    step count and the values formatted into the name. A run *continues* a series
    when it starts from one of its checkpoints: ``initial_epoch`` equals the
    checkpoint's epoch, and the optimizer's iteration count and the weights (bit
    for bit) equal the stored ones, as after loading it, or when `series` names
    it. Otherwise it starts a new series. One callback object is one series:
    another `fit` with it continues the series.

    **Retention** after every save, among the files of this series only: the
    `keep_last` most recently written and, for each (monitor, mode) the series
    was trained under, the `keep_best` best by that monitor are kept; the file
    just written is always kept. A series deletes only files that (1) have a name
    that `filepath` formats exactly (every field reads back to the same text:
    ``e03.h5`` belongs to ``e{epoch:02d}.h5``, ``e3.h5``, ``e003.h5`` and
    ``e03_keep.h5`` do not), (2) carry its identifier and (3) hold the values
    that format to their own name (a copy under another name does not). Each
    file is read again just before it is deleted. A deletion that fails (permissions,
    immutable file) is a warning: the file stays, training goes on.

    **A used directory.** Files with names of this pattern that the run does not
    own (another run's checkpoints, a model saved under such a name, junk) make
    the run fail before its first epoch with `FileExistsError` naming the
    directory and the files, unless ``existing="keep"``: then the run writes a
    new series beside them, never deletes or overwrites them, and `latest()`
    reports this series' newest checkpoint once training has started.

    Args:
        filepath: path pattern with an ``{epoch}`` field and optionally log keys,
            e.g. ``"ckpt/epoch{epoch:03d}-{val_loss:.3f}.h5"``; fields may appear
            in the file name only; the suffix (``.h5``, ``.hdf5``, ``.keras``)
            picks the format.
        monitor: the log key ranking checkpoints for `keep_best`. Defaults to
            `"val_loss"`.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (``"min"`` for names ending
            in ``loss``/``error``/``mse``/``mae``/``crossentropy``, ``"max"``
            for names containing ``acc``/``auc``/``precision``/``recall``/
            ``f1``/``iou``). Defaults to `"auto"`.
        keep_last: how many of the most recently written checkpoints of the
            series to keep (>= 1), or `None` to keep all. Defaults to `1`.
        keep_best: `True` (keep the best one), `False`/0 (no best-tracking) or
            the number of best checkpoints to keep. Defaults to `False`.
        save_freq: ``"epoch"``, or an integer `n` to save every `n` epochs.
            Unlike `keras.callbacks.ModelCheckpoint` the integer counts epochs,
            not batches: only a checkpoint at an epoch boundary resumes exactly
            with `fit(initial_epoch=...)`. Defaults to `"epoch"`.
        verbose: 1 prints a line per saved and deleted file. Defaults to `0`.
        existing: what to do when the directory holds files named by `filepath`
            that this run does not own: ``"error"`` (raise `FileExistsError`
            before the first epoch) or ``"keep"`` (leave them alone and start a
            new series beside them; a planned name already taken still raises).
            Defaults to `"error"`.
        series: the identifier of a series to continue (``record.series`` of one
            of its checkpoints), or `None` to continue the series of the
            checkpoint the run starts from, if any. Defaults to `None`.

    Raises:
        ValueError: a bad argument (the message names it and the value); a log
            field missing from the logs.
        FileExistsError: the directory holds files of this pattern that the run
            does not own (``existing="error"``), or a name to be written is taken
            by such a file.

    Example:

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> x = np.linspace(-1, 1, 32, dtype="float32").reshape(16, 2)
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> pattern = os.path.join(folder, "e{epoch:02d}.h5")
    >>> checkpoint = kt.callbacks.HDF5Checkpoint(pattern, monitor="loss", keep_last=2)
    >>> print(checkpoint.latest())
    None
    >>> _ = model.fit(x, y, epochs=3, verbose=0, callbacks=[checkpoint])
    >>> sorted(os.listdir(folder))
    ['e02.h5', 'e03.h5']
    >>> checkpoint = kt.callbacks.HDF5Checkpoint(pattern, monitor="loss", keep_last=2)
    >>> record = checkpoint.latest()
    >>> record.epoch
    3
    >>> model = kt.saving.load_model(record.path)
    >>> _ = model.fit(x, y, epochs=5, initial_epoch=record.epoch, verbose=0, callbacks=[checkpoint])
    >>> sorted(os.listdir(folder))
    ['e04.h5', 'e05.h5']

    Note:
        Resuming reproduces an uninterrupted run exactly when the data order of
        each epoch does not depend on the process: ``shuffle=False``, or
        `kerastools.data.mini_batches(..., as_dataset=True, initial_epoch=...)`
        whose order depends only on the seed and the epoch. ``fit(shuffle=True)``
        on arrays draws a new order in every process.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        mode="auto",
        keep_last=1,
        keep_best=False,
        save_freq="epoch",
        verbose=0,
        existing="error",
        series=None,
    ):
        super().__init__()
        filepath = os.fspath(filepath)
        saving._suffix(filepath)
        self._pattern = Pattern(filepath)
        if "epoch" not in self._pattern.fields:
            raise ValueError(
                "Argument `filepath` must contain an '{epoch}' field (one file per epoch is "
                f"what the retention rules choose among). Received: filepath={filepath!r}"
            )
        self._check_readable_names(filepath)
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
        check_choice("existing", existing, ("error", "keep"))
        if series is not None and (not isinstance(series, str) or not series):
            raise TypeError(f"Argument `series` must be a non-empty string or None. Received: series={series!r}")
        self.filepath, self.monitor, self.mode = filepath, monitor, mode
        self.save_freq, self.existing, self.series = save_freq, existing, series
        self.verbose = check_int("verbose", verbose, low=0)
        # Resolved now so that a bad monitor fails before training, not after an
        # epoch. Stored in every file (when known) so that a later run that ranks
        # by the same monitor and mode can rank these files too.
        if self.keep_best:
            self._mode = _resolve_mode(mode, monitor)
        else:
            try:
                self._mode = _resolve_mode(mode, monitor)
            except ValueError:
                self._mode = None
        self._series = series  # fixed at the start of the first fit
        self._records = {}  # absolute path -> CheckpointRecord, files of this series
        self._sequence = 0
        self._started = False
        self._warned_missing = False

    def _check_readable_names(self, filepath):
        # A name the series could not read back would be a file it can never
        # find again (to prune it, or to resume from it): refuse such formats now.
        name, error = None, None
        for sample in (0.1234567, -3.5, 1234.5, 12):
            values = {field: sample for field in self._pattern.fields if field != "epoch"}
            try:
                name = self._pattern.name(12, values)
            except ValueError as err:  # e.g. {loss:d} formats ints only: try the next sample
                error = err
                continue
            if self._pattern.parse(name) is not None:
                return
        if name is None:
            raise error
        raise ValueError(
            "Argument `filepath` formats file names that cannot be read back into their "
            f"fields (e.g. {name!r}); use plain numeric formats such as {{epoch:03d}} or "
            f"{{val_loss:.4f}}. Received: filepath={filepath!r}"
        )

    def get_config(self):
        return {
            "filepath": self.filepath,
            "monitor": self.monitor,
            "mode": self.mode,
            "keep_last": self.keep_last,
            "keep_best": self.keep_best,
            "save_freq": self.save_freq,
            "verbose": self.verbose,
            "existing": self.existing,
            "series": self.series,
        }

    def _mine(self, records):
        return [r for r in records if r.series is not None and r.series == self._series and not os.path.islink(r.path)]

    def latest(self):
        """The newest checkpoint: of this series once training has started (the most
        recently written), before that of the pattern (the highest epoch), or `None`."""
        records = find_records(self.filepath)
        if self._series is None:
            return newest(records)
        mine = self._mine(records)
        return max(mine, key=lambda r: (r.sequence or 0, r.epoch)) if mine else None

    def checkpoints(self):
        """The checkpoints on disk, sorted by epoch: of this series once training has
        started, before that every checkpoint of the pattern."""
        records = find_records(self.filepath)
        if self._series is not None:
            records = self._mine(records)
        return sorted(records, key=lambda r: (r.epoch, r.sequence or 0))

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        return int(keras.ops.convert_to_numpy(optimizer.iterations))

    def _weights_crc32(self):
        crc = 0
        for weight in self.model.weights:
            crc = zlib.crc32(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes(), crc)
        return crc

    def on_train_begin(self, logs=None):
        self._started = False

    def _writes(self):
        # A multi-worker tf.distribute run: every worker holds the same weights
        # and runs this callback; only the chief scans, writes and prunes, so the
        # workers never race on the same files.
        strategy = getattr(self.model, "distribute_strategy", None)
        return strategy is None or strategy.extended.should_checkpoint

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started and self._writes():
            self._start(epoch)

    def _start(self, initial_epoch):
        names, records, problems = scan(self._pattern)
        _warn(problems, stacklevel=4)
        # The series writes regular files only: a symbolic link is someone else's.
        records = [r for r in records if not os.path.islink(r.path)]
        series = self._series
        if series is None:
            # The checkpoint this run starts from: same epoch, same optimizer step
            # count and the same weights, bit for bit (a model loaded from it).
            state = (initial_epoch, self._iterations(), self._weights_crc32())
            starts = [r for r in records if r.series and (r.epoch, r.iterations, r.weights_crc32) == state]
            if starts:
                # Two series at the same epoch and step count: the one written last.
                series = max(starts, key=lambda r: (_mtime(r.path), r.sequence or 0)).series
            else:
                series = uuid.uuid4().hex
        mine = [r for r in records if r.series == series]
        owned = {os.path.basename(r.path) for r in mine}
        foreign = [n for n in names if n not in owned]
        directory = os.path.abspath(self._pattern.directory or os.curdir)
        if foreign and self.existing == "error":
            raise FileExistsError(
                f"HDF5Checkpoint: the directory {directory!r} holds {len(foreign)} file(s) named by "
                f"`filepath`={self.filepath!r} that this run did not write and does not continue: "
                f"{_listing(foreign)}. To resume, load one of its checkpoints and pass "
                "initial_epoch=record.epoch (or series=record.series); to write a new series beside "
                "them (never deleting or overwriting them) pass existing='keep'; or move them away. "
                f"Received: existing={self.existing!r}"
            )
        last = (self.params or {}).get("epochs")
        if foreign and last and self._pattern.fields == ["epoch"]:
            planned = {self._pattern.name(e, {}) for e in range(initial_epoch + 1, last + 1) if e % self._every == 0}
            taken = sorted(planned.intersection(foreign))
            if taken:
                raise FileExistsError(
                    f"HDF5Checkpoint: this run would write {_listing(taken)} in {directory!r}, where files "
                    "of that name exist that it did not write; it never overwrites them. Move them away "
                    f"or use another `filepath`. Received: filepath={self.filepath!r}"
                )
        # Fixed only now: a refused start leaves the callback as it was.
        self._series = series
        self._records = {os.path.abspath(r.path): r for r in mine}
        self._sequence = max((r.sequence or 0 for r in mine), default=0)
        self._started = True

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self._every:
            return
        if not self._writes():
            return
        if not self._started:
            self._start(epoch)
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
        fields = {}
        for name in self._pattern.fields:
            if name == "epoch":
                continue
            if name not in logs:
                raise ValueError(
                    f"Argument `filepath` uses the field {name!r}, which is not in the logs "
                    f"(available: {sorted(logs)}). Received: filepath={self.filepath!r}"
                )
            fields[name] = _plain_value(logs[name])
        name = self._pattern.name(epoch + 1, fields)
        if self._pattern.parse(name) is None:
            raise ValueError(
                f"HDF5Checkpoint: the name {name!r} formatted from the logs cannot be read back with "
                f"`filepath`={self.filepath!r}, so the series could never find the file again; it is "
                "not written. Use plain numeric formats for the fields."
            )
        path = self._pattern.directory + name
        key = os.path.abspath(path)
        if os.path.lexists(path) and not self._owns(path):
            raise FileExistsError(
                f"HDF5Checkpoint: {path!r} exists and was not written by this series; it is never "
                f"overwritten. Move it away or use another `filepath`. Received: filepath={self.filepath!r}"
            )
        self._sequence += 1
        info = {
            "epoch": epoch + 1,
            "monitor": self.monitor,
            "value": value,
            "mode": self._mode,
            "series": self._series,
            "sequence": self._sequence,
            "iterations": self._iterations(),
            "weights_crc32": self._weights_crc32(),
            "fields": fields,
            "pattern": self._pattern.template,
        }
        saving._write(self.model, path, checkpoint=info)
        if self.verbose:
            print(f"Epoch {epoch + 1}: HDF5Checkpoint saved {path}")
        self._records[key] = CheckpointRecord(
            path, epoch + 1, self.monitor, value, self._mode, self._series, self._sequence,
            info["iterations"], info["weights_crc32"], tuple(sorted(fields.items())), self._pattern.template,
        )
        self._prune(key)

    def _owns(self, path):
        """Whether the file at `path` is, as read now, one this series wrote under that name."""
        if os.path.islink(path):
            return False
        record = _read_quietly(path, [])
        return record is not None and record.series == self._series and self._pattern.reproduces(record)

    def _prune(self, written):
        keep = {os.path.abspath(p) for p in retained(self._records.values(), self.keep_last, self.keep_best)} | {written}
        for key in sorted(self._records):
            if key in keep:
                continue
            path = self._records.pop(key).path
            if not self._owns(path):
                if os.path.lexists(path):
                    warnings.warn(
                        f"HDF5Checkpoint: not deleting {path!r}: it is no longer the checkpoint this "
                        "series wrote under that name (replaced since).",
                        stacklevel=3,
                    )
                continue
            try:
                os.remove(path)
            except FileNotFoundError:
                continue
            except OSError as err:
                warnings.warn(
                    f"HDF5Checkpoint could not delete the obsolete checkpoint {path!r} ({err}); "
                    "the file stays and training goes on.",
                    stacklevel=3,
                )
                continue
            if self.verbose:
                print(f"HDF5Checkpoint deleted {path}")
