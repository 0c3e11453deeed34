"""`save_model`, `load_model` and `latest_checkpoint` (see `kerastools.saving`)."""

import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
import zipfile
import zlib

import h5py
import keras

from kerastools import _atomic
from kerastools.saving import _restore, _saved_state
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


ACCEPTED_SUFFIXES = "'.h5', '.hdf5' or '.keras' (in any case)"


def _suffix(filepath, argument="filepath"):
    path = os.fspath(filepath)
    if path.lower().endswith(H5_SUFFIXES):
        return "h5"
    if path.lower().endswith(KERAS_SUFFIX):
        return "keras"
    raise ValueError(f"Argument `{argument}` must end with {ACCEPTED_SUFFIXES}. Received: {argument}={path!r}")


class SaveError(OSError):
    """A model could not be written (disk full, I/O error, HDF5 write failure).

    An `OSError` whose message names the file; `errno` is that of the failed
    system call when there was one (e.g. `errno.ENOSPC`), and the original
    exception is chained as `__cause__`. The previous file at the path, if any,
    is left intact.
    """


def _raised_by_h5py(err):
    tb = err.__traceback__
    while tb is not None:
        if "h5py" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def _save_error(path, err):
    detail = f"{type(err).__name__}: {err}"
    message = f"Could not save the model to {path!r} ({detail}); the previous file there, if any, is unchanged"
    return SaveError(getattr(err, "errno", None), message) if getattr(err, "errno", None) else SaveError(message)


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
        OSError: the destination directory cannot be created or written.
        SaveError: (an `OSError`) writing failed, e.g. the disk is full; the
            message names the file and `errno` is kept.

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
    path = os.fspath(filepath)
    try:
        _write_atomically(model, filepath, checkpoint)
    except SaveError:
        raise
    except OSError as err:
        if path in str(err):  # raised by `_atomic` about the destination: keep its words
            raise (SaveError(err.errno, str(err)) if err.errno else SaveError(str(err))) from err
        raise _save_error(path, err) from err
    except RuntimeError as err:
        # h5py reports a failed write or close (a full disk) as RuntimeError,
        # e.g. "Can't decrement id ref count"; other RuntimeErrors are not I/O.
        if not _raised_by_h5py(err):
            raise
        raise _save_error(path, err) from err


class _MemoryH5(h5py.File):
    """An HDF5 file in memory that Keras's `save_model` takes for an ``.h5`` path.

    Keras picks the legacy HDF5 writer by ``str(filepath).endswith(".h5")`` and
    writes into an `h5py.File` it is given instead of opening one.
    """

    def __str__(self):
        return "<in memory>.h5"


class _MemoryArchive(io.BytesIO):
    """A buffer that Keras's `save_model` takes for a ``.keras`` path (it writes the zip into it)."""

    def __str__(self):
        return "<in memory>.keras"


def _write_atomically(model, filepath, checkpoint):
    # The file is assembled in memory and written with plain file I/O: HDF5
    # never writes to the disk itself, so a full disk is an ordinary OSError of
    # `write`/`fsync` (HDF5 reports failed writes late, as RuntimeErrors from
    # `close`, and leaves its library state broken: the next save can crash).
    if _suffix(filepath) == "h5":
        buffer = io.BytesIO()
        with _MemoryH5(buffer, "w") as handle:
            with _quiet_h5_notice():
                keras.saving.save_model(model, handle, include_optimizer=False)
            group = handle.create_group(_saved_state.GROUP)
            _saved_state.write_state(group, model, checkpoint=checkpoint)
            handle.flush()
            group.attrs[_saved_state.CHECKSUM_ATTR] = _saved_state.content_checksum(handle)
        data = buffer.getvalue()
    else:
        archive = _MemoryArchive()
        keras.saving.save_model(model, archive)
        archive = _repair_compile_config(archive, model)
        member = io.BytesIO()
        with h5py.File(member, "w") as handle:
            _saved_state.write_state(handle, model, checkpoint=checkpoint)
        with zipfile.ZipFile(archive, "a") as zipped:
            zipped.writestr(MEMBER, member.getvalue())
        data = archive.getvalue()
    _atomic.write_bytes(filepath, data)


def _repair_compile_config(archive, model):
    """Put the optimizer back into a ``.keras`` archive's compile config if Keras left it out.

    See `_saved_state.compile_config`: after a Keras `model.save("x.h5")`, Keras
    writes ``.keras`` files whose model reloads with a default RMSprop and
    silently drops the saved optimizer state. Returns `archive` (a buffer) or a
    rewritten copy.
    """
    with zipfile.ZipFile(archive) as zipped:
        config = json.loads(zipped.read("config.json"))
    stored = config.get("compile_config")
    if not stored or stored.get("optimizer") is not None:
        return archive
    stored["optimizer"] = _saved_state.compile_config(model)["optimizer"]
    fixed = io.BytesIO()
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(fixed, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, json.dumps(config) if info.filename == "config.json" else src.read(info.filename))
    return fixed


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
    source = f"{path}:{MEMBER}"
    try:
        handle = h5py.File(io.BytesIO(data), "r")
    except OSError as err:  # "file signature not found" and the like
        raise _damaged(path, f"corrupt: its member {MEMBER!r} is not a readable HDF5 file ({err})") from err
    with handle:
        return _saved_state.read_state(handle, source)


@contextlib.contextmanager
def _keras_readable(path, kind):
    """`path`, or a temporary alias of it with the lower-case suffix Keras's loader requires."""
    if path.endswith(H5_SUFFIXES + (KERAS_SUFFIX,)):
        yield path
        return
    directory = tempfile.mkdtemp(prefix="kerastools-load-")
    alias = os.path.join(directory, "model.h5" if kind == "h5" else "model.keras")
    try:
        try:
            os.symlink(os.path.abspath(path), alias)
        except (OSError, NotImplementedError):  # no symbolic links here (Windows without the privilege)
            shutil.copyfile(path, alias)
        yield alias
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _names(path, err):
    return repr(path) in str(err) or path in str(err)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by `save_model`, ready to continue training.

    The optimizer is rebuilt for the model variables it held when saved and
    every stored variable is matched to the live one by its `variable.path`;
    the dtype, shape and range of every value are checked before anything is
    assigned (see the module documentation).

    Args:
        filepath: a ``.h5``/``.hdf5`` or ``.keras`` file (suffix in any case).
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
        TypeError: `compile` or `safe_mode` is not a bool.
        FileNotFoundError: no file at `filepath`.
        ValueError: bad suffix; `filepath` is a directory; anything wrong with
            the content: not HDF5/zip, truncated, corrupt (checksum), a missing
            group, attribute or dataset, a stored value of the wrong dtype,
            shape or range, optimizer variables that do not match the model's
            by path, an optimizer class that differs from the compile
            configuration, unknown custom objects, code refused by `safe_mode`.
            The message names the file (and the dataset or attribute at
            fault); the original error, if any, is chained.
        OSError: the file cannot be read (permissions, I/O error); the message
            names it.

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

    Note:
        A ``.keras`` file written by Keras itself (without the kerastools
        member) is compiled by Keras, whose format restores optimizer
        variables by position.
    """
    kind = _suffix(filepath)
    check_bool("compile", compile)
    check_bool("safe_mode", safe_mode)
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file at `filepath`. Received: filepath={path!r}")
    if os.path.isdir(path):
        raise ValueError(f"Argument `filepath` is a directory, not a saved model. Received: filepath={path!r}")
    try:
        return _load(path, kind, custom_objects, compile, safe_mode)
    except Exception as err:
        if _names(path, err):
            raise
        if isinstance(err, OSError) and err.errno is not None:  # a failed system call
            raise OSError(err.errno, f"Could not read the model in {path!r}: {err}") from err
        raise ValueError(f"Could not load the model in {path!r}: {type(err).__name__}: {err}") from err


def _load(path, kind, custom_objects, compile, safe_mode):
    state = _read_h5_state(path, compile) if kind == "h5" else _read_keras_state(path)
    # An ``.h5`` file, or a ``.keras`` file with a complete kerastools state, is
    # compiled below from the kerastools group. Keras compiles other ``.keras``
    # files itself (its format keeps the optimizer state, by position).
    keras_compile = compile and kind == "keras" and (state is None or state["compile_config"] is None)
    try:
        with _keras_readable(path, kind) as readable:
            model = keras.saving.load_model(readable, custom_objects=custom_objects, compile=keras_compile, safe_mode=safe_mode)
    except (ValueError, TypeError, KeyError, OSError) as err:
        raise ValueError(f"Could not load the model in {path!r}: {err}") from err
    if state is not None:
        _restore.restore_state(model, state, compile=compile, custom_objects=custom_objects, safe_mode=safe_mode, source=path)
    return model


def latest_checkpoint(location):
    """The most recent checkpoint written by `kerastools.callbacks.HDF5Checkpoint`.

    Only files that are the checkpoints their names say count: for a pattern,
    names that the pattern formats exactly (``e03.h5`` for ``e{epoch:02d}.h5``,
    not ``e3.h5`` or ``e03_keep.h5``) whose stored epoch and fields format to
    that name; in a directory, files whose stored file-name template formats to
    their own name. Copies under other names, other series' patterns, plain
    model files and unreadable files (a warning) are skipped.

    To resume: ``model = load_model(record.path)`` and
    ``model.fit(..., initial_epoch=record.epoch, callbacks=[checkpoint])``.

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
