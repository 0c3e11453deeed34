"""Atomic file replacement shared by `saving`, `data.write_hdf5` and checkpoints.

A file is written under a hidden temporary name in the destination's own
directory, flushed to disk (``fsync``) and only then renamed over the destination
with `os.replace`. A rename within one directory is atomic on POSIX and Windows,
so a reader sees either the complete old file or the complete new one: an
exception, a ``KeyboardInterrupt`` or a ``SIGKILL`` in the middle of a write
leaves the previous file untouched. An exception also removes the temporary
file; a killed process cannot, so it may leave a hidden ``.NAME.*.tmp*`` file
next to the destination (never mistaken for a saved file, safe to delete).

A destination that is a symbolic link is written through: the new file replaces
the link's final target (atomically, in the target's directory) and the link is
kept, as ``cp`` and Keras do. A dangling link creates its target.
"""

import contextlib
import errno
import os
import tempfile

# Temporary files are ``.<name>.<random>.tmp<suffix>``: hidden, and still ending
# with the destination's suffix because Keras picks its writer by the suffix.
TEMP_MARKER = ".tmp"


def _fsync_file(path):
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory):
    # Makes the rename itself durable. Not every platform can open a directory
    # (Windows cannot); the rename is still atomic there, only not yet flushed.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _follow_links(path, argument, filepath):
    """The file a write to `path` must replace: `path` itself, or its link's final target."""
    if not os.path.islink(path):
        return path
    try:
        return os.path.realpath(path, strict=True)
    except FileNotFoundError:  # a dangling link: write the file it names
        return os.path.realpath(path)
    except OSError as err:  # a loop of links
        raise OSError(
            err.errno,
            f"Cannot write to `{argument}`: it is a symbolic link that cannot be resolved "
            f"({err.strerror or err}). Received: {argument}={os.fspath(filepath)!r}",
        ) from err


def prepare_destination(filepath, argument="filepath"):
    """Check that `filepath` can be written and return the absolute `str` path to replace.

    Creates missing parent directories (as Keras's own `save_model` does). A
    symbolic link is followed: the path returned is its final target.

    Raises:
        ValueError: `filepath` is an existing directory.
        OSError: the parent directory cannot be created or written, or
            `filepath` is a loop of symbolic links.
    """
    path = _follow_links(os.path.abspath(os.fspath(filepath)), argument, filepath)
    if os.path.isdir(path):
        raise ValueError(
            f"Argument `{argument}` is an existing directory, not a file path. "
            f"Received: {argument}={os.fspath(filepath)!r}"
        )
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise OSError(
            err.errno,
            f"Cannot write to `{argument}`: its directory {directory!r} cannot be "
            f"created ({err.strerror or err}). Received: {argument}={os.fspath(filepath)!r}"
        ) from err
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(
            errno.EACCES,
            f"Cannot write to `{argument}`: directory {directory!r} is not writable. "
            f"Received: {argument}={os.fspath(filepath)!r}"
        )
    return path


@contextlib.contextmanager
def atomic_path(filepath, argument="filepath"):
    """Yield a temporary path; on success, fsync it and rename it over `filepath`.

    The temporary file lies in the destination's directory (a rename across file
    systems would not be atomic; for a symbolic link, the directory of its
    target) and ends with the suffix of `filepath` in lower case (writers such
    as Keras pick the format by a case-sensitive suffix). If the body raises, the
    temporary file is removed and `filepath` is left as it was.

    Example:

    >>> import os
    >>> with atomic_path("notes.txt") as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("complete")
    ...     print(os.path.exists("notes.txt"))  # nothing at the destination yet
    False
    >>> open("notes.txt").read()
    'complete'
    >>> try:
    ...     with atomic_path("notes.txt") as tmp:
    ...         with open(tmp, "w") as f:
    ...             _ = f.write("half-")
    ...         raise KeyboardInterrupt  # interrupted mid-write
    ... except KeyboardInterrupt:
    ...     pass
    >>> open("notes.txt").read(), os.listdir(".")
    ('complete', ['notes.txt'])
    """
    path = prepare_destination(filepath, argument)
    directory, name = os.path.split(path)
    suffix = os.path.splitext(os.fspath(filepath))[1].lower()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f"{TEMP_MARKER}{suffix}", dir=directory)
    except OSError as err:
        raise OSError(
            err.errno,
            f"Cannot write to `{argument}`: no file can be created in {directory!r} "
            f"({err.strerror or err}). Received: {argument}={os.fspath(filepath)!r}"
        ) from err
    os.close(fd)
    # Writers such as h5py refuse to open an existing file in "w-" mode and Keras
    # may look at whether the path exists, so hand them a path that does not.
    os.remove(tmp)
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise OSError(f"The writer produced no file for `{argument}`={os.fspath(filepath)!r}")
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


# Written in pieces so that a reader (or a kill) can see a partial temporary file
# of a large model, as with any streaming writer; the size is not critical.
CHUNK_BYTES = 1 << 20


def _open_for_writing(path):
    # A module-level indirection: tests replace it to simulate a full disk.
    return open(path, "xb")


def write_bytes(filepath, data, argument="filepath"):
    """Write `data` (bytes) atomically to `filepath` with plain file I/O.

    A failing write (``ENOSPC``, ``EFBIG``, ``EIO``) raises the `OSError` of the
    failed system call and leaves `filepath` as it was.
    """
    view = memoryview(data)
    with atomic_path(filepath, argument) as tmp:
        with _open_for_writing(tmp) as handle:
            for start in range(0, len(view), CHUNK_BYTES):
                handle.write(view[start : start + CHUNK_BYTES])
            handle.flush()
            os.fsync(handle.fileno())


def is_temporary(name):
    """Whether a file name is one of our (possibly orphaned) temporary files."""
    base = os.path.basename(name)
    return base.startswith(".") and TEMP_MARKER in base
