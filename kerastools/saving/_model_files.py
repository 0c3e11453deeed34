"""`save_model`, `load_model` and `latest_checkpoint` (see `kerastools.saving`)."""

import contextlib
import io
import json
import logging
import os
import shutil
import zipfile
import zlib

import h5py
import keras

from kerastools import _atomic
from kerastools.saving import _saved_state
from kerastools.saving._checkpoint_files import H5_SUFFIXES, KERAS_SUFFIX, MEMBER, find_records, newest
from kerastools._validation import check_bool



class _DropH5Deprecation(logging.Filter):
    # Keras logs "You are saving your model as an HDF5 file ... considered legacy"
    # on every `.h5` save; a user of this module chose HDF5 on purpose.
    def filter(self, record):
        return "saving your model as an HDF5 file" not in record.getMessage()


@contextlib.contextmanager
def _quiet_h5_notice():
    logger, notice = logging.getLogger("absl"), _DropH5Deprecation()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


def _suffix(filepath, argument="filepath"):
    path = os.fspath(filepath)
    if path.lower().endswith(H5_SUFFIXES):
        return "h5"
    if path.lower().endswith(KERAS_SUFFIX):
        return "keras"
    raise ValueError(f"Argument `{argument}` must end with '.h5', '.hdf5' or '.keras'. Received: {argument}={path!r}")


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"Argument `model` must be a keras.Model. Received: model={model!r} of type {type(model).__name__}")


def save_model(model, filepath, *, overwrite=True):
    """Save `model` with everything needed to continue training exactly.

    The format follows the suffix: ``.h5``/``.hdf5`` (HDF5) or ``.keras``. The
    write is atomic: the previous file at `filepath`, if any, stays intact until
    the new one is complete and flushed to disk.

    Args:
        model: a `keras.Model` (compiled or not).
        filepath: destination path; missing parent directories are created.
        overwrite: whether an existing file may be replaced. Defaults to `True`.

    Raises:
        TypeError: `model` is not a `keras.Model`.
        ValueError: bad suffix, `filepath` is a directory.
        FileExistsError: the file exists and `overwrite=False`.
        OSError: the destination directory cannot be written.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> x = np.random.default_rng(0).random((64, 3)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kt.Adam(1e-2), loss="mse")
    >>> _ = model.fit(x, y, epochs=2, shuffle=False, verbose=0)
    >>> kt.saving.save_model(model, "run.h5")
    >>> restored = kt.saving.load_model("run.h5")  # e.g. in a new process
    >>> int(restored.optimizer.iterations)  # Adam's step count and slots came back
    4
    >>> _ = restored.fit(x, y, epochs=2, shuffle=False, verbose=0)  # as 4 epochs in one fit
    """
    _check_model(model)
    _suffix(filepath)
    check_bool("overwrite", overwrite)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"A file exists at `filepath` and `overwrite=False`. Received: filepath={os.fspath(filepath)!r}")
    _write(model, filepath)


def _write(model, filepath, checkpoint=None):
    """`save_model` without argument checks; `checkpoint` is stored for `HDF5Checkpoint`."""
    with _atomic.atomic_path(filepath) as tmp:
        if _suffix(filepath) == "h5":
            with _quiet_h5_notice():
                keras.saving.save_model(model, tmp, include_optimizer=False)
            with h5py.File(tmp, "r+") as handle:
                group = handle.create_group(_saved_state.GROUP)
                _saved_state.write_state(group, model, checkpoint=checkpoint)
                handle.flush()
                group.attrs[_saved_state.CHECKSUM_ATTR] = _saved_state.content_checksum(handle)
        else:
            keras.saving.save_model(model, tmp)
            _repair_compile_config(tmp, model)
            buffer = io.BytesIO()
            with h5py.File(buffer, "w") as handle:
                _saved_state.write_state(handle, model, include_optimizer=False, checkpoint=checkpoint)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(MEMBER, buffer.getvalue())


def _repair_compile_config(archive_path, model):
    """Put the optimizer back into a ``.keras`` archive's compile config if Keras left it out.

    See `_saved_state.compile_config`: after a Keras `model.save("x.h5")`, Keras
    writes ``.keras`` files whose model reloads with a default RMSprop and
    silently drops the saved optimizer state. Rewrites the archive only then.
    """
    with zipfile.ZipFile(archive_path) as archive:
        config = json.loads(archive.read("config.json"))
    stored = config.get("compile_config")
    if not stored or stored.get("optimizer") is not None:
        return
    stored["optimizer"] = _saved_state.compile_config(model)["optimizer"]
    fixed = archive_path + ".fix"
    try:
        with zipfile.ZipFile(archive_path) as src, zipfile.ZipFile(fixed, "w") as dst:
            for info in src.infolist():
                if info.filename == "config.json":
                    dst.writestr(info, json.dumps(config))
                else:
                    with src.open(info) as reader, dst.open(info, "w") as writer:
                        shutil.copyfileobj(reader, writer, 1 << 20)
        os.replace(fixed, archive_path)
    finally:
        if os.path.exists(fixed):
            os.remove(fixed)


def _damaged(path, detail):
    return ValueError(f"The file {path!r} is {detail}.")


def _read_h5_state(path, compile):
    if not h5py.is_hdf5(path):
        raise _damaged(path, "not an HDF5 file (no HDF5 signature): it is corrupt, truncated or another format")
    try:
        with h5py.File(path, "r") as handle:
            if "model_config" not in handle.attrs:
                raise _saved_state.missing(path, "the attribute 'model_config' (the model architecture)")
            if "model_weights" not in handle:
                raise _saved_state.missing(path, "the group '/model_weights' (the model weights)")
            if _saved_state.GROUP not in handle:
                if compile:
                    raise ValueError(
                        f"The file {path!r} has no group '/{_saved_state.GROUP}' with the compile "
                        "configuration and the optimizer state (it was not written by "
                        "kerastools.saving.save_model). Pass compile=False to load the "
                        "architecture and the weights only."
                    )
                return None
            group = handle[_saved_state.GROUP]
            stored = group.attrs.get(_saved_state.CHECKSUM_ATTR)
            if stored is None:
                raise _saved_state.missing(path, f"the attribute '{_saved_state.CHECKSUM_ATTR}' of '/{_saved_state.GROUP}'")
            if _saved_state.content_checksum(handle) != int(stored):
                raise _damaged(path, "corrupt: its content does not match the checksum written when it was saved")
            return _saved_state.read_state(group, path)
    except OSError as err:  # h5py reports truncation and unreadable blocks as OSError
        raise _damaged(path, f"truncated or corrupt: HDF5 cannot read it ({err})") from err


def _read_keras_state(path):
    if not zipfile.is_zipfile(path):
        raise _damaged(path, "not a .keras (zip) archive: it is corrupt, truncated or another format")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # CRC-32 of every member
            if bad is not None:
                raise _damaged(path, f"corrupt: the member {bad!r} fails its CRC check")
            if "config.json" not in archive.namelist():
                raise _saved_state.missing(path, "the member 'config.json' (the model architecture)")
            if MEMBER not in archive.namelist():
                return None
            data = archive.read(MEMBER)
    except (zipfile.BadZipFile, zlib.error, OSError) as err:
        raise _damaged(path, f"a damaged zip archive ({err})") from err
    with h5py.File(io.BytesIO(data), "r") as handle:
        return _saved_state.read_state(handle, f"{path}:{MEMBER}")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by `save_model`, ready to continue training.

    Args:
        filepath: a ``.h5``/``.hdf5`` or ``.keras`` file.
        custom_objects: mapping of names to classes or functions needed to
            rebuild the model (kerastools components are found without it).
            Defaults to `None`.
        compile: whether to compile the model and restore the optimizer state.
            With `False` an ``.h5`` file written by plain Keras also loads
            (architecture and weights). Defaults to `True`.
        safe_mode: refuse to run code stored in the file (the bytecode of
            `Lambda` layers or of lambda losses). Pass `False` only for files you
            trust. Defaults to `True`.

    Returns:
        The `keras.Model`, compiled with its optimizer state restored when the
        file holds one and `compile=True`.

    Raises:
        FileNotFoundError: no file at `filepath`.
        ValueError: bad suffix; the file is not HDF5/zip, truncated, corrupt
            (checksum), misses a group or attribute (the message names it), or
            holds code refused by `safe_mode`.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=1, verbose=0)
    >>> kt.saving.save_model(model, "run.h5")
    >>> model = kt.saving.load_model("run.h5")
    >>> int(model.optimizer.iterations), type(model.optimizer).__name__  # continues from the saved step
    (1, 'SGD')
    >>> open("broken.h5", "w").write("not an HDF5 file")
    16
    >>> try:
    ...     kt.saving.load_model("broken.h5")
    ... except Exception as error:  # a damaged file is refused with a message naming it
    ...     print("broken.h5" in str(error))
    True
    """
    kind = _suffix(filepath)
    check_bool("compile", compile)
    check_bool("safe_mode", safe_mode)
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file at `filepath`. Received: filepath={path!r}")
    if os.path.isdir(path):
        raise ValueError(f"Argument `filepath` is a directory, not a saved model. Received: filepath={path!r}")
    state = _read_h5_state(path, compile) if kind == "h5" else _read_keras_state(path)
    # Keras compiles ``.keras`` files itself (its format keeps the optimizer
    # state); ``.h5`` files are compiled below from the kerastools group.
    keras_compile = compile and kind == "keras"
    try:
        model = keras.saving.load_model(path, custom_objects=custom_objects, compile=keras_compile, safe_mode=safe_mode)
    except (ValueError, TypeError, KeyError, OSError) as err:
        raise ValueError(f"Could not load the model in {path!r}: {err}") from err
    if state is not None:
        _saved_state.restore_state(model, state, compile=compile, custom_objects=custom_objects, safe_mode=safe_mode, source=path)
    return model


def latest_checkpoint(location):
    """The most recent checkpoint written by `kerastools.callbacks.HDF5Checkpoint`.

    Only files that are the checkpoints their names say count: for a pattern,
    names that the pattern formats exactly (``e03.h5`` for ``e{epoch:02d}.h5``,
    not ``e3.h5`` or ``e03_keep.h5``) whose stored epoch and fields format to
    that name; in a directory, files whose stored file-name template formats to
    their own name. Copies under other names, other series' patterns, plain
    model files and unreadable files (a warning) are skipped.

    Args:
        location: the callback's `filepath` pattern (e.g.
            ``"ckpt/epoch{epoch:03d}.h5"``) or a directory to search.

    Returns:
        A `CheckpointRecord` (`path`, `epoch`, `monitor`, `value`, `mode`,
        `series`, ...) for the file with the highest epoch (the later written
        among equal epochs), of any series, or `None` when there is none. Use
        `HDF5Checkpoint.latest` for the newest file of one series.

    Example:

    >>> print(kt.saving.latest_checkpoint("ckpt/epoch{epoch:03d}.h5"))  # nothing yet
    None
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> checkpoint = kt.callbacks.HDF5Checkpoint("ckpt/epoch{epoch:03d}.h5", monitor="loss")
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[checkpoint])
    >>> record = kt.saving.latest_checkpoint("ckpt/epoch{epoch:03d}.h5")
    >>> os.path.basename(record.path), record.epoch, record.monitor
    ('epoch003.h5', 3, 'loss')
    >>> model = kt.saving.load_model(record.path)
    >>> _ = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=5, initial_epoch=record.epoch,
    ...               verbose=0, callbacks=[checkpoint])
    """
    return newest(find_records(location))
