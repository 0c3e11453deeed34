"""Gradient checking: two-sided finite differences against backpropagation.

The course's procedure (flatten every parameter into ``theta``; for each ``i``,
``dtheta_approx[i] = (J(theta + eps * e_i) - J(theta - eps * e_i)) / (2 * eps)``;
compare with the backprop gradient by
``||dtheta_approx - dtheta||_2 / (||dtheta_approx||_2 + ||dtheta||_2)``), made fast:

* ``mode="full"`` evaluates the ``2 * n`` perturbed costs **vectorised**: the
  perturbed parameter vectors are stacked along a new leading axis and the cost
  is evaluated for the whole stack at once with `tf.vectorized_map` (compiled
  with XLA when possible), in chunks of `chunk_size` parameters.
* ``mode="fast"`` checks random directional derivatives: for random unit vectors
  ``u`` it compares ``(J(theta + eps*u) - J(theta - eps*u)) / (2*eps)`` with
  ``grad J . u``. With ``J = v . f`` for a random projection ``v`` (see `loss`)
  this is ``v^T (df/dtheta) u``: two cost evaluations per direction, whatever
  the number of parameters.

Everything runs on a **float64 copy** of the target (rebuilt from its config,
weights copied), so the user's model keeps its values and the course's 1e-7
threshold is meaningful; the report names the user's own variables
(``variable.path``), and an unbuilt target is first built on `x`. A NaN or an
infinity among a variable's finite differences or gradients makes it **fail**
(its difference is NaN), whatever the threshold; the report lists it. Regularisation losses (`model.losses`) are part of the
cost. Dropout: the check runs in inference mode by default (``training=False``,
dropout off, batch normalisation on its moving statistics); with
``training=True`` the random-seed state is held fixed for every evaluation, so
dropout uses **one fixed mask** and batch normalisation uses batch statistics.

Example:

>>> keras.utils.set_random_seed(0)
>>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="tanh", name="dense")],
...                          name="mlp")
>>> x = np.random.default_rng(0).random((16, 8))
>>> y = np.random.default_rng(1).random((16, 4))
>>> report = kt.gradcheck.check_gradients(model, x, y, loss="mse")
>>> report.passed, report.status, report.difference < 1e-7
(True, 'pass', True)
>>> print(report)  # doctest: +ELLIPSIS
gradient check (full, epsilon=1e-07): difference=... -> pass
variable          shape   |analytic|  |numerical|  difference  verdict
----------------  ------  ----------  -----------  ----------  -------
mlp/dense/kernel  (8, 4)  ...   pass
mlp/dense/bias    (4,)    ...   pass
"""

from kerastools.gradcheck._check import assert_gradients_close, check_gradients, numerical_gradient
from kerastools.gradcheck.report import PASS_THRESHOLD, WARNING_THRESHOLD, GradientCheckReport, relative_difference

__all__ = [
    "GradientCheckReport",
    "PASS_THRESHOLD",
    "WARNING_THRESHOLD",
    "assert_gradients_close",
    "check_gradients",
    "numerical_gradient",
    "relative_difference",
]
