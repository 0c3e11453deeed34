"""Finding checkpoints on disk: each file written by `HDF5Checkpoint` describes itself.

The epoch and the monitored value are stored inside the checkpoint (attribute
``checkpoint`` of the kerastools state group), so resuming needs no index file
that could fall out of step with the directory: the files are the truth.
"""

import dataclasses
import glob
import io
import json
import os
import string
import warnings
import zipfile

import h5py

from kerastools import _atomic
from kerastools.saving._saved_state import GROUP

H5_SUFFIXES = (".h5", ".hdf5")
KERAS_SUFFIX = ".keras"
MEMBER = "kerastools.h5"  # the state member added to a ``.keras`` archive


@dataclasses.dataclass(frozen=True)
class CheckpointRecord:
    """One checkpoint file: where it is, after which epoch, and what was monitored.

    Attributes:
        path: the file.
        epoch: number of completed epochs when it was written; pass it to
            ``model.fit(..., initial_epoch=record.epoch)`` to continue.
        monitor: name of the monitored quantity (e.g. ``"val_loss"``).
        value: its value at that epoch, or `None` when it was not in the logs.
        mode: ``"min"``, ``"max"`` or `None` (no best-tracking).
    """

    path: str
    epoch: int
    monitor: str
    value: float | None
    mode: str | None


def field_names(pattern):
    """The ``{field}`` names used in a `str.format` pattern."""
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]


def _glob_for(pattern):
    """``run/epoch{epoch:03d}-{val_loss:.2f}.h5`` -> ``run/epoch*-*.h5``."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(pattern):
        parts.append(glob.escape(literal))
        if name is not None:
            parts.append("*")
    return "".join(parts)


def read_record(path):
    """The `CheckpointRecord` stored in `path`, or `None` if it is not a checkpoint."""
    if path.endswith(KERAS_SUFFIX):
        with zipfile.ZipFile(path) as archive:
            if MEMBER not in archive.namelist():
                return None
            data = archive.read(MEMBER)
        with h5py.File(io.BytesIO(data), "r") as handle:
            raw = handle.attrs.get("checkpoint")
    else:
        with h5py.File(path, "r") as handle:
            raw = handle[GROUP].attrs.get("checkpoint") if GROUP in handle else None
    if raw is None:
        return None
    info = json.loads(raw)
    return CheckpointRecord(path, int(info["epoch"]), info.get("monitor"), info.get("value"), info.get("mode"))


def find_records(location):
    """Every readable checkpoint matching a `HDF5Checkpoint` pattern, or in a directory."""
    location = os.fspath(location)
    if os.path.isdir(location):
        candidates = [p for s in (*H5_SUFFIXES, KERAS_SUFFIX) for p in glob.glob(os.path.join(glob.escape(location), f"*{s}"))]
    else:
        candidates = glob.glob(_glob_for(location))
    records = []
    for path in sorted(set(candidates)):
        if _atomic.is_temporary(path) or not os.path.isfile(path):
            continue
        try:
            record = read_record(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            warnings.warn(f"Skipping {path!r}: it cannot be read as a checkpoint ({err}).", stacklevel=3)
            continue
        if record is not None:
            records.append(record)
    return records
