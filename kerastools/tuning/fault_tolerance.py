"""Caviar: KerasTuner's distributed mode, made to survive a worker that dies mid-trial.

KerasTuner 1.4.8 (``keras_tuner/src/engine/oracle.py``, ``distribute/oracle_chief.py``)
keeps a trial in ``oracle.ongoing_trials[tuner_id]`` from `create_trial` until that
worker calls `end_trial`. A worker killed mid-trial never does, so its trial
stays ``RUNNING`` forever: it is lost (it still counts towards `max_trials`, so
one trial fewer completes), and the chief never exits, because it waits until
`ongoing_trials` and `tuner_ids` are empty (re-checking every 20 seconds).
`max_retries_per_trial` does not help: retries only follow an ``INVALID``
report, which a dead worker never sends. Only restarting a worker with the same
``KERASTUNER_TUNER_ID`` gets the trial run again.

`fault_tolerant` fixes this on our side, without touching KerasTuner:

* workers send a heartbeat while a trial runs (`Oracle.get_trial` from a
  background thread, harmless to a chief without this fix);
* the chief re-queues a trial whose worker has not been heard of for
  `trial_timeout` seconds (it keeps its id and values: nothing is lost or
  counted twice), forgets that worker, and, while other trials may still come
  back, answers ``IDLE`` rather than ``STOPPED`` so that live workers stay to
  run them;
* a report about a trial that has already ended (from a worker wrongly taken
  for dead) is dropped, so no trial is counted twice; a late report about a
  re-queued trial that has not restarted yet is accepted instead of a re-run;
* the chief's `search` returns as soon as every worker has been told to stop,
  instead of on KerasTuner's 20-second tick.
"""

import json
import os
import socket
import threading
import time

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus

from kerastools.tuning.polling import IdlePolling
from kerastools._validation import check_int, check_number


def caviar_environment(tuner_id, port, host="127.0.0.1"):
    """The environment variables that make a process a chief or a worker of KerasTuner.

    Args:
        tuner_id: ``"chief"`` for the process that runs the oracle, any other
            name (``"tuner0"``, ``"tuner1"``...) for a worker; unique per worker.
        port: the TCP port of the chief's gRPC server, in [1, 65535].
        host: the chief's address. Defaults to `"127.0.0.1"`.

    Returns:
        ``{"KERASTUNER_TUNER_ID": ..., "KERASTUNER_ORACLE_IP": ..., "KERASTUNER_ORACLE_PORT": ...}``
        to add to a child process's environment.

    Example:

    >>> kt.tuning.caviar_environment("tuner0", 8000)
    {'KERASTUNER_TUNER_ID': 'tuner0', 'KERASTUNER_ORACLE_IP': '127.0.0.1', 'KERASTUNER_ORACLE_PORT': '8000'}

    A worker is then started as
    ``subprocess.Popen([sys.executable, "search.py"], env=dict(os.environ, **env))``.
    """
    if not isinstance(tuner_id, str) or not tuner_id:
        raise TypeError(f"Argument `tuner_id` must be a non-empty string. Received: tuner_id={tuner_id!r}")
    port = check_int("port", port, low=1, high=65535)
    if not isinstance(host, str) or not host:
        raise TypeError(f"Argument `host` must be a non-empty string. Received: host={host!r}")
    return {"KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}


def free_port(host="127.0.0.1"):
    """A TCP port that is free on `host` now (another process may still take it before the chief does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _is_chief():
    # The role is KerasTuner's decision, taken from these variables in
    # keras_tuner/src/distribute/utils.py; this only reads it back.
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" in os.environ.get("KERASTUNER_TUNER_ID", "")


class RecoveringOracle:
    """Oracle mixin (put before a `keras_tuner.Oracle` class): re-queues trials of silent workers."""

    def _install_recovery(self, trial_timeout, state_path, clock=time.monotonic):
        self.trial_timeout = trial_timeout
        self._clock = clock
        self._seen_tuner = {}
        self._seen_trial = {}
        self._stop_sent = False
        # A resumed project was reloaded before this mixin existed on the oracle:
        # read back what an earlier run recorded.
        saved = {}
        if os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as handle:
                saved = json.load(handle).get("fault_tolerance", {})
        self.expired_trials = list(saved.get("expired_trials", []))
        self.dropped_reports = list(saved.get("dropped_reports", []))

    def _touch(self, trial_id, now):
        self._seen_trial[trial_id] = now
        for tuner_id, trial in self.ongoing_trials.items():
            if trial.trial_id == trial_id:
                self._seen_tuner[tuner_id] = now

    @keras_tuner.synchronized
    def expire_silent_workers(self):
        """Re-queue the trials of workers not heard of for `trial_timeout` seconds; forget idle silent workers."""
        now = self._clock()
        changed = False
        for tuner_id, trial in list(self.ongoing_trials.items()):
            last = max(self._seen_tuner.setdefault(tuner_id, now), self._seen_trial.setdefault(trial.trial_id, now))
            if now - last > self.trial_timeout:
                del self.ongoing_trials[tuner_id]
                self.tuner_ids.discard(tuner_id)
                # KerasTuner's retry queue: the next worker to ask gets this trial, same id and values.
                self._retry_queue.append(trial.trial_id)
                self.expired_trials.append({"trial_id": trial.trial_id, "tuner_id": tuner_id, "silent_seconds": round(now - last, 3)})
                print(f"Trial {trial.trial_id}: worker {tuner_id!r} silent for {now - last:.1f} s; the trial is queued again.")
                changed = True
        for tuner_id in list(self.tuner_ids):
            if tuner_id not in self.ongoing_trials and now - self._seen_tuner.setdefault(tuner_id, now) > self.trial_timeout:
                self.tuner_ids.discard(tuner_id)
        if changed:
            self.save()

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        now = self._clock()
        self._seen_tuner[tuner_id] = now
        if tuner_id in self.ongoing_trials:
            self._seen_trial[self.ongoing_trials[tuner_id].trial_id] = now
        self.expire_silent_workers()
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.RUNNING:
            self._seen_trial[trial.trial_id] = now
        elif trial.status == TrialStatus.STOPPED:
            if self.ongoing_trials:
                # A running trial may still come back to the queue: keep this worker.
                self.tuner_ids.add(tuner_id)
                return Trial(self.get_space(), status=TrialStatus.IDLE)
            self._stop_sent = True
        return trial

    @keras_tuner.synchronized
    def get_trial(self, trial_id):
        self._touch(trial_id, self._clock())
        return super().get_trial(trial_id)

    def _drop(self, trial_id, what):
        self.dropped_reports.append({"trial_id": trial_id, "report": what})
        print(f"Trial {trial_id}: {what} dropped, the trial has already ended (a worker taken for dead reported late).")

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        if trial_id in self.end_order:
            self._drop(trial_id, "update_trial")
            return self.trials[trial_id]
        self._touch(trial_id, self._clock())
        return super().update_trial(trial_id, metrics, step=step)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        trial_id = trial.trial_id
        held = any(t.trial_id == trial_id for t in self.ongoing_trials.values())
        expired = any(e["trial_id"] == trial_id for e in self.expired_trials)
        if trial_id in self.end_order or not (held or (expired and trial_id in self._retry_queue)):
            self._drop(trial_id, "end_trial")
            return
        if not held:
            # The worker taken for dead finished after all: keep its result, skip the re-run.
            self._retry_queue.remove(trial_id)
        super().end_trial(trial)

    @keras_tuner.synchronized
    def search_finished(self):
        """Whether every worker has been told to stop and no trial runs (the chief may exit)."""
        return self._stop_sent and not self.ongoing_trials and not self.tuner_ids

    def get_state(self):
        state = super().get_state()
        state["fault_tolerance"] = {"expired_trials": self.expired_trials, "dropped_reports": self.dropped_reports}
        return state

    def set_state(self, state):
        super().set_state(state)
        saved = state.get("fault_tolerance", {})
        self.expired_trials = list(saved.get("expired_trials", []))
        self.dropped_reports = list(saved.get("dropped_reports", []))


def _heartbeat(oracle, trial_id, stop, interval):
    while not stop.wait(interval):
        try:
            oracle.get_trial(trial_id)
        except Exception:  # noqa: BLE001 - the chief is unreachable; the trial's own report will say so
            pass


class FaultTolerantTuner(IdlePolling):
    """Tuner mixin: heartbeats on workers, a prompt return on the chief."""

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if isinstance(self.oracle, keras_tuner.Oracle):
            return  # the oracle is in this process: nothing to keep alive
        self._heartbeat_stop = threading.Event()
        threading.Thread(
            target=_heartbeat,
            args=(self.oracle, trial.trial_id, self._heartbeat_stop, self.heartbeat_interval),
            name=f"heartbeat-{trial.trial_id}",
            daemon=True,
        ).start()

    def on_trial_end(self, trial):
        stop = getattr(self, "_heartbeat_stop", None)
        if stop is not None:
            stop.set()
        super().on_trial_end(trial)

    def search(self, *fit_args, **fit_kwargs):
        if not _is_chief():
            return super().search(*fit_args, **fit_kwargs)
        # KerasTuner's chief serves in a loop that re-checks for the end every 20
        # seconds; serve from a daemon thread instead and return once it is over.
        failure = []
        serve = super().search

        def run():
            try:
                serve(*fit_args, **fit_kwargs)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(err)

        server = threading.Thread(target=run, name="keras-tuner-chief", daemon=True)
        server.start()
        while server.is_alive():
            self.oracle.expire_silent_workers()
            if self.oracle.search_finished():
                break
            server.join(self.idle_poll_interval)
        if failure:
            raise failure[0]
        self.save()


_SUBCLASSES = {}


def _with_mixin(cls, mixin):
    if issubclass(cls, mixin):
        return cls
    key = (cls, mixin)
    if key not in _SUBCLASSES:
        _SUBCLASSES[key] = type(cls.__name__, (mixin, cls), {"__module__": cls.__module__, "__doc__": cls.__doc__})
    return _SUBCLASSES[key]


def fault_tolerant(tuner, *, trial_timeout=60.0, heartbeat_interval=None):
    """Make a KerasTuner tuner survive workers that die in the distributed mode ("caviar").

    Call it in every process (the chief and each worker) right after creating
    the tuner, before `search`. On the chief it upgrades the oracle: a trial
    whose worker is silent for `trial_timeout` seconds is queued again and run
    by another worker, the search waits for it instead of stopping, and late
    reports about ended trials are dropped (each trial is counted once). On a
    worker it sends a heartbeat every `heartbeat_interval` seconds while a trial
    runs, and waits `heartbeat_interval` (at most half a second) between asks
    when the oracle answers ``IDLE``. The chief's `search` returns as soon as
    all workers have stopped. Any tuner works: `keras_tuner.RandomSearch`,
    `Hyperband`, `BayesianOptimization`, `CoarseToFine`...; without the
    distributed environment it changes nothing visible.

    Args:
        tuner: a `keras_tuner` tuner, already constructed.
        trial_timeout: seconds of silence after which a worker is taken for
            dead, > 0. Defaults to `60.0`.
        heartbeat_interval: seconds between heartbeats, in (0, trial_timeout).
            Defaults to `None`: ``trial_timeout / 5``.

    Returns:
        `tuner` itself, upgraded in place (its class and its oracle's class
        become subclasses with the behaviour above).

    Example:

    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile(kt.SGD(kt.tuning.learning_rate(hp, max_value=0.1)), loss="mse")
    ...     return model
    >>> x = np.random.default_rng(0).random((16, 2)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> tuner = keras_tuner.RandomSearch(build, objective="val_loss", max_trials=2, seed=1,
    ...                                  directory="runs", project_name="caviar")
    >>> tuner = kt.tuning.fault_tolerant(tuner, trial_timeout=30)
    >>> tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    >>> len(tuner.oracle.trials)
    2

    The same script runs as the chief and as every worker, each with its
    `caviar_environment`; without those variables, as here, it runs alone.

    Note:
        The oracle's state (``oracle.json``) records ``expired_trials`` (trial,
        worker, silent seconds) and ``dropped_reports``. A worker that was only
        paused longer than `trial_timeout` is taken for dead: if it reports
        first, its result is kept and the other run's report dropped, so work
        may be repeated but never counted twice.
    """
    if not isinstance(tuner, keras_tuner.engine.base_tuner.BaseTuner):
        raise TypeError(f"Argument `tuner` must be a keras_tuner tuner. Received: tuner={tuner!r} of type {type(tuner).__name__}")
    trial_timeout = check_number("trial_timeout", trial_timeout, low=0.0, low_inclusive=False)
    if heartbeat_interval is None:
        heartbeat_interval = trial_timeout / 5
    heartbeat_interval = check_number("heartbeat_interval", heartbeat_interval, low=0.0, high=trial_timeout, low_inclusive=False, high_inclusive=False)
    if isinstance(tuner.oracle, keras_tuner.Oracle):
        oracle = tuner.oracle
        oracle.__class__ = _with_mixin(type(oracle), RecoveringOracle)
        # KerasTuner keeps the oracle's state in <project_dir>/oracle.json.
        oracle._install_recovery(trial_timeout, os.path.join(tuner.project_dir, "oracle.json"))
    tuner.__class__ = _with_mixin(type(tuner), FaultTolerantTuner)
    tuner.heartbeat_interval = heartbeat_interval
    tuner.idle_poll_interval = min(0.5, heartbeat_interval)
    return tuner
