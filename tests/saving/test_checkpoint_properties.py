"""Properties of `HDF5Checkpoint` in used directories: a series deletes and changes only its own files.

The callback is driven the way `fit` drives it (``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end``) on one tiny compiled model, without the
training itself: before each epoch end the model's kernel and the optimizer's
iteration count are set to a state that identifies (run, epoch), which is all the
callback reads from the model. Every checkpoint is a real file.

`simulate` is the specification the runs are compared with, written from the
documented rules (docs/guides/checkpoints.md) independently of the callback's
code: which names the pattern owns, when a run refuses to start or to write, and
which files of a series its retention keeps.
"""

import math
import os
import shutil
import tempfile
import warnings

import keras
import numpy as np
import pytest
from hypothesis import event, example, given, strategies as st

from kerastools.callbacks import HDF5Checkpoint
from kerastools.saving import _model_files
from kerastools.saving._checkpoint_files import read_record

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

STEPS = 3  # optimizer steps per simulated epoch
LOSSES = [0.5, 1.0, 2.0, math.nan]
SCORES = [0.25, 0.5, 0.75]
MONITORS = [("loss", "min"), ("score", "max"), ("score", "min")]

# Each pattern with names that resemble it but that it never formats (other
# series, copies, backups, other padding, case, suffix), for epochs 1..9.
PATTERNS = {
    "e{epoch:02d}.h5": lambda e, s: [f"e{e}.h5", f"e{e:03d}.h5", f"e{e:02d}_keep.h5", f"e{e:02d}.h5.bak", f"E{e:02d}.h5", f"old_e{e:02d}.h5", f"e{e:02d}.hdf5"],
    "m{epoch}.h5": lambda e, s: [f"m{e}_ft.h5", f"m{e:02d}.h5", f"m{e}.h5~", f"mm{e}.h5", f"m{e}.H5", f"m {e}.h5"],
    "r{epoch:03d}-{score:.2f}.h5": lambda e, s: [f"r{e:03d}-{s:.1f}.h5", f"r{e:02d}-{s:.2f}.h5", f"r{e:03d}-{s:.2f}_ft.h5", f"r{e:03d}_{s:.2f}.h5", f"r{e:03d}-{s:.3f}.h5"],
}
CONTENTS = ["junk", "plain", "other_run", "other_monitor", "legacy", "directory"]


def right_name(pattern, epoch, score):
    return pattern.format(epoch=epoch, score=score)


_MODEL = []


def tiny_model():
    if not _MODEL:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
        model.optimizer.build(model.trainable_variables)
        _MODEL.append(model)
    return _MODEL[0]


def set_state(model, run, epoch):
    """The model as run `run` leaves it after `epoch` epochs."""
    model.layers[0].kernel.assign(np.full((2, 1), 1000 * (ord(run[0]) - 64) + epoch, "float32"))
    model.optimizer.iterations.assign(epoch * STEPS)


_BYTES = {}


def foreign_bytes(kind, pattern, epoch, score):
    """The bytes of a file this series did not write: junk, a model, another run's checkpoint, ..."""
    key = (kind, pattern, epoch, score)
    if key not in _BYTES:
        if kind == "junk":
            _BYTES[key] = b"not a checkpoint %d" % epoch
        else:
            model = tiny_model()
            set_state(model, "Z", epoch)
            info = None
            if kind in ("other_run", "other_monitor"):
                monitor, mode = ("loss", "min") if kind == "other_run" else ("val_acc", "max")
                info = {"epoch": epoch, "monitor": monitor, "value": 0.125, "mode": mode, "series": "f" * 32,
                        "sequence": epoch, "iterations": epoch * STEPS, "weights_crc32": 1, "fields": {"score": score}, "pattern": pattern}
            elif kind == "legacy":  # a checkpoint of kerastools before series identifiers
                info = {"epoch": epoch, "monitor": "loss", "value": 0.125, "mode": "min"}
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "f.h5")
                _model_files._write(model, path, checkpoint=info)
                with open(path, "rb") as handle:
                    _BYTES[key] = handle.read()
    return _BYTES[key]


def place(folder, name, kind, pattern, epoch, score):
    path = os.path.join(folder, name)
    if kind == "directory":
        os.mkdir(path)
    else:
        with open(path, "wb") as handle:
            handle.write(foreign_bytes(kind, pattern, epoch, score))


def snapshot(folder, names):
    out = {}
    for name in names:
        path = os.path.join(folder, name)
        stat = os.lstat(path)
        if os.path.islink(path):
            with open(path, "rb") as handle:
                out[name] = ("link", os.readlink(path), stat.st_mtime_ns, handle.read())
        elif os.path.isdir(path):
            out[name] = ("dir", sorted(os.listdir(path)), stat.st_mtime_ns)
        else:
            with open(path, "rb") as handle:
                out[name] = (handle.read(), stat.st_mtime_ns, stat.st_ino)
    return out


def logs_of(run, epoch):
    loss, score = run["logs"][epoch % len(run["logs"])]
    return {"loss": loss, "score": score}


def drive(checkpoint, model, run, start, stop, after_epoch=None):
    """What `fit(initial_epoch=start, epochs=stop)` calls on the callback; returns where it raised."""
    set_state(model, run["start_run"], start)
    checkpoint.set_model(model)
    checkpoint.set_params({"epochs": stop, "steps": STEPS, "verbose": 0})
    checkpoint.on_train_begin()
    for epoch in range(start, stop):
        try:
            checkpoint.on_epoch_begin(epoch)
        except FileExistsError:
            return "start"
        set_state(model, run["name"], epoch + 1)
        try:
            checkpoint.on_epoch_end(epoch, logs_of(run, epoch))
        except FileExistsError:
            return epoch
        if after_epoch is not None:
            after_epoch(epoch)
    checkpoint.on_train_end()
    return None


def kept_by_policy(records, keep_last, keep_best):
    """The names the documented retention keeps among one series' records."""
    by_write = sorted(records, key=lambda r: r["sequence"])
    keep = {r["name"] for r in (by_write if keep_last is None else by_write[-keep_last:])}
    if keep_best:
        for group in {(r["monitor"], r["mode"]) for r in records}:
            ranked = [r for r in records if (r["monitor"], r["mode"]) == group and math.isfinite(r["value"])]
            sign = 1 if group[1] == "min" else -1
            ranked.sort(key=lambda r: (sign * r["value"], r["sequence"]))
            keep.update(r["name"] for r in ranked[:keep_best])
    return keep


def not_of(record, series):
    return record is None or record["series"] != series or bool(record.get("replaced"))


def simulate(pattern, foreign_names, runs, copies):
    """The outcome the rules prescribe: where each run raises, the files left, the newest of the last run."""
    owned_names = {right_name(pattern, e, s) for e in range(1, 40) for s in SCORES}  # the pattern's names in play
    files = dict.fromkeys(foreign_names, None)  # name -> record of a series, None if foreign
    outcomes, last_series = [], None
    for run in runs:
        series, start, stop, every = run["series"], run["start"], run["stop"], run["every"]
        for name, record in files.items():  # a new run knows replaced files only as foreign
            if record and record.get("replaced"):
                files[name] = None
        foreign = {n for n, r in files.items() if n in owned_names and not_of(r, series)}
        planned = {right_name(pattern, e, 0) for e in range(start + 1, stop + 1) if e % every == 0}
        if foreign and (run["existing"] == "error" or ("{score" not in pattern and planned & foreign)):
            outcomes.append("start")
            break
        last_series, raised = series, None
        sequence = max((r["sequence"] for r in files.values() if r and r["series"] == series), default=0)
        for epoch in range(start, stop):
            if (epoch + 1) % every:
                continue
            logs = logs_of(run, epoch)
            name = right_name(pattern, epoch + 1, logs["score"])
            if name in files and not_of(files[name], series):
                raised = epoch
                break
            sequence += 1
            files[name] = {"series": series, "sequence": sequence, "name": name, "monitor": run["monitor"],
                           "mode": run["mode"], "value": logs[run["monitor"]]}
            # A file replaced since it was written still ranks until the series
            # drops it; then it stays, as a file of the user's.
            mine = [r for r in files.values() if r and r["series"] == series]
            for r in mine:
                if r["name"] not in kept_by_policy(mine, run["keep_last"], run["keep_best"]) | {name}:
                    if r.get("replaced"):
                        files[r["name"]] = None
                    else:
                        del files[r["name"]]
            for copy in copies if run is runs[0] else []:
                if copy["after"] != epoch:
                    continue
                if copy.get("action", "copy") == "copy" and copy["name"] not in files:
                    files[copy["name"]] = None
                elif copy.get("action", "copy") != "copy" and files.get(name) and not files[name].get("replaced"):
                    files[name]["replaced"] = True
        outcomes.append(raised)
        if raised is not None:
            break
    newest = None
    if last_series is not None and outcomes[-1] != "start":
        mine = [r for r in files.values() if not not_of(r, last_series)]
        newest = max(mine, key=lambda r: r["sequence"])["name"] if mine else None
    return outcomes, set(files), newest


names_strategy = st.tuples(st.booleans(), st.integers(1, 9), st.sampled_from(SCORES), st.integers(0, 6))
run_strategy = st.fixed_dictionaries(
    {
        "keep_last": st.sampled_from([1, 2, 3, None]),
        "keep_best": st.integers(0, 2),
        "monitor": st.sampled_from(MONITORS),
        "existing": st.sampled_from(["error", "keep", "keep"]),
        "every": st.sampled_from([1, 1, 2]),
        "epochs": st.integers(1, 4),
        "logs": st.lists(st.tuples(st.sampled_from(LOSSES), st.sampled_from(SCORES)), min_size=1, max_size=4),
    }
)

def record_epoch(folder, name):
    return read_record(os.path.join(folder, name)).epoch


def resolve_name(pattern, spec):
    is_right, epoch, score, which = spec
    if is_right:
        return right_name(pattern, epoch, score)
    near = PATTERNS[pattern](epoch, score)
    return near[which % len(near)]


@pytest.mark.slow
@given(
    pattern=st.sampled_from(sorted(PATTERNS)),
    foreign=st.lists(st.tuples(names_strategy, st.sampled_from(CONTENTS)), max_size=5),
    first=run_strategy,
    second=st.one_of(st.none(), st.tuples(st.sampled_from(["resume", "resume", "fresh"]), st.integers(0, 5), run_strategy)),
    copies=st.lists(st.tuples(st.integers(0, 3), names_strategy, st.sampled_from(["copy", "copy", "replace_plain", "replace_link"])), max_size=2),
)
def test_a_series_only_deletes_its_own_files_and_keeps_what_its_policy_says(pattern, foreign, first, second, copies):
    model = tiny_model()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as elsewhere, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable foreign files are skipped with a warning
        placed = {}
        for spec, kind in foreign:
            name = resolve_name(pattern, spec)
            if name not in placed:
                place(folder, name, kind, pattern, spec[1], spec[2])
                placed[name] = kind
        before = snapshot(folder, placed)

        runs = [dict(first, name="A", start_run="A", series="A", start=0, stop=first["epochs"], mode=first["monitor"][1], monitor=first["monitor"][0])]
        copy_plan = []
        for after, spec, action in copies:
            copy_plan.append({"after": after, "name": resolve_name(pattern, spec), "action": action})

        def copy_after(epoch):
            # A user copies the file just written to another name (a backup,
            # or a name of the pattern): from then on a file the series did not write.
            # Or replaces it: by a model of the user's, or by a link to the file
            # moved elsewhere. From then on it is not the series' file either.
            if (epoch + 1) % runs[0]["every"]:
                return  # nothing written at this epoch
            written = right_name(pattern, epoch + 1, logs_of(runs[0], epoch)["score"])
            source = os.path.join(folder, written)
            for copy in copy_plan:
                target = os.path.join(folder, copy["name"])
                if copy["after"] != epoch:
                    continue
                if copy["action"] == "copy" and not os.path.lexists(target):
                    shutil.copy2(source, target)
                    before.update(snapshot(folder, [copy["name"]]))
                elif copy["action"] != "copy" and written not in before:
                    if copy["action"] == "replace_plain":
                        with open(source, "wb") as handle:
                            handle.write(foreign_bytes("plain", pattern, epoch + 1, 0.25))
                    else:
                        moved = os.path.join(elsewhere, written)
                        shutil.move(source, moved)
                        os.symlink(moved, source)
                    before.update(snapshot(folder, [written]))

        outcomes, checkpoints = [], []
        for index in range(2):
            if index == 1:
                if second is None or outcomes[-1] is not None:
                    break
                how, pick, spec = second
                survivors = sorted(r for r in os.listdir(folder) if r not in before)
                if how == "resume":
                    if not survivors:
                        break
                    # Resume from one of the first run's checkpoints, as after `load_model`.
                    start = record_epoch(folder, survivors[pick % len(survivors)])
                    runs.append(dict(spec, name="B", start_run="A", series="A", start=start, stop=start + spec["epochs"], mode=spec["monitor"][1], monitor=spec["monitor"][0]))
                else:
                    runs.append(dict(spec, name="C", start_run="C", series="C", start=0, stop=spec["epochs"], mode=spec["monitor"][1], monitor=spec["monitor"][0]))
            run = runs[index]
            checkpoint = HDF5Checkpoint(
                os.path.join(folder, pattern), monitor=run["monitor"], mode=run["mode"], keep_last=run["keep_last"],
                keep_best=run["keep_best"], save_freq=run["every"], existing=run["existing"],
            )
            checkpoints.append(checkpoint)
            outcomes.append(drive(checkpoint, model, run, run["start"], run["stop"], copy_after if index == 0 else None))

        expected_outcomes, expected_files, newest = simulate(pattern, list(placed), runs, copy_plan)
        event(f"runs: {'+'.join(r['name'] for r in runs)}; outcomes: {outcomes}")
        event(f"foreign files left: {len(before)}, own files left: {len(expected_files) - len(before)}")
        event(f"files replaced by the user mid-run: {sum(1 for c in copy_plan if c['action'] != 'copy' and c['after'] < runs[0]['stop'])}")
        assert outcomes == expected_outcomes
        assert set(os.listdir(folder)) == expected_files
        assert snapshot(folder, before) == before  # every foreign file: same bytes, same mtime, same inode
        last = checkpoints[-1].latest() if outcomes[-1] != "start" else None
        assert (os.path.basename(last.path) if last else None) == newest



# --- One property per defect class of the checkpoint hardening. Each uses only what the callback had
# before the fix (no `existing`/`series` arguments) where the defect allows, so
# that it can be run against the old code, where it fails.


def run_spec(name, spec, start=0, start_run=None, series=None):
    monitor, mode = spec["monitor"]
    return dict(spec, name=name, start_run=start_run or name, series=series or name, start=start,
                stop=start + spec["epochs"], monitor=monitor, mode=mode, existing="error")


def checkpoint_for(folder, pattern, run, **extra):
    return HDF5Checkpoint(os.path.join(folder, pattern), monitor=run["monitor"], mode=run["mode"],
                          keep_last=run["keep_last"], keep_best=run["keep_best"], save_freq=run["every"], **extra)


@pytest.mark.slow
@given(
    pattern=st.sampled_from(sorted(PATTERNS)),
    foreign=st.lists(st.tuples(st.integers(1, 9), st.sampled_from(SCORES), st.integers(0, 6), st.sampled_from(CONTENTS)), max_size=4),
    first=run_strategy,
    copies=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), max_size=2),
)
@example(  # the case: a second series m{epoch}_ft.h5 beside m{epoch}.h5
    pattern="m{epoch}.h5", foreign=[(1, 0.25, 0, "other_run"), (2, 0.25, 0, "other_run")],
    first={"keep_last": 1, "keep_best": 0, "monitor": ("loss", "min"), "existing": "error", "every": 1, "epochs": 3, "logs": [(1.0, 0.5)]},
    copies=[],
)
@example(  # the case: a user's copy e03_keep.h5 beside e{epoch:02d}.h5
    pattern="e{epoch:02d}.h5", foreign=[],
    first={"keep_last": 1, "keep_best": 0, "monitor": ("loss", "min"), "existing": "error", "every": 1, "epochs": 4, "logs": [(1.0, 0.5)]},
    copies=[(2, 2)],
)
def test_defect1_names_that_only_resemble_the_pattern_are_never_touched(pattern, foreign, first, copies):
    """Other series, copies, backups, other paddings: never deleted or changed; the
    file just written always survives; the series keeps what its policy says."""
    model = tiny_model()
    run = run_spec("A", first)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch, score, which, kind in foreign:
            name = resolve_name(pattern, (False, epoch, score, which))
            if not os.path.lexists(os.path.join(folder, name)):
                place(folder, name, kind, pattern, epoch, score)
        before = snapshot(folder, os.listdir(folder))
        plan = [{"after": after, "name": resolve_name(pattern, (False, after + 1, 0.25, which))} for after, which in copies]

        def after_epoch(epoch):
            if (epoch + 1) % run["every"]:
                return
            written = right_name(pattern, epoch + 1, logs_of(run, epoch)["score"])
            assert os.path.isfile(os.path.join(folder, written)), "the file just written was deleted"
            for copy in plan:
                target = os.path.join(folder, copy["name"])
                if copy["after"] == epoch and not os.path.lexists(target):
                    shutil.copy2(os.path.join(folder, written), target)
                    before.update(snapshot(folder, [copy["name"]]))

        assert drive(checkpoint_for(folder, pattern, run), model, run, 0, run["stop"], after_epoch) is None
        _, expected, _ = simulate(pattern, list(before), [run], plan)
        assert snapshot(folder, before) == before
        assert set(os.listdir(folder)) == expected


@pytest.mark.slow
@given(old=run_strategy, new=run_strategy, pattern=st.sampled_from(sorted(PATTERNS)))
@example(  # the case: the old run kept e07, e08; the new run writes e01..e03
    old={"keep_last": 2, "keep_best": 0, "monitor": ("loss", "min"), "existing": "error", "every": 1, "epochs": 4, "logs": [(1.0, 0.5)]},
    new={"keep_last": 1, "keep_best": 0, "monitor": ("loss", "min"), "existing": "error", "every": 1, "epochs": 3, "logs": [(1.0, 0.5)]},
    pattern="e{epoch:02d}.h5",
)
def test_defect2_a_fresh_run_in_a_used_directory_is_refused_before_it_writes(old, new, pattern):
    """Another run's checkpoints in the directory: the new run raises before its
    first epoch, naming the directory and every file, and changes nothing."""
    model = tiny_model()
    old_run = run_spec("A", dict(old, epochs=old["epochs"] * 2))
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drive(checkpoint_for(folder, pattern, old_run), model, old_run, 0, old_run["stop"])
        before = snapshot(folder, os.listdir(folder))
        assert before
        new_run = run_spec("C", new)
        checkpoint = checkpoint_for(folder, pattern, new_run)
        set_state(model, "C", 0)
        checkpoint.set_model(model)
        checkpoint.on_train_begin()
        with pytest.raises(FileExistsError) as raised:
            checkpoint.on_epoch_begin(0)
            checkpoint.on_epoch_end(0, logs_of(new_run, 0))  # the old code only fails here, if at all
        message = str(raised.value)
        assert repr(folder) in message and "existing='keep'" in message
        assert all(repr(name) in message for name in before)
        assert snapshot(folder, os.listdir(folder)) == before


@pytest.mark.slow
@given(old=run_strategy, new=run_strategy, pattern=st.sampled_from(sorted(PATTERNS)))
def test_defect2_with_existing_keep_a_new_series_never_touches_the_old_one(old, new, pattern):
    """existing="keep": the old run's files stay byte for byte, `latest()` is the new
    run's newest, and a name taken by an old file is refused, never overwritten."""
    model = tiny_model()
    old_run = run_spec("A", old)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drive(checkpoint_for(folder, pattern, old_run), model, old_run, 0, old_run["stop"])
        before = snapshot(folder, os.listdir(folder))
        new_run = dict(run_spec("C", new), existing="keep")
        checkpoint = checkpoint_for(folder, pattern, new_run, existing="keep")
        outcome = drive(checkpoint, model, new_run, 0, new_run["stop"])
        expected_outcomes, expected, newest = simulate(pattern, list(before), [new_run], [])
        assert [outcome] == expected_outcomes
        assert snapshot(folder, before) == before
        assert set(os.listdir(folder)) == expected
        if outcome != "start":
            latest = checkpoint.latest()
            assert (os.path.basename(latest.path) if latest else None) == newest


@pytest.mark.slow
@given(first=run_strategy, second=run_strategy, pattern=st.sampled_from(sorted(PATTERNS)))
@example(  # scores 0.75, 0.25 by "score" (max), then losses 0.5, 2.0 by "loss" (min)
    first={"keep_last": 1, "keep_best": 1, "monitor": ("score", "max"), "existing": "error", "every": 1, "epochs": 2, "logs": [(2.0, 0.75), (2.0, 0.25)]},
    second={"keep_last": 1, "keep_best": 1, "monitor": ("loss", "min"), "existing": "error", "every": 1, "epochs": 2, "logs": [(2.0, 0.5), (2.0, 0.5), (0.5, 0.5), (2.0, 0.5)]},
    pattern="e{epoch:02d}.h5",
)
def test_defect3_keep_best_ranks_each_monitor_and_mode_on_its_own(first, second, pattern):
    """A run resumed with another monitor or mode keeps the best of its own
    monitor, and the best of the earlier monitor as the earlier run ranked it."""
    model = tiny_model()
    first_run = run_spec("A", first)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drive(checkpoint_for(folder, pattern, first_run), model, first_run, 0, first_run["stop"])
        resumed = run_spec("B", second, start=first_run["stop"] - first_run["stop"] % first_run["every"], start_run="A", series="A")
        if resumed["start"] == 0:
            return  # the first run wrote nothing to resume from
        drive(checkpoint_for(folder, pattern, resumed), model, resumed, resumed["start"], resumed["stop"])
        _, expected, _ = simulate(pattern, [], [first_run, resumed], [])
        assert set(os.listdir(folder)) == expected


@pytest.mark.slow
@given(first=run_strategy, pattern=st.sampled_from(sorted(PATTERNS)))
@example(
    first={"keep_last": 1, "keep_best": 0, "monitor": ("loss", "min"), "existing": "error", "every": 1, "epochs": 3, "logs": [(1.0, 0.5)]},
    pattern="e{epoch:02d}.h5",
)
def test_defect4_a_failed_deletion_warns_and_training_goes_on(first, pattern):
    """Every deletion fails (permissions): each is one warning naming the file,
    every epoch is still saved, and nothing raises."""
    model = tiny_model()
    run = run_spec("A", dict(first, epochs=first["epochs"] + 1))
    real_remove = os.remove
    with tempfile.TemporaryDirectory() as folder:

        def refuse(path, *args, **kwargs):
            name = os.path.basename(os.fspath(path))
            if os.path.dirname(os.path.abspath(path)) == os.path.abspath(folder) and not name.startswith("."):
                raise PermissionError(1, "Operation not permitted", os.fspath(path))
            return real_remove(path, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patch.setattr(os, "remove", refuse)
            assert drive(checkpoint_for(folder, pattern, run), model, run, 0, run["stop"]) is None
        written = [right_name(pattern, e + 1, logs_of(run, e)["score"]) for e in range(run["stop"]) if (e + 1) % run["every"] == 0]
        assert sorted(os.listdir(folder)) == sorted(set(written))
        _, kept, _ = simulate(pattern, [], [run], [])
        failed = [str(w.message) for w in caught if "could not delete" in str(w.message)]
        assert len(failed) == len(set(written) - kept)
        for name in set(written) - kept:
            assert any(repr(os.path.join(folder, name)) in m and "training goes on" in m for m in failed)
