"""`kerastools.saving` on damaged files, and atomic writes (exceptions and SIGKILL)."""

import os
import pathlib
import signal
import subprocess
import sys
import time
import zipfile

import h5py
import keras
import numpy as np
import pytest

from kerastools import _atomic, saving
from kerastools.saving import _saved_state
from tests.saving import cases as saving_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    return saving_cases.fit(saving_cases.CASES["adam_loss_object"](), "adam_loss_object", 1)


@pytest.fixture
def h5_file(tmp_path, model):
    path = tmp_path / "model.h5"
    saving.save_model(model, path)
    return path


def edit_h5(path, change):
    """Apply `change(handle)` and re-seal the checksum, as a faulty writer would."""
    with h5py.File(path, "r+") as handle:
        change(handle)
        group = handle.get("kerastools")
        if group is not None and _saved_state.CHECKSUM_ATTR in group.attrs:
            group.attrs[_saved_state.CHECKSUM_ATTR] = _saved_state.content_checksum(handle)


# ----------------------------------------------------------------------------- damaged .h5


def test_not_an_hdf5_file(tmp_path):
    (tmp_path / "text.h5").write_text("just text")
    with pytest.raises(ValueError, match=r"'.*text.h5' is not an HDF5 file"):
        saving.load_model(tmp_path / "text.h5")


def test_truncated_file(h5_file):
    data = h5_file.read_bytes()
    h5_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"'.*model.h5' is truncated or corrupt: HDF5 cannot read it"):
        saving.load_model(h5_file)


def test_flipped_bytes_in_the_weights_fail_the_checksum(h5_file):
    kernels = []
    with h5py.File(h5_file, "r") as handle:
        handle["model_weights"].visititems(lambda name, obj: kernels.append(obj.id.get_offset()) if name.endswith("kernel") else None)
    offset = kernels[0]
    with open(h5_file, "r+b") as handle:
        handle.seek(offset + 8)
        byte = handle.read(1)
        handle.seek(offset + 8)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match=r"'.*model.h5' is corrupt: its content does not match the checksum"):
        saving.load_model(h5_file)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.__delitem__("model_weights"), r"is missing the group '/model_weights' \(the model weights\)"),
        (lambda f: f.attrs.__delitem__("model_config"), r"is missing the attribute 'model_config' \(the model architecture\)"),
        (lambda f: f["kerastools"].__delitem__("optimizer"), r"is missing the group '/kerastools/optimizer' \(the optimizer state\)"),
        (lambda f: f["kerastools"].__delitem__("model_state"), r"is missing the group '/kerastools/model_state'"),
        (lambda f: f["kerastools/optimizer"].__delitem__("000003"), r"is missing the data set '/kerastools/optimizer/000003' \(optimizer variable #3\)"),
        (lambda f: f["kerastools"].attrs.__delitem__("content_crc32"), r"is missing the attribute 'content_crc32' of '/kerastools'"),
        (lambda f: f["kerastools"].attrs.__delitem__("format_version"), r"is missing the attribute 'format_version' of the group '/kerastools'"),
    ],
)
def test_missing_parts_are_named(h5_file, change, message):
    edit_h5(h5_file, change)
    with pytest.raises(ValueError, match=r"The file '.*model.h5' " + message):
        saving.load_model(h5_file)


def test_wrong_shape_of_an_optimizer_variable(h5_file):
    def reshape(handle):
        group = handle["kerastools/optimizer"]
        attrs = dict(group["000002"].attrs)
        del group["000002"]
        group.create_dataset("000002", data=np.zeros((1, 1), "float32")).attrs.update(attrs)

    edit_h5(h5_file, reshape)
    with pytest.raises(
        ValueError,
        match=r"'.*model.h5' has an invalid dataset '/kerastools/optimizer/000002' \(optimizer variable '.*kernel_momentum'\): "
        r"shape \(1, 1\), but the variable has shape \(5, 8\)",
    ):
        saving.load_model(h5_file)


def test_newer_format_is_refused(h5_file):
    edit_h5(h5_file, lambda f: f["kerastools"].attrs.__setitem__("format_version", 99))
    with pytest.raises(ValueError, match=r"written by a newer kerastools \(state format 99\)"):
        saving.load_model(h5_file)


# ----------------------------------------------------------------------------- damaged .keras


def test_damaged_keras_archives(tmp_path, model):
    (tmp_path / "text.keras").write_text("just text")
    with pytest.raises(ValueError, match=r"'.*text.keras' is not a .keras \(zip\) archive"):
        saving.load_model(tmp_path / "text.keras")
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    data = path.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"'.*cut.keras' is not a .keras \(zip\) archive: it is corrupt, truncated"):
        saving.load_model(tmp_path / "cut.keras")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("model.weights.h5")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    flipped = bytearray(data)
    flipped[start + info.compress_size // 2] ^= 0xFF
    (tmp_path / "flip.keras").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"'.*flip.keras' is (corrupt: the member 'model.weights.h5' fails its CRC check|a damaged zip archive)"):
        saving.load_model(tmp_path / "flip.keras")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as dst:
        for item in src.infolist():
            if item.filename != "config.json":
                dst.writestr(item, src.read(item.filename))
    with pytest.raises(ValueError, match=r"'.*noconfig.keras' is missing the member 'config.json'"):
        saving.load_model(tmp_path / "noconfig.keras")


# ----------------------------------------------------------------------------- atomic writes


def _boom(*args, **kwargs):
    raise RuntimeError("injected failure")


_keras_save_model = keras.saving.save_model


def _keras_writes_then_boom(model, target, **kwargs):
    _keras_save_model(model, target, **kwargs)  # Keras's part complete, then a failure
    raise RuntimeError("injected failure")


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("fmt", ["h5", "keras"])
@pytest.mark.parametrize(
    "target, replacement, error",
    [
        (keras.saving, ("save_model", _keras_writes_then_boom), RuntimeError),  # a failure after the Keras writer
        (_saved_state, ("write_state", _boom), RuntimeError),  # after Keras wrote its part
        (_saved_state, ("write_state", _interrupt), KeyboardInterrupt),  # Ctrl-C
        (_atomic.os, ("replace", _boom), RuntimeError),  # the final rename fails
    ],
)
def test_failed_save_leaves_previous_file_and_no_temporary(tmp_path, monkeypatch, model, fmt, target, replacement, error):
    path = tmp_path / f"model.{fmt}"
    saving.save_model(model, path)
    before = path.read_bytes()
    monkeypatch.setattr(target, *replacement)
    with pytest.raises(error):
        saving.save_model(model, path)
    with pytest.raises(error):
        saving.save_model(model, tmp_path / f"new.{fmt}")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [f"model.{fmt}"]  # no temporary, no partial new file
    assert saving.load_model(path).compiled


def _half_written_temporary(directory, min_bytes):
    for name in os.listdir(directory):
        if _atomic.is_temporary(name):
            try:
                if os.path.getsize(os.path.join(directory, name)) >= min_bytes:
                    return name
            except FileNotFoundError:  # renamed into place meanwhile
                pass
    return None


@pytest.mark.slow
def test_sigkill_during_save_leaves_a_complete_file(tmp_path):
    # The child saves a 16 MB model in a loop; it is killed while a new file is
    # being written (its temporary has at least 4 MB but the save is running).
    path = tmp_path / "big.h5"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-m", "tests.saving._kill_worker", str(path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 120
        while _half_written_temporary(tmp_path, 4 << 20) is None:
            assert time.monotonic() < deadline, "never saw a save in progress"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    orphans = [n for n in os.listdir(tmp_path) if _atomic.is_temporary(n)]
    assert orphans, "the kill did not land during a write"
    loaded = saving.load_model(path)  # checksum verified: a complete, consistent file
    values = np.unique(np.concatenate([w.numpy().ravel() for w in loaded.weights]))
    assert values.size == 1  # all weights from one single save
