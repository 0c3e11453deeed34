"""Tests shared by every optimizer case of `cases.CASES`: serialisation, float64
parity with the NumPy references (fused and portable paths), parity with the
Keras namesakes, which kernel runs, convergence."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerastools as kt
from tests import conformance
from tests.optimizers import cases as C

STEPS = 100


def _paths(case_list):
    """(case, fused) pairs: the fused path where a kernel exists, and always the portable one."""
    params = []
    for case in case_list:
        if case.kernel is not None:
            params.append(pytest.param(case, None, id=f"{case.id}-fused"))
        params.append(pytest.param(case, False, id=f"{case.id}-portable"))
    return params


@pytest.mark.parametrize("case", C.CASES, ids=C.ids(C.CASES))
def test_registered_and_config_round_trips(case):
    optimizer = case.make(name="opt", clipnorm=1.0)
    conformance.assert_registered(case.cls)
    clone = conformance.assert_config_round_trip(optimizer)
    assert clone.get_config()["fused"] is None
    for key, value in case.kwargs.items():
        # Keras keeps a float learning rate in a floatx variable: float32 here.
        expected = pytest.approx(value, rel=1e-7) if isinstance(value, float) else value
        assert clone.get_config()[key] == expected


def test_schedule_and_fused_flag_round_trip():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    optimizer = kt.Adam(learning_rate=schedule, fused=False, epsilon_placement="outside")
    clone = conformance.assert_config_round_trip(optimizer)
    assert clone.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
    assert float(clone.learning_rate) == pytest.approx(0.1)  # the schedule at step 0
    assert clone.fused is False and clone.epsilon_placement == "outside"


@pytest.mark.parametrize("case, fused", _paths(C.CASES))
def test_matches_numpy_reference_in_float64(case, fused, float64):
    problems = C.quadratics(seed=1)
    got = C.run(case.make(fused=fused), problems, STEPS)
    expected = C.run_reference(C.reference_for(case), problems, STEPS)
    assert C.max_abs_diff(expected, [w0 for _, w0 in problems]) > 1e-3  # the weights moved
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("case, fused", _paths(C.KERAS_CASES))
def test_matches_keras_namesake_in_float32(case, fused):
    """Defaults: max abs difference from the Keras namesake <= 1e-6 over 100 steps
    on random quadratics (three per run, one per variable). Every setting Keras
    has: no further from the float64 reference than Keras's own float32 result,
    give or take 1e-6 (centred RMSprop subtracts nearly equal numbers, and there
    Keras's own float32 error reaches 2.5e-6).

    Not compared with Keras in float64: Keras 3.15 rounds beta through float32
    (``ops.cast`` of a Python float) and its float64 Adam is 7e-6 off in the first
    steps; the float64 check is the reference test above."""
    problems = C.quadratics(seed=2)
    truth = C.run_reference(C.reference_for(case), problems, STEPS, dtype="float32")
    ours = C.run(case.make(fused=fused), problems, STEPS, dtype="float32")
    theirs = C.run(case.make_keras(), problems, STEPS, dtype="float32")
    assert C.max_abs_diff(theirs, [w0 for _, w0 in problems]) > 1e-3
    assert C.max_abs_diff(ours, truth) <= C.max_abs_diff(theirs, truth) + 1e-6
    if case.is_default:
        assert C.max_abs_diff(ours, theirs) <= 1e-6


@pytest.mark.parametrize("case", C.CASES, ids=C.ids(C.CASES))
def test_the_expected_kernel_runs(case):
    variables = [keras.Variable(np.ones((3, 2), "float32")), keras.Variable(np.ones(2, "float32"))]
    used = C.fused_op_types(C.graph_op_types(case.make(), variables))
    assert used == ({case.kernel} if case.kernel else set())
    variables = [keras.Variable(np.ones(2, "float32"))]
    assert C.fused_op_types(C.graph_op_types(case.make(fused=False), variables)) == set()


XLA_CHOICES = [  # (optimizer, kernels in an XLA-compiled apply)
    (lambda: kt.Adam(), {"ResourceApplyAdam"}),
    (lambda: kt.SGD(momentum=0.9), {"ResourceApplyKerasMomentum"}),
    # Plain SGD: keras.ops is Keras's rule, which XLA fuses into one pass too.
    (lambda: kt.SGD(), set()),
    (lambda: kt.SGD(fused=True), {"ResourceApplyGradientDescent"}),
    (lambda: kt.RMSprop(momentum=0.5), {"ResourceApplyRMSProp"}),
    # The kernel would also stream the unused momentum buffer; XLA fuses keras.ops.
    (lambda: kt.RMSprop(), set()),
    (lambda: kt.RMSprop(fused=True), {"ResourceApplyRMSProp"}),
    # TensorFlow's AMSGrad kernel has no XLA implementation.
    (lambda: kt.Adam(amsgrad=True), set()),
]


@pytest.mark.parametrize("make, expected", XLA_CHOICES, ids=[f"choice{i}" for i in range(len(XLA_CHOICES))])
def test_kernel_choice_under_xla(make, expected):
    variables = [keras.Variable(np.ones(2, "float32"))]
    assert C.fused_op_types(C.graph_op_types(make(), variables, jit_compile=True)) == expected


def test_fused_true_without_an_xla_kernel_fails_under_xla():
    with pytest.raises(ValueError, match=r"not available under XLA \(jit_compile=True\) for Adam"):
        C.graph_op_types(kt.Adam(amsgrad=True, fused=True), [keras.Variable(np.ones(2))], jit_compile=True)


@pytest.mark.parametrize("case", C.FUSED_CASES, ids=C.ids(C.FUSED_CASES))
def test_low_precision_variables_take_the_portable_path(case):
    variables = [keras.Variable(np.ones(2), dtype="bfloat16")]
    assert C.fused_op_types(C.graph_op_types(case.make(), variables)) == set()
    with pytest.raises(ValueError, match=r"`fused=True` needs float32 or float64 variables"):
        C.graph_op_types(case.make(fused=True), [keras.Variable(np.ones(2), dtype="float16")])


# ------------------------------------------------------------- convergence


def _course_quadratic(w):
    return w[0] ** 2 / 20.0 + w[1] ** 2


def _rosenbrock(w):
    return (1.0 - w[0]) ** 2 + 100.0 * (w[1] - w[0] ** 2) ** 2


def _minimize(optimizer, loss, start, steps):
    w = keras.Variable(np.array(start, "float64"), dtype="float64")
    optimizer.build([w])

    @tf.function
    def loop():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                value = loss(w.value)
            optimizer.apply([tape.gradient(value, w.value)], [w])

    loop()
    return w.numpy()


# The book's experiment: f(x, y) = x**2 / 20 + y**2 from (-7, 2), with its rates
# (SGD 0.95, heavy-ball 0.1 with momentum 0.9, AdaGrad 1.5, Adam 0.3).
COURSE_SETTINGS = {
    "SGD": lambda: kt.SGD(learning_rate=0.95),
    "SGD-momentum": lambda: kt.SGD(learning_rate=0.1, momentum=0.9),
    "Momentum": lambda: kt.Momentum(learning_rate=1.0, beta=0.9),  # = heavy ball 0.1, 0.9
    "Adagrad": lambda: kt.Adagrad(learning_rate=1.5, initial_accumulator_value=0.0),
    "RMSprop": lambda: kt.RMSprop(learning_rate=0.05),
    "Adam": lambda: kt.Adam(learning_rate=0.3),
    "AdamW": lambda: kt.AdamW(learning_rate=0.3),
}

ROSENBROCK_SETTINGS = {
    "SGD": lambda: kt.SGD(learning_rate=0.002),
    "SGD-momentum": lambda: kt.SGD(learning_rate=0.0005, momentum=0.9),
    "Momentum": lambda: kt.Momentum(learning_rate=0.005, beta=0.9),
    "Adagrad": lambda: kt.Adagrad(learning_rate=1.0, initial_accumulator_value=0.0),
    "RMSprop": lambda: kt.RMSprop(learning_rate=0.002),
    "Adam": lambda: kt.Adam(learning_rate=0.02),
    "AdamW": lambda: kt.AdamW(learning_rate=0.02),
}


@pytest.mark.parametrize("name", list(COURSE_SETTINGS))
def test_converges_on_the_course_quadratic(name, float64):
    w = _minimize(COURSE_SETTINGS[name](), _course_quadratic, (-7.0, 2.0), 300)
    assert np.linalg.norm(w) < 0.05, w  # from a distance of 7.3


@pytest.mark.parametrize("name", list(ROSENBROCK_SETTINGS))
def test_converges_on_rosenbrock(name, float64):
    w = _minimize(ROSENBROCK_SETTINGS[name](), _rosenbrock, (-1.2, 1.0), 5000)
    assert np.linalg.norm(w - 1.0) < 0.05, w  # from a distance of 2.2
