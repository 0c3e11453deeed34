"""Finding checkpoints on disk: each file written by `HDF5Checkpoint` describes itself.

The epoch, the monitored value and the ownership record (series identifier,
write sequence, the values that formatted the file name) are stored inside the
checkpoint (attribute ``checkpoint`` of the kerastools state group), so resuming
needs no index file that could fall out of step with the directory: the files
are the truth.

A file name belongs to a pattern such as ``e{epoch:02d}-{val_loss:.4f}.h5`` only
when every field's text reads back as a number that the field's format turns
into exactly the same text (``e03`` is epoch 3 of ``e{epoch:02d}``; ``e3``,
``e003`` and ``e03_keep`` are not). A file is the checkpoint it claims to be
only when the values stored inside it format, under the pattern, to its own
name: a copy under another name, or another file under this name, is not.
"""

import dataclasses
import io
import json
import math
import numbers
import os
import re
import string
import warnings
import zipfile

import h5py

from kerastools import _atomic
from kerastools.saving._saved_state import GROUP

H5_SUFFIXES = (".h5", ".hdf5")
KERAS_SUFFIX = ".keras"
MEMBER = "kerastools.h5"  # the state member added to a ``.keras`` archive

# [[fill]align][sign][z][#][0][width][grouping][.precision][type] (PEP 3101).
_SPEC = re.compile(r"(?:(?P<fill>.)?(?P<align>[<>=^]))?[-+ ]?z?#?0?\d*[,_]?(?:\.\d+)?[a-zA-Z%]?", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class CheckpointRecord:
    """One checkpoint file: where it is, after which epoch, what was monitored, who wrote it.

    Attributes:
        path: the file.
        epoch: number of completed epochs when it was written; pass it to
            ``model.fit(..., initial_epoch=record.epoch)`` to continue.
        monitor: name of the monitored quantity (e.g. ``"val_loss"``).
        value: its value at that epoch, or `None` when it was not in the logs.
        mode: ``"min"``, ``"max"`` or `None` (direction unknown: never ranked).
        series: identifier of the `HDF5Checkpoint` series that wrote the file
            (pass it as ``HDF5Checkpoint(..., series=record.series)`` to continue
            the series explicitly), or `None` for a file written before
            kerastools stored one.
        sequence: 1 for the first file a series wrote, 2 for the next, ...;
            orders "most recent" for `keep_last`. `None` for older files.
        iterations: the optimizer's iteration count when the file was written.
        weights_crc32: a CRC-32 of the model's weights when it was written;
            with `iterations` and `epoch`, how a resumed run recognises the
            checkpoint it starts from.
        fields: the ``(name, value)`` pairs, other than ``epoch``, that were
            formatted into the file name.
        pattern: the file-name template of the series (e.g. ``"e{epoch:02d}.h5"``).
    """

    path: str
    epoch: int
    monitor: str
    value: float | None
    mode: str | None
    series: str | None = None
    sequence: int | None = None
    iterations: int | None = None
    weights_crc32: int | None = None
    fields: tuple = ()
    pattern: str | None = None


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    conversion: str | None
    spec: str

    def render(self, value):
        if self.conversion == "r":
            value = repr(value)
        elif self.conversion == "s":
            value = str(value)
        elif self.conversion == "a":
            value = ascii(value)
        return format(value, self.spec)

    def parse(self, text):
        """A value that renders to exactly `text`, or `None`."""
        if not text:
            return None
        fill = (_SPEC.fullmatch(self.spec).group("fill") or " ") if self.conversion is None else " "
        core = text.strip(fill + " ")
        plain = core.replace(",", "").replace("_", "")
        candidates = []
        for base in (10, 16, 8, 2, 0):  # d, x/X, o, b, and #-prefixed forms
            try:
                candidates.append(int(plain, base))
            except ValueError:
                pass
        if self.name != "epoch":
            for body, scale in ((plain, 1.0), (plain[:-1], 0.01)) if plain.endswith("%") else ((plain, 1.0),):
                try:
                    candidates.append(float(body) * scale)
                except ValueError:
                    pass
        for value in candidates:
            try:
                if self.render(value) == text:
                    return value
            except (ValueError, TypeError):
                continue
        return None


def _plain_value(value):
    """A log value as the JSON-storable number that is formatted into the file name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class Pattern:
    """A `HDF5Checkpoint` file pattern: a directory, and a file-name template with fields.

    Args:
        filepath: the pattern as given to the callback (fields only in the file
            name; ``{{``/``}}`` escape literal braces).
        argument: the argument name used in error messages.
    """

    def __init__(self, filepath, argument="filepath"):
        self.filepath = filepath = os.fspath(filepath)
        self.argument = argument

        def fail(reason):
            return ValueError(f"Argument `{argument}` {reason}. Received: {argument}={filepath!r}")

        try:
            tokens = list(string.Formatter().parse(filepath))
        except ValueError as err:
            raise fail(f"is not a valid str.format pattern ({err})") from None
        parts = []
        for literal, name, spec, conversion in tokens:
            if literal:
                parts.append(literal)
            if name is None:
                continue
            if not name.isidentifier():
                raise fail(f"has the field {{{name}}}; fields must be 'epoch' or log keys (plain names)")
            if "{" in spec:
                raise fail(f"nests a field in the format of {{{name}}}, which cannot be read back from a file name")
            if _SPEC.fullmatch(spec) is None:
                raise fail(f"has an invalid format {spec!r} for the field {{{name}}}")
            parts.append(_Field(name, conversion, spec))
        first = next((i for i, p in enumerate(parts) if isinstance(p, _Field)), len(parts))
        seps = tuple(s for s in (os.sep, os.altsep) if s)
        if any(isinstance(p, str) and any(s in p for s in seps) for p in parts[first + 1 :]):
            raise fail("has a field in a directory name; fields may appear only in the file name")
        head = "".join(parts[:first])
        cut = max(head.rfind(s) for s in seps) + 1
        # As written (relative stays relative): the paths of the files are
        # `directory + name`, exactly what `str.format` of the pattern gives.
        self.directory = head[:cut]
        self._parts = ([head[cut:]] if head[cut:] else []) + parts[first:]
        self.fields = [p.name for p in self._parts if isinstance(p, _Field)]
        # The template of the file name, re-escaped so that it formats as written.
        self.template = "".join(
            p.replace("{", "{{").replace("}", "}}")
            if isinstance(p, str)
            else "{" + p.name + (f"!{p.conversion}" if p.conversion else "") + (f":{p.spec}" if p.spec else "") + "}"
            for p in self._parts
        )

    def name(self, epoch, values):
        """The file name for `epoch` and the field `values` (a mapping)."""
        out = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = epoch if part.name == "epoch" else values[part.name]
            try:
                out.append(part.render(value))
            except (ValueError, TypeError) as err:
                raise ValueError(
                    f"Argument `{self.argument}` cannot format the field {{{part.name}}} with the value "
                    f"{value!r} ({err}). Received: {self.argument}={self.filepath!r}"
                ) from None
        return "".join(out)

    def parse(self, name):
        """The field values that format to exactly `name` (``{"epoch": 3, ...}``), or `None`."""
        parts, found = self._parts, {}

        def walk(index, pos):
            if index == len(parts):
                return pos == len(name)
            part = parts[index]
            if isinstance(part, str):
                return name.startswith(part, pos) and walk(index + 1, pos + len(part))
            for end in range(pos + 1, len(name) + 1):
                value = part.parse(name[pos:end])
                if value is None or (part.name in found and found[part.name] != value):
                    continue
                previous = found.get(part.name)
                found[part.name] = value
                if walk(index + 1, end):
                    return True
                if previous is None:
                    found.pop(part.name)
                else:
                    found[part.name] = previous
            return False

        return dict(found) if walk(0, 0) else None

    def matching_names(self):
        """The names in the pattern's directory that belong to it (temporaries excluded)."""
        try:
            names = os.listdir(self.directory or os.curdir)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(n for n in names if not _atomic.is_temporary(n) and self.parse(n) is not None)

    def reproduces(self, record):
        """Whether the values stored in `record` format to its file's name (its own name)."""
        try:
            return self.name(record.epoch, dict(record.fields)) == os.path.basename(record.path)
        except (KeyError, ValueError):
            return False


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
    fields = info.get("fields") or {}
    return CheckpointRecord(
        path,
        int(info["epoch"]),
        info.get("monitor"),
        info.get("value"),
        info.get("mode"),
        series=info.get("series"),
        sequence=info.get("sequence"),
        iterations=info.get("iterations"),
        weights_crc32=info.get("weights_crc32"),
        fields=tuple(sorted(fields.items())),
        pattern=info.get("pattern"),
    )


def _read_quietly(path, problems):
    if not os.path.isfile(path):
        return None
    try:
        return read_record(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
        problems.append((path, err))
        return None


def scan(pattern):
    """``(names, records)``: every name in the directory that belongs to `pattern`,
    and the records among them that are the checkpoints their names say (their
    stored values format to their own name). Unreadable files are only names."""
    names, records, problems = pattern.matching_names(), [], []
    for name in names:
        record = _read_quietly(os.path.join(pattern.directory, name), problems)
        if record is None:
            continue
        # A record without stored fields (written before kerastools stored them)
        # can only be checked on the epoch its name says.
        if record.series is None and not record.fields:
            if pattern.parse(name).get("epoch") != record.epoch:
                continue
        elif not pattern.reproduces(record):
            continue
        records.append(record)
    return names, records, problems


def _warn(problems, stacklevel):
    for path, err in problems:
        warnings.warn(f"Skipping {path!r}: it cannot be read as a checkpoint ({err}).", stacklevel=stacklevel)


def find_records(location):
    """Every checkpoint of a `HDF5Checkpoint` pattern, or every checkpoint in a directory.

    For a pattern, only files whose names belong to it exactly and whose stored
    values format to their own names count. In a directory, a checkpoint counts
    when the template stored in it formats to its own name (copies under other
    names do not); files older than the stored template count as before.
    """
    location = os.fspath(location)
    problems = []
    if os.path.isdir(location):
        records = []
        for name in sorted(os.listdir(location)):
            path = os.path.join(location, name)
            if _atomic.is_temporary(name) or not name.lower().endswith((*H5_SUFFIXES, KERAS_SUFFIX)):
                continue
            record = _read_quietly(path, problems)
            if record is None:
                continue
            if record.pattern is not None and not Pattern(record.pattern, "pattern").reproduces(record):
                continue
            records.append(record)
    else:
        _, records, problems = scan(Pattern(location, "location"))
    _warn(problems, stacklevel=4)
    return records


def newest(records):
    """The record with the highest epoch; among equal epochs, the later written."""
    return max(records, key=lambda r: (r.epoch, r.sequence or 0)) if records else None


def retained(records, keep_last, keep_best):
    """The paths a series keeps among its `records`: the `keep_last` most recently
    written (all for `None`) and, for each (monitor, mode), the `keep_best` best."""
    records = sorted(records, key=lambda r: (r.sequence or 0, r.epoch))
    keep = {r.path for r in (records if keep_last is None else records[-keep_last:])}
    if keep_best:
        # Each (monitor, mode) is ranked on its own: values of another monitor or
        # direction (from before a resume) are never compared with these.
        groups = {}
        for r in records:
            if r.mode in ("min", "max") and isinstance(r.value, (int, float)) and math.isfinite(r.value):
                groups.setdefault((r.monitor, r.mode), []).append(r)
        for (_, mode), group in groups.items():
            sign = 1.0 if mode == "min" else -1.0
            # Ties go to the earlier write: a later equal value is no improvement.
            group.sort(key=lambda r: (sign * r.value, r.sequence or 0))
            keep.update(r.path for r in group[:keep_best])
    return keep
