"""The Keras work-arounds: still needed (else this fails, so they get removed), confined
to multi-worker runs, and undoing exactly the defect their probe detects."""

import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.tensorflow import trainer

import kerastools as kt
from kerastools.distribute import _keras_fixes


@pytest.fixture
def installed():
    _keras_fixes.install()
    yield
    _keras_fixes.uninstall()


@pytest.mark.parametrize("name", sorted(_keras_fixes.UPSTREAM))
def test_the_installed_keras_still_needs_the_work_around(name):
    # When this fails, upstream Keras has fixed the defect: delete the
    # work-around from kerastools/distribute/_keras_fixes.py, its entry in
    # UPSTREAM, and the mention in docs/guides/distributed.md.
    assert name in kt.distribute.needed_work_arounds(), (
        f"Keras no longer needs the work-around {name!r} ({_keras_fixes.UPSTREAM[name]}); remove it."
    )


def test_every_work_around_names_its_upstream_issue():
    assert set(_keras_fixes.UPSTREAM) == set(_keras_fixes._WORK_AROUNDS)
    for issue in _keras_fixes.UPSTREAM.values():
        assert issue.startswith(("keras-team/keras#", "tensorflow/tensorflow#")), issue
    assert kt.distribute.WORK_AROUNDS is _keras_fixes.UPSTREAM


def test_install_is_idempotent_and_uninstall_restores_keras(installed):
    patched = (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica)
    assert _keras_fixes.install() == sorted(_keras_fixes.UPSTREAM, key=list(_keras_fixes._WORK_AROUNDS).index)
    assert (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica) == patched
    _keras_fixes.uninstall()
    assert trainer.TensorFlowTrainer._maybe_symbolic_build is patched[0].__wrapped__
    assert trainer.reduce_per_replica is patched[1].__wrapped__
    assert kt.distribute.installed_work_arounds() == []


def test_the_patched_functions_no_longer_show_the_defects(installed):
    # The probes, run on the installed wrappers: no eager all-reduce of the
    # first batch, no axis=0 reduction of a scalar.
    assert not _keras_fixes._probe_symbolic_build(trainer.TensorFlowTrainer._maybe_symbolic_build)
    assert not _keras_fixes._probe_scalar_mean(trainer.reduce_per_replica)
    # ... while the needed list still reports what the original Keras does.
    assert kt.distribute.needed_work_arounds() == list(_keras_fixes._WORK_AROUNDS)


def test_the_multi_worker_mean_keeps_the_value_shape_and_averages_over_replicas(installed):
    strategy = _keras_fixes._ProbeStrategy()
    values = {"loss": np.float32(2.0), "per_class": np.ones(3, np.float32)}
    out = trainer.reduce_per_replica(values, strategy, "auto")
    assert strategy.calls == [("reduce", "MEAN", None), ("reduce", "MEAN", None)]
    np.testing.assert_array_equal(out["per_class"], values["per_class"])


class _SingleWorkerProbe(_keras_fixes._ProbeStrategy):
    @property
    def extended(self):
        class Extended:
            def _in_multi_worker_mode(self):
                return False

        return Extended()


@pytest.mark.parametrize("reduction", ["auto", "mean", "sum", "first", "concat"])
def test_other_strategies_get_the_original_reduction(installed, reduction):
    for strategy in (tf.distribute.get_strategy(), _SingleWorkerProbe()):
        value = tf.constant([1.0, 2.0])
        got = trainer.reduce_per_replica({"x": value}, strategy, reduction)
        want = trainer.reduce_per_replica.__wrapped__({"x": value}, strategy, reduction)
        np.testing.assert_array_equal(got["x"], want["x"])
    assert _SingleWorkerProbe().calls == []


def test_other_strategies_get_the_original_symbolic_build(installed):
    # Not multi-worker: the wrapper hands everything to Keras's function, which
    # reduces the first batch (its own behaviour, kept).
    strategy = _SingleWorkerProbe()
    model = _keras_fixes._ProbeModel(strategy)
    batch = _keras_fixes._ProbeDistributedValue(np.zeros((2, 3), np.float32))
    trainer.TensorFlowTrainer._maybe_symbolic_build(model, iterator=[(0, 0, iter([batch]))])
    assert strategy.calls == [("reduce", "MEAN", None)]
    # Multi-worker without a data adapter: the first local replica's values, no reduce.
    strategy = _keras_fixes._ProbeStrategy()
    model = _keras_fixes._ProbeModel(strategy)
    trainer.TensorFlowTrainer._maybe_symbolic_build(model, iterator=[(0, 0, iter([batch]))])
    assert strategy.calls == []
    np.testing.assert_array_equal(model.built_with, np.zeros((2, 3)))


def test_the_spec_batch_has_an_unknown_batch_size():
    class Adapter:
        def get_tf_dataset(self):
            return tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1), np.float32), np.zeros(4, np.int64))).batch(2)

    class Iterator:
        data_adapter = Adapter()

    x, y = _keras_fixes._spec_batch(Iterator())
    assert x == tf.TensorSpec([None, 8, 8, 1], tf.float32) and y == tf.TensorSpec([None], tf.int64)


@pytest.mark.slow
def test_the_probes_start_no_tensorflow_context():
    # A TensorFlow op before the strategy would make `MultiWorkerMirroredStrategy`
    # fail ("Collective ops must be configured at program startup"); a fresh
    # process shows that the probes run none.
    import subprocess
    import sys

    code = (
        "from tensorflow.python.eager import context\n"
        "from kerastools.distribute import _keras_fixes\n"
        "assert _keras_fixes.needed_work_arounds()\n"
        "assert context.context()._context_handle is None, 'the probes started the eager context'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]
