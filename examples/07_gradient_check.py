"""Gradient check of a CNN built from kerastools layers, with one deliberately
broken layer that the per-variable report finds.

    python examples/07_gradient_check.py [--examples 16] [--out DIR] [--smoke]

The network (8x8 digits): `kt.layers.Conv2D` (TensorFlow's kernels) ->
`kt.layers.BatchNormalization` (the hand-derived backward pass) ->
`kt.layers.MaxPooling2D` -> `kt.layers.Conv2D(implementation="im2col")` (the
course's im2col/col2im backward pass) -> `kt.layers.AveragePooling2D` ->
Flatten -> `kt.layers.Dropout` -> `HandWrittenDense` -> Dense -> `kt.layers.Softmax`,
with the course's L2 regulariser (`kt.regularizers.L2.from_course`) on every
kernel, so the check includes the regularisation term as the course requires.

`HandWrittenDense` is an affine layer whose backward pass is written by hand
with `tf.custom_gradient`; with ``bug=True`` it makes a classic mistake of
hand-written backprop, dividing the kernel's gradient by the batch size m a
second time (the course's ``dW = (1/m) dZ A^T`` applied to a loss that is
already a mean). The forward pass is right, so training would merely be slow;
only a gradient check can tell.

`kerastools.gradcheck.check_gradients(model, x, y)` compares backprop with
two-sided finite differences (float64, epsilon 1e-7, every partial derivative;
dropout off, batch norm on its moving statistics: `training=False`). The script
prints the per-variable table for the broken and the fixed model (and for the
fixed one with `training=True` too: batch statistics through the hand-derived
batch-norm backward pass, one fixed dropout mask) and writes
`gradient_check.png`: each variable's relative difference on a log axis
against the course's thresholds 1e-7 (right) and 1e-5 (inspect). Expected:
the broken model fails and the only variable over the thresholds is
`hand_written_dense/kernel`; the fixed model passes everywhere.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402

FIGURES = ("gradient_check.png",)
SEED = 0


@keras.saving.register_keras_serializable(package="examples")
class HandWrittenDense(keras.layers.Layer):
    """``y = x @ W + b`` with a hand-written backward pass (optionally wrong)."""

    def __init__(self, units, bug=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.bug = units, bug

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=kt.initializers.XavierNormal(seed=SEED), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        bug = self.bug

        @tf.custom_gradient
        def affine(x, kernel, bias):
            def backward(dy):
                dx = tf.matmul(dy, kernel, transpose_b=True)
                dkernel = tf.matmul(x, dy, transpose_a=True)
                if bug:
                    # Wrong: `dy` already carries the 1/m of the mean loss.
                    dkernel = dkernel / tf.cast(tf.shape(x)[0], x.dtype)
                return dx, dkernel, tf.reduce_sum(dy, axis=0)

            return tf.matmul(x, kernel) + bias, backward

        return affine(x, tf.convert_to_tensor(self.kernel), tf.convert_to_tensor(self.bias))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "bug": self.bug}


def build_cnn(bug, num_train):
    reg = kt.regularizers.L2.from_course(lambd=0.7, num_examples=num_train)
    keras.utils.set_random_seed(SEED)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            kt.layers.Conv2D(4, 3, padding=1, activation="tanh", kernel_initializer=kt.initializers.HeNormal(seed=1),
                             kernel_regularizer=reg, name="conv1"),
            kt.layers.BatchNormalization(momentum=0.9, name="batch_norm"),
            kt.layers.MaxPooling2D(2, name="max_pool"),
            kt.layers.Conv2D(8, 3, padding="same", activation="tanh", implementation="im2col",
                             kernel_initializer=kt.initializers.HeNormal(seed=2), kernel_regularizer=reg, name="conv2_im2col"),
            kt.layers.AveragePooling2D(2, name="average_pool"),
            keras.layers.Flatten(name="flatten"),
            kt.layers.Dropout(keep_prob=0.8, seed=3, name="dropout"),
            HandWrittenDense(16, bug=bug, name="hand_written_dense"),
            keras.layers.Activation("tanh", name="tanh"),
            keras.layers.Dense(10, kernel_initializer=kt.initializers.XavierNormal(seed=4), kernel_regularizer=reg, name="dense"),
            kt.layers.Softmax(name="softmax"),
        ],
        name="broken_cnn" if bug else "fixed_cnn",
    )


def plot(reports, out, filename):
    fig, axes = _common.figure(1, len(reports), width=4.6, height=3.6, sharey=True)
    for ax, (name, report) in zip(axes[0], reports.items()):
        names = list(report.per_variable)
        values = [max(report.per_variable[n], 1e-10) for n in names]  # a log axis cannot show 0
        colors = ["tab:red" if v > kt.gradcheck.WARNING_THRESHOLD else "tab:orange" if v > kt.gradcheck.PASS_THRESHOLD else "tab:green" for v in values]
        ax.barh(range(len(names)), values, color=colors)
        ax.set_yticks(range(len(names)), [n.split("/", 1)[-1] for n in names], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(1e-10, 3.0)
        ax.axvline(kt.gradcheck.PASS_THRESHOLD, color="green", linestyle="--", label="1e-7: right")
        ax.axvline(kt.gradcheck.WARNING_THRESHOLD, color="red", linestyle="--", label="1e-5: inspect")
        ax.set(xlabel="‖num − backprop‖ / (‖num‖ + ‖backprop‖)", title=f"{name}: {report.status} ({report.difference:.1e})")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    def configure(parser):
        parser.add_argument("--examples", type=int, default=16, help="examples in the checked batch (default 16)")

    args = _common.parse_args(__doc__, "07_gradient_check", argv, configure)
    (x_train, y_train), _, _ = _common.digits(images=True)
    count = 4 if args.smoke else args.examples
    x, y = x_train[:count], y_train[:count]
    reports = {}
    # training=True also checks the batch-norm backward pass on batch statistics,
    # with one fixed dropout mask.
    for name, bug, training in (("broken", True, False), ("fixed", False, False), ("fixed, training=True", False, True)):
        model = build_cnn(bug, len(x_train))
        report = kt.gradcheck.check_gradients(
            model, x, y, loss=keras.losses.SparseCategoricalCrossentropy(), training=training, seed=SEED
        )
        reports[name] = report
        print(f"\n{name} model ({model.count_params()} parameters, batch of {count}):\n{report}")
        print(f"variables over 1e-7: {report.failing_variables() or 'none'}")
    found = reports["broken"].failing_variables(kt.gradcheck.WARNING_THRESHOLD)
    fixed_ok = all(reports[name].passed for name in reports if name != "broken")
    if found != ["broken_cnn/hand_written_dense/kernel"] or not fixed_ok:
        raise SystemExit(f"unexpected result: the broken model flags {found}; the fixed model passes: {fixed_ok}")
    print(f"\nthe per-variable report found the bug in {found[0]}; without it the model passes")
    plot(reports, args.out, FIGURES[0])
    return reports


if __name__ == "__main__":
    main()
