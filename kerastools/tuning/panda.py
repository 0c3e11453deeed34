"""Panda: one model babysat across sessions, its hyperparameters changed between them."""

import datetime
import json
import os

import keras
import numpy as np

from kerastools import _atomic, saving
from kerastools.saving.checkpoint import HDF5Checkpoint
from kerastools.saving._saved_state import compile_config
from kerastools._validation import check_int

HISTORY_FILE = "history.json"
FORMAT_VERSION = 1


def _now():
    return datetime.datetime.now().isoformat(timespec="seconds")


def _plain(value):
    """A JSON-ready form of a hyperparameter value (schedules serialised)."""
    if isinstance(value, (keras.optimizers.schedules.LearningRateSchedule, keras.optimizers.Optimizer)):
        return keras.saving.serialize_keras_object(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def optimizer_hyperparameters(optimizer):
    """The optimizer's class and its config without the name, as plain JSON values."""
    config = {k: _plain(v) for k, v in optimizer.get_config().items() if k != "name"}
    return {"class_name": type(optimizer).__name__, **config}


def _current_learning_rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def _compile_with(model, optimizer):
    """Compile `model` again with the same loss, metrics and options but `optimizer`."""
    config = keras.saving.deserialize_keras_object(compile_config(model))
    config["optimizer"] = optimizer
    model.compile(**config)


def reconfigure(model, changes):
    """Give `model` an optimizer of the same class with `changes` applied, keeping its state.

    The optimizer is rebuilt from its config with the changed entries, then every
    variable of the old one (iteration count, slots) is copied into the variable
    of the same name and shape, except the learning rate when it changes. A
    variable that did not exist before (momentum switched on) starts at zero.

    Returns the names of the new optimizer's variables that had no counterpart.
    """
    old = model.optimizer
    config = old.get_config()
    unknown = sorted(k for k in changes if k not in config or k == "name")
    if unknown:
        known = sorted(k for k in config if k != "name")
        raise ValueError(f"Unknown hyperparameter(s) {unknown} for {type(old).__name__}; its hyperparameters are {known}.")
    if not old.built:
        old.build(model.trainable_variables)
    config.update(changes)
    new = type(old).from_config(config)
    _compile_with(model, new)
    new.build(model.trainable_variables)

    def key(variable):  # "adam/dense_kernel_momentum" -> "dense_kernel_momentum"
        return variable.path.split("/", 1)[-1]

    previous = {key(v): v for v in old.variables}
    skip = {"learning_rate"} if "learning_rate" in changes else set()
    fresh = []
    for variable in new.variables:
        source = previous.get(key(variable))
        if key(variable) in skip:
            continue
        if source is None or tuple(source.shape) != tuple(variable.shape):
            fresh.append(key(variable))
            continue
        variable.assign(source)
    return fresh


class _Recorder(keras.callbacks.Callback):
    """Appends one record per epoch to the panda's history and moves its head."""

    def __init__(self, panda, session, pattern):
        super().__init__()
        self.panda, self.session, self.pattern = panda, session, pattern

    def on_epoch_end(self, epoch, logs=None):
        record = {"session": self.session["session"], "epoch": epoch + 1, "learning_rate": _current_learning_rate(self.model.optimizer)}
        record.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        checkpoint = os.path.relpath(self.pattern.format(epoch=epoch + 1), self.panda.directory)
        self.session.update(end_epoch=epoch + 1, checkpoint=checkpoint)
        self.panda._log["epochs"].append(record)
        self.panda._log["head"] = {"session": self.session["session"], "epoch": epoch + 1, "checkpoint": checkpoint}
        self.panda._save_log()


class Panda:
    """Babysit one model across sessions: the course's "panda" way of tuning.

    "Watch the learning curve; each day nudge the learning rate (or add
    momentum), and if the model got worse, go back to yesterday." Each call to
    `train` is a session: it continues from the last checkpoint on disk (or
    builds the model the first time), applies the hyperparameter changes asked
    for, trains, writes a checkpoint after every epoch and appends to the
    history. A new `Panda` on the same directory, in another process or on
    another day, continues exactly where the last session stopped, interrupted
    or not.

    Files in `directory`:

    * ``checkpoints/session<NNN>-epoch<EEEE>.h5``: `kerastools.saving` files
      (weights, optimizer state, random-generator states); each session keeps its last one;
    * ``history.json``: every session (start, changes, optimizer
      hyperparameters, fit arguments, note, end, checkpoint) and every epoch
      (session, epoch, learning rate used, logs), plus the ``head``, the
      checkpoint the next session starts from.

    Args:
        directory: where the checkpoints and the history are kept (created).
        build_fn: a function returning a *compiled* model, called by the first
            session only. Defaults to `None` (then a checkpoint must exist).

    Example:

    >>> def build_model():
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile(kt.SGD(0.01), loss="mse")
    ...     return model
    >>> x = np.random.default_rng(0).random((16, 2)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> panda = kt.tuning.Panda("runs/panda", build_model)
    >>> _ = panda.train(x, y, epochs=2, verbose=0)  # day 1
    >>> panda = kt.tuning.Panda("runs/panda")  # day 2, e.g. in a new process
    >>> _ = panda.train(x, y, epochs=1, learning_rate=3e-3, verbose=0)
    >>> [(e["session"], e["epoch"], round(e["learning_rate"], 6)) for e in panda.history]
    [(1, 1, 0.01), (1, 2, 0.01), (2, 3, 0.003)]
    """

    def __init__(self, directory, build_fn=None):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"Argument `directory` must be a path. Received: directory={directory!r}")
        if build_fn is not None and not callable(build_fn):
            raise TypeError(f"Argument `build_fn` must be a function returning a compiled model, or None. Received: build_fn={build_fn!r}")
        self.directory = os.path.abspath(os.fspath(directory))
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise ValueError(f"Argument `directory` is a file, not a directory. Received: directory={os.fspath(directory)!r}")
        os.makedirs(os.path.join(self.directory, "checkpoints"), exist_ok=True)
        self.build_fn = build_fn
        self.model = None
        self._log = self._load_log()

    # -- the history file ----------------------------------------------------

    def _load_log(self):
        path = os.path.join(self.directory, HISTORY_FILE)
        if not os.path.exists(path):
            return {"format_version": FORMAT_VERSION, "sessions": [], "epochs": [], "head": None}
        with open(path, encoding="utf-8") as handle:
            log = json.load(handle)
        if log.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"The history {path!r} was written by a newer kerastools; upgrade kerastools.")
        return log

    def _save_log(self):
        with _atomic.atomic_path(os.path.join(self.directory, HISTORY_FILE)) as tmp:
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(self._log, handle, indent=1)

    @property
    def sessions(self):
        """Every session, oldest first (copies of the records in ``history.json``)."""
        return json.loads(json.dumps(self._log["sessions"]))

    @property
    def history(self):
        """Every epoch of every session, in training order: dicts with ``session``,
        ``epoch``, ``learning_rate`` and the logs (``loss``, ``val_loss``...)."""
        return json.loads(json.dumps(self._log["epochs"]))

    @property
    def head(self):
        """The checkpoint the next session starts from: ``{"session", "epoch", "checkpoint"}`` or `None`."""
        head = self._log["head"]
        return None if head is None else dict(head)

    # -- sessions ------------------------------------------------------------

    def rollback(self, session):
        """Make the next session start from the end of `session` (the course's
        "go back to yesterday's values"); the history keeps everything."""
        numbers = [s["session"] for s in self._log["sessions"] if s.get("checkpoint")]
        check_int("session", session, low=1)
        if session not in numbers:
            raise ValueError(f"Argument `session` must be a session with a checkpoint, one of {numbers}. Received: session={session!r}")
        record = next(s for s in self._log["sessions"] if s["session"] == session)
        self._log["head"] = {"session": session, "epoch": record["end_epoch"], "checkpoint": record["checkpoint"]}
        self._log["sessions"].append({"session": None, "event": "rollback", "to_session": session, "time": _now()})
        self._save_log()

    def _start_model(self):
        head = self._log["head"]
        if head is not None:
            return saving.load_model(os.path.join(self.directory, head["checkpoint"])), head["epoch"], head["checkpoint"]
        if self.build_fn is None:
            raise ValueError(f"No checkpoint in {self.directory!r} yet: pass `build_fn` for the first session.")
        model = self.build_fn()
        if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
            raise TypeError(f"`build_fn` must return a compiled keras.Model. Received: {model!r}")
        return model, 0, None

    def train(self, x=None, y=None, *, epochs=1, learning_rate=None, hyperparameters=None, optimizer=None, note="", callbacks=None, **fit_kwargs):
        """Run one session: continue from the head checkpoint, apply changes, train `epochs` more.

        Args:
            x: training inputs, as for `model.fit`. Defaults to `None`.
            y: training targets, as for `model.fit`. Defaults to `None`.
            epochs: epochs in this session, >= 1. Defaults to `1`.
            learning_rate: a new learning rate (float or schedule) from this
                session on. Defaults to `None` (unchanged).
            hyperparameters: other optimizer hyperparameters to change, e.g.
                ``{"beta_1": 0.95}`` or ``{"momentum": 0.9}``; the optimizer's
                state (iteration count, slots) is kept. Defaults to `None`.
            optimizer: a new optimizer instance instead (its state starts from
                zero); not together with `learning_rate`/`hyperparameters`.
                Defaults to `None`.
            note: free text kept in the session's record. Defaults to `""`.
            callbacks: more Keras callbacks for this session. Defaults to `None`.
            **fit_kwargs: other `model.fit` arguments (``validation_data``,
                ``batch_size``, ``shuffle``...).

        Returns:
            The session's `keras.callbacks.History`.
        """
        epochs = check_int("epochs", epochs, low=1)
        changes = dict(hyperparameters or {})
        if hyperparameters is not None and not isinstance(hyperparameters, dict):
            raise TypeError(f"Argument `hyperparameters` must be a dict. Received: hyperparameters={hyperparameters!r}")
        if learning_rate is not None:
            changes["learning_rate"] = learning_rate
        if optimizer is not None:
            if not isinstance(optimizer, keras.optimizers.Optimizer):
                raise TypeError(f"Argument `optimizer` must be a keras.optimizers.Optimizer. Received: optimizer={optimizer!r}")
            if changes:
                raise ValueError("Pass either `optimizer` or `learning_rate`/`hyperparameters`, not both.")
        for key in ("epochs", "initial_epoch"):
            if key in fit_kwargs:
                raise ValueError(f"Argument `{key}` is set by the panda (sessions count epochs); use `epochs` for this session's length.")
        for record in self._log["sessions"]:
            if record.get("status") == "running":
                record["status"] = "interrupted"

        model, initial_epoch, start = self._start_model()
        fresh_state = []
        if optimizer is not None:
            _compile_with(model, optimizer)
        elif changes:
            fresh_state = reconfigure(model, changes)
        number = 1 + sum(1 for s in self._log["sessions"] if s.get("session") is not None)
        session = {
            "session": number,
            "started": _now(),
            "initial_epoch": initial_epoch,
            "start_checkpoint": start,
            "changes": {k: _plain(v) for k, v in changes.items()},
            "new_optimizer": optimizer is not None,
            "fresh_optimizer_state": fresh_state,
            "optimizer": optimizer_hyperparameters(model.optimizer),
            "fit": {"epochs": epochs, **{k: _plain(v) for k, v in fit_kwargs.items() if isinstance(v, (int, float, str, bool))}},
            "note": str(note),
            "status": "running",
            "end_epoch": None,
            "checkpoint": None,
        }
        self._log["sessions"].append(session)
        self._save_log()
        folder = os.path.join(self.directory, "checkpoints").replace("{", "{{").replace("}", "}}")  # a str.format pattern
        pattern = os.path.join(folder, f"session{number:03d}-epoch{{epoch:04d}}.h5")
        history = model.fit(
            x,
            y,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            callbacks=[HDF5Checkpoint(pattern, keep_last=1), _Recorder(self, session, pattern), *(callbacks or [])],
            **fit_kwargs,
        )
        session.update(status="completed", finished=_now())
        self._save_log()
        self.model = model
        return history
