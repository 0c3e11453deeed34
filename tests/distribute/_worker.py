"""One process of a multi-worker test (run as a script, never collected by pytest).

    python _worker.py OUT MODE [options]

MODE:
* ``multi``: one worker of the cluster in ``TF_CONFIG``: trains
  `_models.CORE_CONFIGS` (with ``--extended``: `_models.CONFIGS`) under
  `kt.distribute.multi_worker_strategy`
  (``adam`` with `kt.callbacks.HDF5Checkpoint`), and with ``--extended`` Adam
  on ``OUT/digits.h5`` through `kt.distribute.sharded_hdf5_dataset`; writes
  ``OUT/worker<index>.npz``.
* ``reference --replicas 1``: every configuration in one process under the
  default strategy, same global batch: ``OUT/single.npz``.
* ``reference --replicas N``: ``adam_dropout`` under a `MirroredStrategy` over N
  virtual CPUs (the same per-replica dropout masks as N workers), and with
  ``--extended`` Adam in one process on the N HDF5 shards combined as the
  workers combine them:
  ``OUT/mirrored<N>.npz``.
* ``backup``: one worker training ``adam_dropout`` for ``--epochs`` with
  `kt.distribute.BackupAndRestore`; with ``--stall-at EPOCH`` worker 1 writes
  ``OUT/stalled`` and sleeps in the middle of that epoch (the test kills it there).
* ``fault``: create the strategy (with ``--collective-timeout``) and train;
  used for the unreachable-worker and dead-worker tests.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import _models  # noqa: E402
import kerastools as kt  # noqa: E402


def task_index():
    return json.loads(os.environ["TF_CONFIG"])["task"]["index"] if os.environ.get("TF_CONFIG") else 0


class Stall(keras.callbacks.Callback):
    """In epoch `epoch`, after the second batch: write `marker` and sleep (to be killed)."""

    def __init__(self, epoch, marker):
        super().__init__()
        self.epoch, self.marker, self.current = epoch, marker, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            self.marker.write_text("stalled")
            time.sleep(600)


def strategy_from(args):
    return kt.distribute.multi_worker_strategy(
        startup_timeout=args.startup_timeout, collective_timeout=args.collective_timeout
    )


def multi(args, out):
    strategy = strategy_from(args)
    index = task_index()
    checkpoint = kt.callbacks.HDF5Checkpoint(str(out / "ckpt" / "epoch{epoch:02d}.h5"), monitor="loss", keep_last=1, verbose=1)
    results = {}
    for name in _models.CONFIGS if args.extended else _models.CORE_CONFIGS:
        callbacks = [checkpoint] if name == "adam" else []
        _, results[name] = _models.run(name, strategy.scope(), callbacks=callbacks)
    if args.extended:
        train = kt.distribute.sharded_hdf5_dataset(strategy, out / "digits.h5", "x", "y", _models.GLOBAL_BATCH, seed=_models.SEED)
        results["hdf5"] = _models.run_hdf5(strategy.scope(), train)
    _models.save_results(out / f"worker{index}.npz", results)
    print(f"worker {index} done: replicas {strategy.num_replicas_in_sync}, work-arounds {kt.distribute.installed_work_arounds()}")


def reference(args, out):
    if args.replicas == 1:
        single = {name: _models.run(name, tf.distribute.get_strategy().scope())[1] for name in _models.CONFIGS}
        _models.save_results(out / "single.npz", single)
    else:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas)
        mirrored = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.replicas)])
        dropout = _models.run("adam_dropout", mirrored.scope(), batches=_models.batches_after_a_first_pass)[1]
        results = {"adam_dropout": dropout}
        if args.extended:
            combined = _models.hdf5_shards_as_one(out / "digits.h5", args.replicas)
            results["hdf5"] = _models.run_hdf5(tf.distribute.get_strategy().scope(), combined)
        _models.save_results(out / f"mirrored{args.replicas}.npz", results)
    print("reference done")


def backup(args, out):
    strategy = strategy_from(args)
    index = task_index()
    restore = kt.distribute.BackupAndRestore(out / "backup")
    initial_epoch = restore.latest_epoch()
    (x, y), _ = _models.digits()
    with strategy.scope():
        model = _models.build_cnn("adam_dropout")
    callbacks = [restore]
    if args.stall_at is not None and index == 1:
        callbacks.append(Stall(args.stall_at, out / "stalled"))
    history = model.fit(_models.train_batches(x, y, initial_epoch), epochs=args.epochs, verbose=0, callbacks=callbacks)
    result = {"loss": np.asarray(history.history["loss"]), "initial_epoch": np.int64(initial_epoch)}
    for i, weight in enumerate(model.get_weights()):
        result[f"weight{i}"] = np.asarray(weight)
    _models.save_results(out / f"backup_worker{index}.npz", {"run": result})
    print(f"worker {index} done from epoch {initial_epoch}")


def fault(args, out):
    strategy = strategy_from(args)
    print("strategy ready", flush=True)
    (x, y), _ = _models.digits()
    with strategy.scope():
        model = _models.build_cnn("adam")
    callbacks = []
    if args.stall_at is not None and task_index() == 1:
        callbacks.append(Stall(args.stall_at, out / "stalled"))
    model.fit(_models.train_batches(x, y), epochs=args.epochs, verbose=0, callbacks=callbacks)
    print("fault run finished")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("mode", choices=("multi", "reference", "backup", "fault"))
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--extended", action="store_true", help="multi/reference: also Keras built-ins and sharded HDF5")
    parser.add_argument("--epochs", type=int, default=_models.EPOCHS)
    parser.add_argument("--stall-at", type=int, default=None)
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--collective-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    {"multi": multi, "reference": reference, "backup": backup, "fault": fault}[args.mode](args, out)


if __name__ == "__main__":
    sys.exit(main())
