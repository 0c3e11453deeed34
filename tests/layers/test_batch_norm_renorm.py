"""BatchNormalization with batch renormalisation (Ioffe 2017): r and d, clipping, moving statistics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import BatchNormalization
from tests.layers import batch_norm_reference as ref
from tests.layers._bn_helpers import random_mask, rng, statistics, train_step

CLIPPINGS = {
    "unclipped": None,
    "clipped": {"rmax": 1.2, "rmin": 0.8, "dmax": 0.3},
    "rmax-only": {"rmax": 1.1},
}


def _renorm_layer(shape, generator, clipping, dtype="float64", cls=BatchNormalization, **kwargs):
    """A built renorm layer whose renorm statistics are far from the batch's, so
    that r and d are far from (1, 0) and clipping bites."""
    layer = cls(renorm=True, renorm_clipping=clipping, momentum=0.9, renorm_momentum=0.7,
                epsilon=1e-3, dtype=dtype, **kwargs)
    layer.build(shape)
    features = shape[-1]
    values = {
        "gamma": generator.random(features) + 0.5,
        "beta": generator.standard_normal(features),
        "moving_mean": generator.standard_normal(features),
        "moving_variance": generator.random(features) + 0.5,
        "moving_stddev": generator.random(features) + 0.5,
        "renorm_mean": generator.standard_normal(features) * 2,
        "renorm_stddev": generator.random(features) * 3 + 0.2,
    }
    for name, value in values.items():
        getattr(layer, name).assign(value.astype(dtype))
    return layer


@pytest.mark.parametrize("clipping", list(CLIPPINGS.values()), ids=list(CLIPPINGS))
@pytest.mark.parametrize("shape, mask_shape", [((8, 3), None), ((3, 4, 4, 2), None), ((4, 6, 3), (4, 6))],
                         ids=["2-D", "4-D", "3-D-masked"])
def test_renorm_training_steps_match_the_float64_reference(clipping, shape, mask_shape):
    generator = rng(20)
    layer = _renorm_layer(shape, generator, clipping)
    clipped_r = clipped_d = False
    for _ in range(2):  # the second step uses the renorm statistics the first updated
        x = generator.standard_normal(shape) * 1.5 + 0.5
        dy = generator.standard_normal(shape)
        mask = None if mask_shape is None else random_mask(generator, mask_shape)
        before = statistics(layer)
        gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
        y, dx, dgamma, dbeta = train_step(layer, x, dy, mask)

        renorm = {"mean": before["renorm_mean"], "stddev": before["renorm_stddev"], **(clipping or {})}
        y_ref, cache = ref.forward(x, gamma, beta, 1e-3, mask=mask, renorm=renorm)
        dx_ref, dgamma_ref, dbeta_ref = ref.backward(dy, cache)
        # float64 on both sides, different summation orders.
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dgamma, dgamma_ref, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(dbeta, dbeta_ref, rtol=1e-12)
        expected = ref.moving_statistics(cache, before, 1e-3, 0.9, renorm_momentum=0.7)
        for name, value in statistics(layer).items():
            np.testing.assert_allclose(value, expected[name], rtol=1e-12, err_msg=name)
        clipped_r |= bool(np.isin(cache["r"], [0.8, 1.2]).any())
        clipped_d |= bool(np.isin(np.abs(cache["d"]), [0.3]).any())
    if clipping == CLIPPINGS["clipped"]:
        # Not vacuous: the clipping bounds were reached.
        assert clipped_r and clipped_d


@pytest.mark.parametrize("shape", [(6, 3), (3, 3, 2, 3)], ids=["2-D", "4-D"])
@pytest.mark.parametrize("training", [True, False], ids=["batch-stats", "moving-stats"])
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_gradient_check_float64_with_renorm(shape, training, masked):
    """Finite differences of the whole layer against the hand-written gradient.

    The paper's gradient treats r and d as constants, which the true derivative
    of the layer matches only where r and d do not move with x: here both are
    held at their clipping bounds (renorm statistics far from the batch's:
    r = sigma_B / sigma >> rmax, d >> dmax), so r = 1.7 and d = 0.4 around x
    and the check covers the full backward pass, dgamma = r * sum(dy * x_hat)
    + d * sum(dy) included. (Unclipped r and d are checked against the float64
    reference above.) renorm_momentum=1 freezes the renorm statistics between
    the many calls of the finite differences.
    """
    generator = rng(21)
    layer = BatchNormalization(renorm=True, renorm_clipping={"rmax": 1.7, "dmax": 0.4},
                               renorm_momentum=1.0, epsilon=1e-3)
    layer.build(shape)
    for name in ("gamma", "moving_variance"):
        getattr(layer, name).assign(generator.random(shape[-1]) + 0.5)
    for name in ("beta", "moving_mean"):
        getattr(layer, name).assign(generator.standard_normal(shape[-1]))
    layer.renorm_mean.assign(np.full(shape[-1], -100.0))
    layer.renorm_stddev.assign(np.full(shape[-1], 0.01))  # floored at sqrt(epsilon) = 0.032
    x = generator.standard_normal(shape) * 2 + 0.5
    mask = random_mask(generator, shape[:-1]) if masked else None
    report = assert_gradients_close(
        layer, x, wrt="both", training=training, seed=4, call_kwargs={"mask": mask}
    )
    assert set(report.per_variable) == {layer.gamma.path, layer.beta.path, "input"}
    if training:  # the clipping bounds are what the layer used
        _, cache = ref.forward(x, None, None, 1e-3, mask=mask, renorm={
            "mean": layer.renorm_mean.numpy(), "stddev": layer.renorm_stddev.numpy(), "rmax": 1.7, "dmax": 0.4})
        np.testing.assert_array_equal(cache["r"], 1.7)
        np.testing.assert_array_equal(cache["d"], 0.4)


@pytest.mark.parametrize("clipping", list(CLIPPINGS.values()), ids=list(CLIPPINGS))
@pytest.mark.parametrize("shape, mask_shape", [((16, 4), None), ((8, 5, 5, 3), None), ((4, 6, 3), (4, 6))],
                         ids=["2-D", "4-D", "3-D-masked"])
def test_float32_parity_with_keras_renorm(clipping, shape, mask_shape):
    generator = rng(22)
    ours = _renorm_layer(shape, rng(23), clipping, dtype="float32")
    theirs = _renorm_layer(shape, rng(23), clipping, dtype="float32", cls=keras.layers.BatchNormalization)
    for step in range(3):
        x = (generator.standard_normal(shape) * 2 + step).astype("float32")
        dy = generator.standard_normal(shape).astype("float32")
        mask = None if mask_shape is None else random_mask(generator, mask_shape)
        # float32, different summation orders (and Keras's N + 1e-7 under a mask).
        for a, b in zip(train_step(ours, x, dy, mask), train_step(theirs, x, dy, mask)):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)
        for name, value in statistics(theirs).items():
            np.testing.assert_allclose(statistics(ours)[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    x = generator.standard_normal(shape).astype("float32")
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_renorm_with_matching_statistics_is_plain_batch_norm():
    """r = 1 and d = 0 when the renorm statistics equal the batch's: same outputs and
    gradients as without renorm (the paper's reduction to batch norm)."""
    generator = rng(24)
    x = generator.standard_normal((10, 3)) * 2 + 1
    dy = generator.standard_normal((10, 3))
    plain = BatchNormalization(dtype="float64")
    renorm = BatchNormalization(renorm=True, dtype="float64")
    renorm.build(x.shape)
    renorm.renorm_mean.assign(x.mean(0))
    renorm.renorm_stddev.assign(np.sqrt(x.var(0) + 1e-3))
    for a, b in zip(train_step(renorm, x, dy), train_step(plain, x, dy)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_standard_deviations_start_at_the_square_root_of_the_variance_initializer():
    layer = BatchNormalization(renorm=True, moving_variance_initializer=keras.initializers.Constant(4.0))
    layer.build((None, 2))
    np.testing.assert_array_equal(layer.moving_stddev.numpy(), 2.0)
    np.testing.assert_array_equal(layer.renorm_stddev.numpy(), 2.0)
    # Keras's variable order, so that weights saved from Keras load by position.
    assert [v.name for v in layer.weights] == [v.name for v in _keras_weights(renorm=True)]


def _keras_weights(**kwargs):
    layer = keras.layers.BatchNormalization(**kwargs)
    layer.build((None, 2))
    return layer.weights


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"renorm": 1}, TypeError, r"Argument `renorm` must be a bool. Received: renorm=1"),
        ({"renorm": True, "renorm_clipping": {"rmx": 2.0}}, ValueError,
         r"Received invalid keys for `renorm_clipping` argument: \{'rmx': 2.0\}"),
        ({"renorm": True, "renorm_clipping": {"rmax": 0.5, "rmin": 1.0}}, ValueError,
         r"rmax should be greater than rmin .* Received: renorm_clipping=\{'rmax': 0.5, 'rmin': 1.0\}"),
        ({"renorm": True, "renorm_clipping": {"dmax": -1.0}}, ValueError,
         r"dmax should be non-negative .* Received: renorm_clipping=\{'dmax': -1.0\}"),
        ({"renorm": True, "renorm_clipping": {"rmin": -0.5}}, ValueError,
         r"rmin should be non-negative .* Received: renorm_clipping=\{'rmin': -0.5\}"),
        ({"renorm": True, "renorm_clipping": {"rmax": "2"}}, TypeError,
         r"Argument `renorm_clipping\['rmax'\]` must be a real number. Received: renorm_clipping\['rmax'\]='2'"),
        ({"renorm": True, "renorm_clipping": (1.0, 2.0)}, TypeError,
         r"Argument `renorm_clipping` must be a dict .* Received: renorm_clipping=\(1.0, 2.0\)"),
        ({"renorm_momentum": 1.5}, ValueError, r"Argument `renorm_momentum` must be in \[0, 1\]. Received: renorm_momentum=1.5"),
    ],
)
def test_bad_renorm_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNormalization(**kwargs)


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_renorm_without_offset_or_scale_matches_keras(center, scale):
    """Without gamma, r and d apply alone (y = r * x_hat + d + beta); float32 parity."""
    generator = rng(25)
    layers = [cls(renorm=True, center=center, scale=scale, renorm_clipping={"rmax": 1.2, "dmax": 0.2})
              for cls in (BatchNormalization, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.build((12, 3))
        layer.renorm_mean.assign(np.full(3, 0.7, "float32"))
        layer.renorm_stddev.assign(np.full(3, 0.5, "float32"))
    x = (generator.standard_normal((12, 3)) * 2).astype("float32")
    dy = generator.standard_normal((12, 3)).astype("float32")
    results = []
    for layer in layers:
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt, training=True)
        grads = tape.gradient(y, [xt, *layer.trainable_variables], output_gradients=tf.constant(dy))
        results.append([y.numpy(), *(g.numpy() for g in grads)])
    assert len(results[0]) == 2 + int(center) + int(scale)  # y, dx, then the weights
    for a, b in zip(*results):
        # float32, different summation orders.
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
