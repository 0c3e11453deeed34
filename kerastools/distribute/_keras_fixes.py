"""Work-arounds for Keras defects under `tf.distribute.MultiWorkerMirroredStrategy`.

This is the ONE module of kerastools that touches Keras internals
(``keras.src``): the defects live in private functions of Keras's TensorFlow
trainer, ``keras/src/backend/tensorflow/trainer.py``, so the only fix that keeps
a user's script plain Keras is to wrap those functions. Every other kerastools
module uses Keras's public API only.

Each work-around

* is a wrapper that calls the original Keras function unchanged unless the
  strategy is `MultiWorkerMirroredStrategy` in multi-worker mode (Keras's own
  test ``_collective_all_reduce_multi_worker``), so no other strategy and no
  single-process run sees a difference;
* is installed only when a probe shows that the installed Keras has the
  defect: the probe calls the original Keras function on stand-in objects and
  looks at what it does (a behaviour check, not a version-string check);
* is reported by `needed_work_arounds`; ``tests/distribute/test_keras_fixes.py``
  fails as soon as an upstream Keras no longer needs one, so that it is removed.

The defects (Keras 3.15 with TensorFlow 2.21; the upstream reports are
keras-team/keras#20585, "MultiWorkerMirroredStrategy: model.fit fails", and
tensorflow/tensorflow#72388, "Keras 3 fit with MultiWorkerMirroredStrategy"):

1. ``symbolic_build_reduces_batch`` -- `TensorFlowTrainer._maybe_symbolic_build`
   takes the first batch of the distributed iterator and, to know its shapes,
   calls ``strategy.reduce("MEAN", batch, axis=None)`` eagerly. Under
   collective all-reduce across workers that raises ``ValueError: Attempt to
   convert a value (PerReplica:...) with an unsupported type`` before the first
   step. The symbolic build only needs shapes and dtypes: the fix takes them
   from the dataset's element spec. That also avoids a second defect of the
   same function, under every strategy: pulling that batch starts one extra
   pass over the dataset before the first epoch, so a dataset whose order
   depends on the pass (``kt.data.mini_batches(..., as_dataset=True)``,
   ``Dataset.shuffle(reshuffle_each_iteration=True)``) trains epoch ``e`` on the
   order of epoch ``e + 1``. (Under other strategies Keras's behaviour is kept.)
2. ``scalar_mean_axis_0`` -- `reduce_per_replica(..., reduction="mean")` (the
   metrics returned by every train and test step) calls
   ``strategy.reduce("MEAN", value, axis=0)`` under collective all-reduce
   across workers. Metrics are scalars, so this raises ``Invalid reduction
   dimension 0 for input with 0 dimensions``; for a vector it would also be
   wrong (a mean over the values, not over the replicas). The single-worker
   branch of the same function averages over replicas only
   (``tf.reduce_mean(local_results, axis=0)`` of the stacked replicas); the fix
   does the same across workers: ``strategy.reduce("MEAN", value, axis=None)``.
"""

import contextlib
import functools
import threading

import numpy as np
import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as _trainer

_lock = threading.Lock()
_installed = {}


def _is_multi_worker(strategy):
    # Keras's own predicate for "collective all-reduce across workers", so the
    # work-arounds switch on exactly where Keras's multi-worker branch does.
    return strategy is not None and _trainer._collective_all_reduce_multi_worker(strategy)


# --- Stand-ins for the probes: just enough of a strategy to watch Keras call it.
# NumPy values only: a TensorFlow op here would start the eager context, after
# which no collective strategy can be configured in this process.


class _ProbeExtended:
    def _in_multi_worker_mode(self):
        return True


class _ProbeStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """A `MultiWorkerMirroredStrategy` in multi-worker mode that only records calls."""

    def __init__(self):  # no cluster, no collective ops: nothing of the base runs
        self.calls = []

    @property
    def extended(self):
        return _ProbeExtended()

    def reduce(self, reduce_op, value, axis):
        self.calls.append(("reduce", reduce_op, axis))
        return value

    def experimental_local_results(self, value):
        return getattr(value, "values", (value,))

    @contextlib.contextmanager
    def scope(self):
        yield


class _ProbeDistributedValue(tf.distribute.DistributedValues):
    def __init__(self, value):
        self.values = (value,)


class _ProbeModel:
    def __init__(self, strategy):
        self._distribute_strategy = strategy
        self.distribute_strategy = strategy
        self.built_with = None

    def _symbolic_build(self, data_batch=None):
        self.built_with = data_batch


def _probe_symbolic_build(original):
    """Whether Keras's `_maybe_symbolic_build` all-reduces the first batch across workers."""
    strategy = _ProbeStrategy()
    batch = _ProbeDistributedValue(np.zeros((2, 3), np.float32))
    original(_ProbeModel(strategy), iterator=[(0, 0, iter([batch]))])
    return any(call[0] == "reduce" for call in strategy.calls)


def _probe_scalar_mean(original):
    """Whether Keras's `reduce_per_replica` reduces a scalar metric along axis 0 across workers."""
    strategy = _ProbeStrategy()
    original({"loss": np.float32(1.0)}, strategy, "auto")
    return any(call[0] == "reduce" and call[2] == 0 for call in strategy.calls)


# --- The work-arounds.


def _spec_batch(iterator):
    """The dataset's element spec with an unknown batch size, or `None` if not all tensors."""
    adapter = getattr(iterator, "data_adapter", None)
    if adapter is None:
        return None
    # A distributed dataset's spec has one `PerReplicaSpec` per tensor: its
    # components are the replicas' (equal) specs; take the first.
    spec = tf.nest.map_structure(
        lambda s: s if isinstance(s, tf.TensorSpec) else (tf.nest.flatten(s, expand_composites=True) or [None])[0],
        adapter.get_tf_dataset().element_spec,
    )
    if not all(isinstance(s, tf.TensorSpec) for s in tf.nest.flatten(spec)):
        return None
    return tf.nest.map_structure(lambda s: tf.TensorSpec([None, *s.shape[1:]] if s.shape.rank else [], s.dtype), spec)


def _fixed_maybe_symbolic_build(original):
    @functools.wraps(original)
    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or not _is_multi_worker(strategy):
            return original(self, iterator=iterator, data_batch=data_batch)
        # Work-around 1 (keras-team/keras#20585): the symbolic build needs only
        # shapes and dtypes. Take them from the dataset's element spec: no
        # eager cross-worker all-reduce, and no batch pulled, so the dataset
        # is not iterated one extra time before the first epoch (which, for a
        # dataset whose order depends on the pass, would shift every epoch).
        data_batch = _spec_batch(iterator)
        if data_batch is None:
            # Ragged, sparse or nested distributed values: this worker's first
            # replica has the shapes, as the original's reduction would.
            for _, _, it in iterator:
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v,
                    next(it),
                )
                break
        return original(self, iterator=None, data_batch=data_batch)

    return _maybe_symbolic_build


def _fixed_reduce_per_replica(original):
    @functools.wraps(original)
    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not _is_multi_worker(strategy):
            return original(values, strategy, reduction)
        # The mean over replicas, as Keras's single-worker branch computes it,
        # taken across workers; axis=None keeps the value's own shape
        # (work-around 2, tensorflow/tensorflow#72388).
        return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)

    return reduce_per_replica


# name -> (owner, attribute, probe, fix); owner is a class or module of Keras.
_WORK_AROUNDS = {
    "symbolic_build_reduces_batch": (
        _trainer.TensorFlowTrainer,
        "_maybe_symbolic_build",
        _probe_symbolic_build,
        _fixed_maybe_symbolic_build,
    ),
    "scalar_mean_axis_0": (_trainer, "reduce_per_replica", _probe_scalar_mean, _fixed_reduce_per_replica),
}

UPSTREAM = {
    "symbolic_build_reduces_batch": "keras-team/keras#20585",
    "scalar_mean_axis_0": "tensorflow/tensorflow#72388",
}


def needed_work_arounds():
    """The names of the work-arounds the installed Keras needs (probed on the original functions)."""
    names = []
    for name, (owner, attribute, probe, _) in _WORK_AROUNDS.items():
        original = _installed.get((owner, attribute)) or getattr(owner, attribute)
        if probe(original):
            names.append(name)
    return names


def installed_work_arounds():
    """The names of the work-arounds installed in this process."""
    return [name for name, (owner, attribute, _, _) in _WORK_AROUNDS.items() if (owner, attribute) in _installed]


def install():
    """Install every needed work-around once per process; returns their names."""
    with _lock:
        for name in needed_work_arounds():
            owner, attribute, _, fix = _WORK_AROUNDS[name]
            if (owner, attribute) in _installed:
                continue
            original = getattr(owner, attribute)
            _installed[(owner, attribute)] = original
            setattr(owner, attribute, fix(original))
    return installed_work_arounds()


def uninstall():
    """Restore Keras's original functions (for tests)."""
    with _lock:
        for (owner, attribute), original in list(_installed.items()):
            setattr(owner, attribute, original)
            del _installed[(owner, attribute)]
