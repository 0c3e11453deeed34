"""The optimizers inside Keras's machinery: `fit`, XLA, mixed precision, sparse
gradients, schedules, clipping, EMA, gradient accumulation, weight decay and
saving. Each is checked against a NumPy reference or against the same run with
the Keras namesake."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerastools as kt
from tests import conformance
from tests.optimizers import reference
from tests.optimizers import cases as C


def _data(n=64, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    y = (x @ rng.standard_normal((features, 1)) + 0.1 * rng.standard_normal((n, 1))).astype("float32")
    return x, y


def _model(seed=0, **compile_kwargs):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(loss=keras.losses.MeanSquaredError(), **compile_kwargs)
    return model


def _fit_weights(optimizer, epochs=2, **compile_kwargs):
    x, y = _data()
    model = _model(optimizer=optimizer, **compile_kwargs)
    model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights()


def _keras_twin(case):
    """The Keras optimizer computing the same as `case` (Momentum: SGD with
    lr * (1 - beta), exact for a constant learning rate)."""
    if case.keras_cls is not None:
        return case.make_keras()
    optimizer = case.make()
    return keras.optimizers.SGD(
        learning_rate=float(optimizer.learning_rate) * (1 - optimizer.beta), momentum=optimizer.beta
    )


def _assert_weights_close(got, expected, atol):
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=0, atol=atol)


@pytest.mark.parametrize("case", C.ONE_PER_CLASS, ids=C.ids(C.ONE_PER_CLASS))
def test_fit_matches_keras(case):
    ours = _fit_weights(case.make())
    theirs = _fit_weights(_keras_twin(case))
    assert not np.allclose(ours[0], _model().get_weights()[0])  # training moved the weights
    _assert_weights_close(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("case", C.ONE_PER_CLASS, ids=C.ids(C.ONE_PER_CLASS))
def test_jit_compile_matches_graph_mode(case):
    graph = _fit_weights(case.make(), jit_compile=False)
    xla = _fit_weights(case.make(), jit_compile=True)
    _assert_weights_close(xla, graph, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [lambda: kt.Adam(), lambda: kt.Momentum(bias_correction=True), lambda: kt.RMSprop()],
    ids=["Adam", "Momentum", "RMSprop"],
)
def test_mixed_float16_with_loss_scaling(make):
    keras.config.set_dtype_policy("mixed_float16")
    optimizer = make()
    model = _model(optimizer=optimizer)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer.inner_optimizer is optimizer
    x, y = _data()
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    # The fused kernel runs under the loss-scale wrapper (float32 variables).
    wrapped = keras.optimizers.LossScaleOptimizer(make())
    used = C.fused_op_types(C.graph_op_types(wrapped, [keras.Variable(np.ones(3, "float32"))]))
    assert used and all(t.startswith("ResourceApply") for t in used)


@pytest.mark.parametrize("policy", ["bfloat16", "mixed_bfloat16"])
def test_bfloat16_policies_match_keras(policy):
    keras.config.set_dtype_policy(policy)
    ours = _fit_weights(kt.Adam(learning_rate=0.01))
    theirs = _fit_weights(keras.optimizers.Adam(learning_rate=0.01))
    atol = 1e-2 if policy == "bfloat16" else 1e-5  # bfloat16 keeps 8 bits of mantissa
    _assert_weights_close(
        [np.asarray(w, np.float32) for w in ours], [np.asarray(w, np.float32) for w in theirs], atol
    )


# ------------------------------------------------------------------ sparse

SPARSE_CASES = {  # name: (optimizer, its float64 reference)
    "SGD": (lambda: kt.SGD(learning_rate=0.1), lambda: reference.SGDReference(learning_rate=0.1)),
    "Adagrad": (
        lambda: kt.Adagrad(learning_rate=0.1),
        lambda: reference.AdagradReference(learning_rate=0.1),
    ),
    "Adagrad-outside": (
        lambda: kt.Adagrad(learning_rate=0.1, epsilon_placement="outside"),
        lambda: reference.AdagradReference(learning_rate=0.1, epsilon_placement="outside"),
    ),
    "Adam": (lambda: kt.Adam(learning_rate=0.1), lambda: reference.AdamReference(learning_rate=0.1)),
    "Momentum": (
        lambda: kt.Momentum(learning_rate=0.1),
        lambda: reference.MomentumReference(learning_rate=0.1),
    ),
}


def _embedding_steps(optimizer, steps, jit_compile):
    """Steps on an `Embedding` layer whose batches repeat ids (its gradient is a
    `tf.IndexedSlices` with duplicate rows); returns (table, [(table before, dense grad)])."""
    rng = np.random.default_rng(0)
    layer = keras.layers.Embedding(6, 3, embeddings_initializer=keras.initializers.RandomNormal(seed=1))
    layer.build((None,))
    target = tf.constant(rng.standard_normal((5, 3)))
    batches = [tf.constant(rng.integers(0, 4, 5)) for _ in range(steps)]  # rows 4, 5 never used
    optimizer.build(layer.trainable_variables)
    dense_grads = []

    @tf.function(jit_compile=jit_compile)
    def step(ids):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((layer(ids) - target) ** 2)
        (grad,) = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply([grad], layer.trainable_variables)
        return grad.values, grad.indices

    for ids in batches:
        before = layer.embeddings.numpy()
        values, indices = step(ids)
        grad = np.zeros_like(before)
        np.add.at(grad, indices.numpy(), values.numpy())
        dense_grads.append((before, grad))
    return layer.embeddings.numpy(), dense_grads


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("name", list(SPARSE_CASES))
def test_sparse_gradients_equal_the_dense_update(name, jit_compile, float64):
    make, make_reference = SPARSE_CASES[name]
    ref = make_reference()
    got, steps = _embedding_steps(make(), steps=4, jit_compile=jit_compile)
    w = steps[0][0]
    for _, grad in steps:
        (w,) = ref.apply([w], [grad])
    np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-12)


def test_sparse_rows_are_updated_row_wise_where_that_is_exact():
    table = [keras.Variable(np.ones((50, 4), "float32"))]
    for optimizer, expected in [
        (kt.Adagrad(), {"ResourceGather", "ResourceScatterUpdate", "ResourceScatterSub"}),
        (kt.SGD(), {"ResourceScatterSub"}),
    ]:
        optimizer.build(table)
        spec = tf.IndexedSlicesSpec((50, 4), tf.float32, dense_shape_dtype=tf.int64)
        fn = tf.function(lambda g, o=optimizer: o.apply([g], table), input_signature=[spec])
        graph = fn.get_concrete_function().graph.as_graph_def()
        types = {node.op for node in graph.node}
        assert expected <= types
        assert not C.fused_op_types(types)


# --------------------------------------------------- around the update rule


def _problems():
    return C.quadratics(seed=3, shapes=((3, 2), (2,)))


def _reference_run(ref, problems, steps, transform_grads):
    params = [np.asarray(w0, np.float64) for _, w0 in problems]
    for _ in range(steps):
        grads = transform_grads([grad(w) for (grad, _), w in zip(problems, params)])
        params = ref.apply(params, grads)
    return params


@pytest.mark.parametrize(
    "kwargs, transform",
    [
        ({"clipnorm": 0.5}, lambda gs: [g * min(1.0, 0.5 / np.linalg.norm(g)) for g in gs]),
        ({"clipvalue": 0.3}, lambda gs: [np.clip(g, -0.3, 0.3) for g in gs]),
        ({"global_clipnorm": 0.7}, lambda gs: reference.clip_by_global_norm(gs, 0.7)),
    ],
    ids=["clipnorm", "clipvalue", "global_clipnorm"],
)
def test_gradient_clipping(kwargs, transform, float64):
    problems = _problems()
    got = C.run(kt.Adam(learning_rate=0.05, **kwargs), problems, 30)
    expected = _reference_run(reference.AdamReference(learning_rate=0.05), problems, 30, transform)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9)


def test_learning_rate_schedules_and_callables(float64):
    problems = _problems()
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5)
    for make, ref in [
        (
            lambda: kt.Momentum(learning_rate=schedule, bias_correction=True),
            # The rates Keras's schedule returns (in float32) at steps 0, 1, ...
            reference.MomentumReference(learning_rate=lambda t: float(schedule(t)), bias_correction=True),
        ),
        (lambda: kt.Adam(learning_rate=lambda: 0.02), reference.AdamReference(learning_rate=0.02)),
    ]:
        got = C.run(make(), problems, 20)
        expected = C.run_reference(ref, problems, 20)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-9)


def test_gradient_accumulation_averages_gradients(float64):
    """With k = 2 the rule runs on every second call, with the mean of the two
    gradients and its own step count t (for Adam's bias correction)."""
    problems = _problems()
    variables = [keras.Variable(w0) for _, w0 in problems]
    optimizer = kt.Adam(learning_rate=0.05, gradient_accumulation_steps=2)
    ref = reference.AdamReference(learning_rate=0.05)
    expected = [np.asarray(w0) for _, w0 in problems]
    pending = []
    for call in range(8):
        grads = [grad(v.numpy()) for (grad, _), v in zip(problems, variables)]
        optimizer.apply([tf.constant(g) for g in grads], variables)
        pending.append(grads)
        if call % 2 == 1:
            mean = [(a + b) / 2 for a, b in zip(*pending)]
            expected = ref.apply(expected, mean)
            pending = []
        for v, e in zip(variables, expected):
            np.testing.assert_allclose(v.numpy(), e, rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gradient_accumulation_steps": 2},
        {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 3},
        {"clipnorm": 0.1},
        {"weight_decay": 0.1},
    ],
    ids=["accumulation", "ema", "clipnorm", "weight_decay"],
)
def test_fit_with_keras_base_options_matches_keras(kwargs):
    """The same options inside `fit` (graph mode: the update sits in `tf.cond` branches)."""
    ours = _fit_weights(kt.Adam(learning_rate=0.01, **kwargs))
    theirs = _fit_weights(keras.optimizers.Adam(learning_rate=0.01, **kwargs))
    _assert_weights_close(ours, theirs, atol=1e-6)


def test_ema_matches_keras():
    kwargs = {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 3}
    problems = _problems()
    ours_optimizer, theirs_optimizer = kt.Adam(**kwargs), keras.optimizers.Adam(**kwargs)
    ours = C.run(ours_optimizer, problems, 7, dtype="float32")
    theirs = C.run(theirs_optimizer, problems, 7, dtype="float32")
    assert C.max_abs_diff(ours, theirs) <= 1e-6
    averages = lambda opt: [v.numpy() for v in opt.variables if "average" in v.path]  # noqa: E731
    assert C.max_abs_diff(averages(ours_optimizer), averages(theirs_optimizer)) <= 1e-6


def test_weight_decay_skips_excluded_variables(float64):
    layer = keras.layers.Dense(2, bias_initializer="ones")
    layer.build((None, 3))
    optimizer = kt.AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    grads = [np.full((3, 2), 0.2), np.full((2,), -0.1)]
    kernel0, bias0 = (v.numpy() for v in layer.trainable_variables)
    optimizer.apply([tf.constant(g) for g in grads], layer.trainable_variables)
    (kernel,) = reference.AdamReference(learning_rate=0.1, weight_decay=0.5).apply([kernel0], grads[:1])
    (bias,) = reference.AdamReference(learning_rate=0.1).apply([bias0], grads[1:])
    np.testing.assert_allclose(layer.kernel.numpy(), kernel, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.numpy(), bias, rtol=1e-12)


# ------------------------------------------------------------------ saving


@pytest.mark.parametrize("case", C.ONE_PER_CLASS, ids=C.ids(C.ONE_PER_CLASS))
def test_models_compiled_with_the_optimizers_save_and_load(case, tmp_path):
    x, y = _data()
    model = _model(optimizer=case.make(global_clipnorm=1.0))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    reloaded = conformance.assert_model_round_trip(model, x[:4], tmp_path)
    for fmt, restored in reloaded.items():
        assert type(restored.optimizer) is case.cls, fmt
        assert restored.optimizer.get_config() == model.optimizer.get_config(), fmt
    # The .keras format also restores the optimizer's state (tests/saving covers the .h5 one).
    # Keras restores optimizer variables by position (their paths follow the model's name).
    restored = reloaded[".keras"].optimizer.variables
    assert len(restored) == len(model.optimizer.variables) >= 2
    assert int(restored[0].numpy()) == 4  # iterations: 64 samples / 16
    for got, expected in zip(restored, model.optimizer.variables):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_fused_kernel_runs_inside_gradient_accumulation():
    variables = [keras.Variable(np.ones(3, "float32"))]
    optimizer = kt.Adam(gradient_accumulation_steps=2)
    assert C.fused_op_types(C.graph_op_types(optimizer, variables)) == {"ResourceApplyAdam"}
