"""Noticing that the file behind an `hdf5_dataset` changed, at every pass.

A `tf.data.Dataset` fixes its element signature (dtype and row shape) and, here,
its cardinality (steps per epoch) when it is created; Keras plans each epoch from
them. A pass that read a file with another row count, dtype or row shape could
not keep those promises (it would stream a truncated or padded epoch, cast
silently, or fail with a broadcast error), so each pass opens the file afresh,
compares its layout with the one recorded at creation and refuses a difference
with an error naming the file and what changed. A file rewritten with the same
layout (new values) is streamed as it is at that pass.

Within a pass the open file is the one read: a file *replaced* by a rename (as
`write_hdf5` does) or deleted during the pass is still read whole from the
copy that was opened, and the next pass sees the new one. A file *modified in
place* during the pass (its size or modification time differ from those at
the pass's start) is refused at the next read, as are read errors that such a
change causes.
"""

import contextlib
import os

import h5py
import numpy as np


def _describe(shape, dtype):
    rows = shape[0]
    row_shape = tuple(shape[1:])
    return rows, row_shape, np.dtype(dtype)


def changes(handle, specs, keys):
    """What differs between the data sets of the open file and `specs` (the
    ``key -> (shape, dtype, chunks)`` recorded at creation), as phrases."""
    found = []
    for key in keys:
        shape, dtype, _ = specs[key]
        if key not in handle or not isinstance(handle[key], h5py.Dataset):
            found.append(f"data set {key!r} is gone")
            continue
        data = handle[key]
        rows, row_shape, dtype = _describe(shape, dtype)
        if data.ndim == 0:
            found.append(f"data set {key!r} is now a scalar")
            continue
        now_rows, now_row_shape, now_dtype = _describe(data.shape, data.dtype)
        if now_rows != rows:
            found.append(f"data set {key!r} had {rows} rows and now has {now_rows}")
        if now_row_shape != row_shape:
            found.append(f"rows of {key!r} had shape {row_shape} and now have shape {now_row_shape}")
        if now_dtype != dtype:
            found.append(f"data set {key!r} had dtype {dtype} and now has dtype {now_dtype}")
    return found


class FileChangedError(ValueError):
    """The file behind an `hdf5_dataset` no longer matches it."""


def _changed(path, what):
    return FileChangedError(
        f"The HDF5 file {path!r} changed since the dataset was created: {what}. A dataset keeps "
        "the row count, dtype and row shape it was created with (its steps per epoch and "
        "element spec); call `hdf5_dataset` again to stream the new file."
    )


def _signature(stat):
    # Not the change time: renaming another file over this one, or deleting it,
    # changes its link count and so its ctime, while its contents stay intact.
    return (stat.st_size, stat.st_mtime_ns)


class _Guard:
    """Checks that the opened file was not modified in place since the pass began."""

    def __init__(self, path, handle):
        self.path = path
        self._fd = handle.id.get_vfd_handle()
        self._start = _signature(os.fstat(self._fd))

    def check(self, cause=None):
        if _signature(os.fstat(self._fd)) != self._start:
            raise FileChangedError(
                f"The HDF5 file {self.path!r} was modified in place while a pass was reading it; "
                "the rows read so far and the rest would not come from one version of the file. "
                "Replace the file atomically instead (write a new file and rename it over the "
                "old one, as `write_hdf5` does): a pass then reads the version it opened and the "
                "next pass the new one."
            ) from cause


@contextlib.contextmanager
def open_unchanged(path, specs, keys):
    """Open `path` for one pass, refusing it if it changed since creation.

    Yields ``(handle, guard)``; call ``guard.check()`` after each read (and with
    the exception when a read fails) to refuse a file modified in place.
    """
    if not os.path.exists(path):
        raise _changed(path, "the file no longer exists")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        if not os.path.exists(path):
            raise _changed(path, "the file no longer exists") from error
        if not h5py.is_hdf5(path):
            raise _changed(path, "it is no longer an HDF5 file") from error
        raise
    with handle:
        found = changes(handle, specs, keys)
        if found:
            raise _changed(path, "; ".join(found))
        yield handle, _Guard(path, handle)
