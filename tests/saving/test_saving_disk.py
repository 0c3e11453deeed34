"""Saving through symbolic links (defect 8), suffixes in any case (13), a full disk (15)."""

import errno
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerastools import _atomic, saving
from tests.saving import cases as saving_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]
FORMATS = ["h5", "keras"]


@pytest.fixture(scope="module")
def model():
    return saving_cases.fit(saving_cases.CASES["adam_loss_object"](), "adam_loss_object", 1)


@pytest.fixture(scope="module")
def other_model():
    return saving_cases.fit(saving_cases.CASES["adam_loss_object"](), "adam_loss_object", 2)


def _same_state(a, b):
    return all(np.array_equal(x, y) for x, y in zip(saving_cases.state_arrays(a), saving_cases.state_arrays(b)))


# ----------------------------------------------------------------------------- symbolic links (defect 8)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("relative", [False, True])
def test_saving_through_a_link_writes_its_target_and_keeps_the_link(tmp_path, model, other_model, fmt, relative):
    store, links = tmp_path / "store", tmp_path / "links"
    store.mkdir(), links.mkdir()
    target = store / f"real.{fmt}"
    saving.save_model(model, target)
    link = links / f"current.{fmt}"
    link.symlink_to(os.path.relpath(target, links) if relative else target)
    saving.save_model(other_model, link)
    assert link.is_symlink() and os.readlink(link) == (os.path.relpath(target, links) if relative else str(target))
    assert _same_state(saving.load_model(target), other_model)  # the target has the new model
    assert sorted(os.listdir(links)) == [link.name]  # no temporary beside the link
    assert sorted(os.listdir(store)) == [target.name]  # nor beside the target


@pytest.mark.parametrize("fmt", FORMATS)
def test_chain_of_links_and_dangling_link(tmp_path, model, fmt):
    target = tmp_path / "deep" / f"real.{fmt}"
    target.parent.mkdir()
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    second.symlink_to(target)  # dangling: the target does not exist yet
    first.symlink_to(second)
    saving.save_model(model, first)
    assert first.is_symlink() and second.is_symlink() and target.is_file() and not target.is_symlink()
    assert _same_state(saving.load_model(first), model)


def test_failed_save_through_a_link_keeps_the_target(tmp_path, model, other_model, monkeypatch):
    target = tmp_path / "real.h5"
    saving.save_model(model, target)
    before = target.read_bytes()
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    monkeypatch.setattr(_atomic.os, "replace", _raise(OSError(errno.EIO, "injected")))
    with pytest.raises(saving.SaveError, match=r"'.*link.h5'"):
        saving.save_model(other_model, link)
    monkeypatch.undo()
    assert target.read_bytes() == before and link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["link.h5", "real.h5"]


def test_loop_of_links_is_refused(tmp_path, model):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError, match=r"symbolic link that cannot be resolved.*'.*a.h5'"):
        saving.save_model(model, a)
    assert a.is_symlink() and b.is_symlink()


# ----------------------------------------------------------------------------- suffixes (defect 13)


@pytest.mark.parametrize("name", ["model.H5", "model.HDF5", "model.Hdf5", "model.Keras", "model.KERAS"])
def test_suffixes_in_any_case_save_and_load(tmp_path, model, name):
    path = tmp_path / name
    saving.save_model(model, path)
    assert sorted(os.listdir(tmp_path)) == [name]
    aliases = set(_load_aliases())
    loaded = saving.load_model(path)
    assert _same_state(loaded, model)
    assert set(_load_aliases()) == aliases  # the temporary alias for Keras's loader is gone


def _load_aliases():
    return [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("kerastools-load-")]


@pytest.mark.parametrize("name", ["model.H5x", "model.kera", "model", "model.h5.bak"])
def test_other_suffixes_are_refused_naming_the_accepted_ones(tmp_path, model, name):
    message = r"must end with '.h5', '.hdf5' or '.keras' \(in any case\). Received: filepath='.*" + name.replace(".", r"\.") + "'"
    with pytest.raises(ValueError, match=message):
        saving.save_model(model, tmp_path / name)
    with pytest.raises(ValueError, match=message):
        saving.load_model(tmp_path / name)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- full disk (defect 15)


def _raise(error):
    def raiser(*args, **kwargs):
        raise error

    return raiser


class _FullDisk:
    """A file opened for writing that accepts `room` bytes, then fails with ENOSPC."""

    def __init__(self, path, room):
        self._handle = open(path, "xb")
        self._room = room

    def write(self, data):
        data = bytes(data)
        if len(data) > self._room:
            self._handle.write(data[: self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def _assert_failed_cleanly(tmp_path, path, before, err, code):
    assert isinstance(err, saving.SaveError) and isinstance(err, OSError)
    assert err.errno == code
    assert str(path) in str(err)
    assert err.__cause__ is not None
    assert path.read_bytes() == before  # the previous file is intact
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary left


@settings(max_examples=min(settings.default.max_examples, 60))
@given(fmt=st.sampled_from(FORMATS), fraction=st.floats(0, 1), chunk=st.sampled_from([1 << 20, 4096, 100]))
def test_full_disk_at_any_byte_raises_save_error_and_keeps_the_old_file(tmp_path_factory, monkeypatch, model, other_model, fmt, fraction, chunk):
    tmp_path = tmp_path_factory.mktemp("full")
    path = tmp_path / f"m.{fmt}"
    saving.save_model(model, path)
    before = path.read_bytes()
    room = int(fraction * len(before) * 0.99)  # the new file is about as large as the old one
    with monkeypatch.context() as patch:
        patch.setattr(_atomic, "CHUNK_BYTES", chunk)
        patch.setattr(_atomic, "_open_for_writing", lambda p: _FullDisk(p, room))
        with pytest.raises(saving.SaveError) as info:
            saving.save_model(other_model, path)
    _assert_failed_cleanly(tmp_path, path, before, info.value, errno.ENOSPC)
    assert "No space left on device" in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "where",
    ["fsync", "replace", "mkstemp"],
)
def test_full_disk_in_fsync_rename_or_create(tmp_path, monkeypatch, model, other_model, fmt, where):
    path = tmp_path / f"m.{fmt}"
    saving.save_model(model, path)
    before = path.read_bytes()
    error = OSError(errno.ENOSPC, "No space left on device")
    target = {"fsync": (_atomic.os, "fsync"), "replace": (_atomic.os, "replace"), "mkstemp": (_atomic.tempfile, "mkstemp")}[where]
    monkeypatch.setattr(*target, _raise(error))
    with pytest.raises(saving.SaveError) as info:
        saving.save_model(other_model, path)
    monkeypatch.undo()
    _assert_failed_cleanly(tmp_path, path, before, info.value, errno.ENOSPC)


def test_runtime_error_inside_h5py_becomes_save_error(tmp_path, monkeypatch, model):
    # How h5py reported failed writes before files were assembled in memory
    # ("Can't decrement id ref count"): a RuntimeError raised within h5py.
    import h5py

    path = tmp_path / "m.h5"
    monkeypatch.setattr(h5py.h5f, "flush", _raise(RuntimeError("Can't decrement id ref count (file write failed)")))
    with pytest.raises(saving.SaveError, match=r"Could not save the model to '.*m.h5' \(RuntimeError: Can't decrement id ref count") as info:
        saving.save_model(model, path)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_other_runtime_errors_are_not_disguised(tmp_path, monkeypatch, model):
    monkeypatch.setattr(model, "get_compile_config", _raise(RuntimeError("a bug, not the disk")))
    with pytest.raises(RuntimeError, match="a bug, not the disk") as info:
        saving.save_model(model, tmp_path / "m.h5")
    assert not isinstance(info.value, OSError)


_FILE_SIZE_LIMIT_WORKER = """
import os, resource, signal, sys
import numpy as np
from kerastools import saving
from tests.saving import cases
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
model = cases.fit(cases.CASES["adam_loss_object"](), "adam_loss_object", 1)
directory = sys.argv[1]
for fmt in ("h5", "keras"):
    path = os.path.join(directory, "m." + fmt)
    saving.save_model(model, path)
    before = open(path, "rb").read()
    cases.fit(model, "adam_loss_object", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    for limit in (0, 1, 4096, len(before) // 2, len(before) - 1):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        outcome = "saved"
        try:
            saving.save_model(model, path)
        except saving.SaveError as err:
            outcome = f"SaveError errno={err.errno} names_file={path in str(err)}"
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        intact = open(path, "rb").read() == before
        print(fmt, limit, outcome, "intact" if intact else "CHANGED", sorted(os.listdir(directory)), flush=True)
    saving.load_model(path)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_real_write_failures_from_the_kernel(tmp_path):
    # Not a mock: the kernel refuses writes past RLIMIT_FSIZE (EFBIG), as it
    # refuses them on a full disk (ENOSPC). No privileges needed. In a child
    # process, so that the limit cannot hit pytest's own files.
    directory = tmp_path / "out"
    directory.mkdir()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _FILE_SIZE_LIMIT_WORKER, str(directory)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 10, done.stdout
    for line in lines:
        fmt, limit, outcome, code, names, rest = line.split(" ", 5)
        assert (outcome, code, names) == ("SaveError", f"errno={errno.EFBIG}", "names_file=True"), line
        assert rest == f"intact ['m.{fmt}']" or rest == f"intact ['m.h5', 'm.{fmt}']", line  # no temporary
