"""BatchNormalization with masks: statistics over the kept positions only, forward and backward."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from kerastools.gradcheck import assert_gradients_close
from kerastools.layers import BatchNormalization
from tests.layers import batch_norm_reference as ref
from tests.layers._bn_helpers import random_mask, rng, statistics, train_step

# (input shape, mask shape = input shape without the feature axis)
SHAPES = [((8, 5), (8,)), ((4, 6, 3), (4, 6)), ((3, 4, 4, 2), (3, 4, 4))]
SHAPE_IDS = ["2-D", "3-D", "4-D"]


@pytest.mark.parametrize("shape, mask_shape", SHAPES, ids=SHAPE_IDS)
def test_masked_training_step_matches_the_float64_reference(shape, mask_shape):
    generator = rng(10)
    x = generator.standard_normal(shape) * 3 + 1
    dy = generator.standard_normal(shape)
    mask = random_mask(generator, mask_shape)
    layer = BatchNormalization(momentum=0.8, epsilon=1e-4, dtype="float64")
    layer.build(shape)
    gamma, beta = generator.random(shape[-1]) + 0.5, generator.standard_normal(shape[-1])
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    y, dx, dgamma, dbeta = train_step(layer, x, dy, mask)

    y_ref, cache = ref.forward(x, gamma, beta, 1e-4, mask=mask)
    dx_ref, dgamma_ref, dbeta_ref = ref.backward(dy, cache)
    # float64 throughout; the two sides sum in different orders (~1e-15 relative).
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, dgamma_ref, rtol=1e-12)
    np.testing.assert_allclose(dbeta, dbeta_ref, rtol=1e-12)
    expected = ref.moving_statistics(cache, {"moving_mean": 0.0, "moving_variance": 1.0}, 1e-4, 0.8)
    for name, value in statistics(layer).items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-12, err_msg=name)
    # The statistics really ignore the masked rows: not those of the whole batch.
    assert not np.allclose(cache["mu"], x.reshape(-1, shape[-1]).mean(0))


@given(
    rows=st.integers(2, 12),
    features=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_masked_rows_are_as_if_removed_from_the_batch(rows, features, seed):
    """Property: on the kept rows, masked BN equals plain BN of the kept rows alone
    (outputs, gradients of a loss on those rows, statistics); masked rows get no
    gradient from such a loss."""
    generator = rng(seed)
    x = generator.standard_normal((rows, features)) * 2
    dy = generator.standard_normal((rows, features))
    mask = random_mask(generator, (rows,))
    dy[~mask] = 0.0  # the loss reads the kept rows only
    masked = BatchNormalization(momentum=0.0, dtype="float64")
    plain = BatchNormalization(momentum=0.0, dtype="float64")
    y, dx, dgamma, dbeta = train_step(masked, x, dy, mask)
    y_kept, dx_kept, dgamma_kept, dbeta_kept = train_step(plain, x[mask], dy[mask])
    np.testing.assert_allclose(y[mask], y_kept, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx[mask], dx_kept, rtol=1e-9, atol=1e-10)
    np.testing.assert_array_equal(dx[~mask], 0.0)
    np.testing.assert_allclose(dgamma, dgamma_kept, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta, dbeta_kept, rtol=1e-10, atol=1e-12)
    for name, value in statistics(masked).items():
        np.testing.assert_allclose(value, statistics(plain)[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, mask_shape", [SHAPES[0], SHAPES[2]], ids=["2-D", "4-D"])
@pytest.mark.parametrize("training", [True, False], ids=["batch-stats", "moving-stats"])
def test_gradient_check_float64_with_a_mask(shape, mask_shape, training):
    generator = rng(11)
    layer = BatchNormalization(epsilon=1e-3)
    layer.build(shape)
    layer.gamma.assign(generator.random(shape[-1]) + 0.5)
    layer.beta.assign(generator.standard_normal(shape[-1]))
    layer.moving_mean.assign(generator.standard_normal(shape[-1]))
    layer.moving_variance.assign(generator.random(shape[-1]) + 0.5)
    x = generator.standard_normal(shape) * 2 + 0.5
    mask = random_mask(generator, mask_shape)
    report = assert_gradients_close(
        layer, x, wrt="both", training=training, seed=3, call_kwargs={"mask": mask}
    )
    assert set(report.per_variable) == {layer.gamma.path, layer.beta.path, "input"}


@pytest.mark.parametrize("shape, mask_shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("mask_dtype", ["bool", "float32"])
def test_float32_parity_with_keras_under_a_mask(shape, mask_shape, mask_dtype):
    generator = rng(12)
    ours = BatchNormalization(momentum=0.7)
    theirs = keras.layers.BatchNormalization(momentum=0.7)
    for layer in (ours, theirs):
        layer.build(shape)
    gamma = (generator.random(shape[-1]) + 0.5).astype("float32")
    beta = generator.standard_normal(shape[-1]).astype("float32")
    for layer in (ours, theirs):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    for step in range(3):  # moving statistics accumulate over steps
        x = (generator.standard_normal(shape) * 2 + step).astype("float32")
        dy = generator.standard_normal(shape).astype("float32")
        mask = random_mask(generator, mask_shape).astype(mask_dtype)
        # float32 sums in different orders, and Keras divides by N + 1e-7:
        # agreement to a few float32 ulps of the values (~1e-5).
        for a, b in zip(train_step(ours, x, dy, mask), train_step(theirs, x, dy, mask)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        for name, value in statistics(theirs).items():
            np.testing.assert_allclose(statistics(ours)[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    x = generator.standard_normal(shape).astype("float32")
    np.testing.assert_allclose(ours(x, mask=mask), theirs(x, mask=mask), rtol=1e-5, atol=1e-5)


def test_a_fully_masked_feature_gives_zero_statistics_and_finite_gradients():
    x = rng(13).standard_normal((4, 3))
    layer = BatchNormalization(momentum=0.0, dtype="float64")
    y, dx, dgamma, dbeta = train_step(layer, x, np.ones_like(x), np.zeros(4, bool))
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), 0.0)
    np.testing.assert_allclose(y, x / np.sqrt(1e-3))  # (x - 0) / sqrt(0 + epsilon)
    assert np.isfinite(dx).all() and np.isfinite(dgamma).all()


def test_in_inference_the_mask_changes_nothing():
    x = rng(14).standard_normal((5, 4)).astype("float32")
    layer = BatchNormalization()
    layer(x, training=True)
    np.testing.assert_array_equal(layer(x, mask=np.zeros(5, bool)), layer(x))


@pytest.mark.parametrize("mask_shape", [(4, 3), ()])
def test_a_mask_not_one_dimension_less_than_the_input_is_refused(mask_shape):
    with pytest.raises(ValueError, match=r"The mask provided should be one dimension less than the inputs. "
                       r"Received: mask.shape=\(.*\), inputs.shape=\(4, 3\)"):
        BatchNormalization()(np.ones((4, 3)), mask=np.ones(mask_shape, bool), training=True)


def test_after_embedding_padding_is_left_out_and_the_mask_passed_on():
    tokens = np.array([[3, 5, 0, 0], [7, 0, 0, 0], [2, 4, 6, 1]])  # 0 is padding
    inputs = keras.Input((4,), dtype="int32")
    embedded = keras.layers.Embedding(8, 3, mask_zero=True, embeddings_initializer="uniform")(inputs)
    bn = BatchNormalization(momentum=0.0)
    normalised = bn(embedded)
    pooled = keras.layers.GlobalAveragePooling1D()(normalised)  # honours a mask
    model = keras.Model(inputs, [normalised, pooled])
    model.layers[1].embeddings.assign(rng(15).standard_normal((8, 3)) * 2 + 1)
    y, pooled_y = (t.numpy() for t in model(tokens, training=True))
    vectors = model.layers[1].embeddings.numpy()[tokens]
    kept = vectors[tokens != 0]
    # float32: statistics of 6 rows, a few ulps.
    np.testing.assert_allclose(bn.moving_mean.numpy(), kept.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), kept.var(0), rtol=1e-5, atol=1e-6)
    # The mask reached the pooling layer: the mean over the real tokens only.
    expected = [y[i][tokens[i] != 0].mean(0) for i in range(3)]
    np.testing.assert_allclose(pooled_y, expected, rtol=1e-5, atol=1e-6)
    assert bn.supports_masking and bn.compute_mask(embedded, tf.ones((3, 4), bool)) is not None
