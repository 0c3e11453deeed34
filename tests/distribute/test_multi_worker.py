"""2 and 3 local worker processes under `kt.distribute.multi_worker_strategy` against one process.

Each worker runs `_worker.py multi`: plain Keras `fit`/`evaluate`/`predict` of
a CNN of kerastools layers (Conv2D, synchronised BatchNormalization,
MaxPooling2D, Dropout, Softmax) with `kt.Adam`, and with `kt.Momentum` under a
`kt.schedules.ExponentialDecay`, and the same CNN of Keras's built-in layers
with `keras.optimizers.Adam`, on the global batch of 48 digits split over the
workers. The reference is one process with the same global batch (the
default strategy). With dropout active, one process cannot draw the same masks
(kerastools's Dropout folds the replica id into its seed, so N replicas draw N
masks of the per-replica shape); its reference is one process with a
`MirroredStrategy` over N virtual CPUs, which draws exactly the workers' masks.

Tolerances (float32, unit roundoff u = 2**-24 ~ 6e-8, eps = 2u):

* losses: each epoch's loss is a float32 mean of per-example losses, summed
  in another grouping (per replica, then all-reduced) than in one process.
  Recursive summation of n terms is exact to (n - 1) * u relative (Higham,
  *Accuracy and Stability of Numerical Algorithms*, 4.2); with n = 48 per
  step, rtol = 48 * eps = 5.7e-6 bounds it with room for the differences the
  weights carry into later epochs (observed: about 1e-7).
* weights: each of the 15 steps may round each weight (|w| < 2) differently
  by one float32 ulp (2**-23 * 2 = 2.4e-7), because the gradient it adds was
  summed in another order: atol = 15 * 2.4e-7 = 3.6e-6 (observed: <= 3.6e-7).
  Adam divides by sqrt(v): it normalises a gradient whatever its size, so the
  bound assumes every gradient component is computed to a small relative
  error. A weight whose true gradient is exactly zero (a convolution bias
  followed by batch norm) would move by +-lr per step on float32 noise alone,
  up to 2 * lr * steps = 0.09 apart; the CNN has no such weight
  (``use_bias=False`` before batch norm, as usual). A component that is a
  near-cancelling sum has a larger relative error, which Adam turns into a
  step difference of that fraction of lr: on this model and data the largest
  Adam difference observed is 1.8e-7, well inside the bound (on other models
  it can be larger: examples/10_multi_worker.py, a wider CNN, sees 8.6e-6
  after 4 steps, 0.07 % of lr * steps, and checks against 1 % of that).
* predictions: softmax outputs of weights within the bound above, through
  two normalised layers of O(1) gain: atol = 1e-5.
* the workers hold bit-identical weights (they apply the same all-reduced
  update; batch-norm statistics are mean-aggregated); evaluation accuracy is
  equal exactly.
"""

import h5py
import numpy as np
import pytest

import kerastools as kt
from tests.distribute import _cluster, _models

pytestmark = pytest.mark.slow

EPS32 = float(np.finfo(np.float32).eps)
STEPS = _models.EPOCHS * (_models.NUM_TRAIN // _models.GLOBAL_BATCH)
LOSS_RTOL = _models.GLOBAL_BATCH * EPS32
WEIGHT_ATOL = STEPS * 2 * EPS32  # one ulp of a weight in [1, 2) per step
PREDICTION_ATOL = 1e-5


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    _cluster.run_single(out, "reference", "--replicas", 1)
    return _models.load_results(out / "single.npz")


def _cluster_run(n, tmp_path_factory, extended):
    out = tmp_path_factory.mktemp(f"cluster{n}")
    flags = ["--extended"] if extended else []
    if extended:
        _models.write_digits_hdf5(out / "digits.h5")
    workers = _cluster.run_cluster(out, "multi", n, *flags)
    _cluster.run_single(out, "reference", "--replicas", n, *flags)
    return {
        "n": n,
        "out": out,
        "workers": [_models.load_results(out / f"worker{i}.npz") for i in range(n)],
        "mirrored": _models.load_results(out / f"mirrored{n}.npz"),
        "logs": [workers.logs(i) for i in range(n)],
    }


# Two workers train every configuration (also Keras's built-in layers, and
# from a sharded HDF5 file); three workers the kerastools CNN with Adam, with
# Momentum and with dropout, which keeps the suite's run time down.
@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    return _cluster_run(2, tmp_path_factory, extended=True)


@pytest.fixture(scope="module")
def run3(tmp_path_factory):
    return _cluster_run(3, tmp_path_factory, extended=False)


@pytest.fixture(params=["run2", "run3"], ids=["2workers", "3workers"])
def cluster_run(request):
    return request.getfixturevalue(request.param)


def assert_equivalent(got, want):
    # The figures, for the report (shown with `pytest -s`).
    loss = np.max(np.abs(got["loss"] - want["loss"]) / np.abs(want["loss"]))
    weight = max(np.max(np.abs(g - w)) for g, w in zip(_models.weights(got), _models.weights(want)))
    prediction = np.max(np.abs(got["predictions"] - want["predictions"]))
    print(f"\n  max relative loss difference {loss:.2e}, max |weight difference| {weight:.2e}, "
          f"max |prediction difference| {prediction:.2e}, eval loss {float(got['eval_loss']):.7f} vs {float(want['eval_loss']):.7f}")
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=LOSS_RTOL, atol=0)
    assert len(_models.weights(got)) == len(_models.weights(want)) > 0
    for g, w in zip(_models.weights(got), _models.weights(want)):
        np.testing.assert_allclose(g, w, rtol=0, atol=WEIGHT_ATOL)
    np.testing.assert_allclose(got["eval_loss"], want["eval_loss"], rtol=LOSS_RTOL, atol=0)
    assert got["eval_accuracy"] == want["eval_accuracy"]
    assert got["predictions"].shape == want["predictions"].shape == (_models.NUM_TEST, 10)
    np.testing.assert_allclose(got["predictions"], want["predictions"], rtol=0, atol=PREDICTION_ATOL)
    assert int(got["iterations"]) == int(want["iterations"]) == STEPS


def test_work_arounds_were_installed_and_used(cluster_run):
    for log in cluster_run["logs"]:
        assert f"replicas {cluster_run['n']}, work-arounds ['symbolic_build_reduces_batch', 'scalar_mean_axis_0']" in log


def test_every_worker_ends_with_the_same_weights(cluster_run):
    trained = sorted(cluster_run["workers"][0])
    assert {"adam", "momentum", "adam_dropout"} <= set(trained)
    for name in trained:
        first = cluster_run["workers"][0][name]
        for other in cluster_run["workers"][1:]:
            for a, b in zip(_models.weights(first), _models.weights(other[name])):
                np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(first["loss"], other[name]["loss"])
            if "predictions" in first:
                np.testing.assert_array_equal(first["predictions"], other[name]["predictions"])


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_workers_match_one_process_with_the_same_global_batch(cluster_run, single, name):
    assert_equivalent(cluster_run["workers"][0][name], single[name])


def test_keras_built_in_layers_and_adam_match_one_process(run2, single):
    assert_equivalent(run2["workers"][0]["keras_builtin"], single["keras_builtin"])


def test_dropout_matches_one_process_drawing_the_same_per_replica_masks(cluster_run, single):
    got = cluster_run["workers"][0]["adam_dropout"]
    assert_equivalent(got, cluster_run["mirrored"]["adam_dropout"])
    # The comparison is not vacuous: the masks are active and differ from the
    # single-mask run of one replica by far more than the tolerance.
    assert np.max(np.abs(got["loss"] - single["adam_dropout"]["loss"])) > 100 * LOSS_RTOL * np.max(got["loss"])


def test_hdf5_checkpoint_is_written_by_the_chief_only_and_loads_in_one_process(cluster_run):
    out = cluster_run["out"]
    files = sorted(p.name for p in (out / "ckpt").iterdir())
    assert files == [f"epoch{_models.EPOCHS:02d}.h5"], files  # keep_last=1, no temporary left
    assert "HDF5Checkpoint saved" in cluster_run["logs"][0]
    for log in cluster_run["logs"][1:]:
        assert "HDF5Checkpoint" not in log  # the other workers wrote and deleted nothing
    model = kt.saving.load_model(out / "ckpt" / files[0])
    final = cluster_run["workers"][0]["adam"]
    for a, b in zip(model.get_weights(), _models.weights(final)):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations.numpy()) == STEPS
    with h5py.File(out / "ckpt" / files[0], "r") as handle:
        assert "kerastools" in handle  # the complete training state, not weights only


def test_sharded_hdf5_matches_one_process_reading_the_shards_the_same_way(run2):
    # Each worker streamed only its rows of digits.h5 (tests/distribute/test_data.py
    # pins which); one process combining the N shards' batches step by step
    # sees the same global batches.
    got, want = run2["workers"][0]["hdf5"], run2["mirrored"]["hdf5"]
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=LOSS_RTOL, atol=0)
    for g, w in zip(_models.weights(got), _models.weights(want)):
        np.testing.assert_allclose(g, w, rtol=0, atol=WEIGHT_ATOL)
    assert int(got["iterations"]) == int(want["iterations"]) == STEPS
    for other in run2["workers"][1:]:
        for a, b in zip(_models.weights(got), _models.weights(other["hdf5"])):
            np.testing.assert_array_equal(a, b)
