"""Registry of training set-ups that saving must resume exactly.

Each case builds a small compiled model deterministically (same weights, same
random-seed states every time it is called, in any process) and says how to feed
it. `tests/test_saving_resume.py` trains every case N epochs, saves it, continues
M epochs in a new Python process, and compares bitwise with N + M uninterrupted
epochs; `tests/test_saving.py` round-trips every case in-process.

To cover a new optimizer, schedule or layer, add one entry to `CASES` (e.g.
``"kt_adam": lambda: _mlp(kt.Adam(...))``): every saving test then runs on it.
"""

import keras
import numpy as np

from kerastools import initializers, layers, optimizers, regularizers, schedules

NUM_EXAMPLES = 48
BATCH_SIZE = 16
NUM_FEATURES = 5
NUM_CLASSES = 3


def data():
    """Fixed float32 inputs, regression targets and class labels."""
    rng = np.random.default_rng(1234)
    x = rng.normal(size=(NUM_EXAMPLES, NUM_FEATURES)).astype("float32")
    y_reg = (x @ rng.normal(size=(NUM_FEATURES, 1))).astype("float32")
    y_cls = rng.integers(0, NUM_CLASSES, NUM_EXAMPLES)
    return x, y_reg, y_cls


def _mlp(optimizer, *, loss="mse", metrics=("mae",), classes=None, dropout=0.25, batch_norm=True):
    """Dense (kerastools He init, course L2) -> [BatchNorm] -> [Dropout] -> Dense."""
    keras.utils.set_random_seed(7)  # sets the seed of Dropout's generator and of Keras's defaults
    layers = [
        keras.Input((NUM_FEATURES,)),
        keras.layers.Dense(
            8,
            activation="relu",
            kernel_initializer=initializers.HeNormal(seed=1),
            kernel_regularizer=regularizers.L2.from_course(0.1, NUM_EXAMPLES),
        ),
    ]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    out = classes or 1
    layers.append(keras.layers.Dense(out, activation="softmax" if classes else None, kernel_initializer=initializers.XavierNormal(seed=2)))
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def _classifier(optimizer):
    return _mlp(optimizer, loss="sparse_categorical_crossentropy", metrics=("accuracy",), classes=NUM_CLASSES)


def _kt_mlp(optimizer, *, classes=None):
    """The same network from kerastools layers: Dense -> BatchNormalization ->
    Dropout -> Dense [-> Softmax]."""
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((NUM_FEATURES,)),
            keras.layers.Dense(
                8,
                activation="relu",
                kernel_initializer=initializers.HeNormal(seed=1),
                kernel_regularizer=regularizers.L2.from_course(0.1, NUM_EXAMPLES),
            ),
            layers.BatchNormalization(momentum=0.9),
            layers.Dropout(keep_prob=0.75, seed=3),
            keras.layers.Dense(classes or 1, kernel_initializer=initializers.XavierNormal(seed=2)),
        ]
        + ([layers.Softmax()] if classes else [])
    )
    if classes:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


# name -> factory returning a compiled model; classifier cases are named "cls_*"
# (they are fed class labels, the others regression targets).
CASES = {
    "adam_loss_object": lambda: _mlp(
        keras.optimizers.Adam(1e-2), loss=keras.losses.MeanSquaredError(), metrics=(keras.metrics.MeanAbsoluteError(),)
    ),
    "sgd_nesterov_momentum": lambda: _mlp(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    "cls_adam_exponential_decay": lambda: _classifier(
        keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(2e-2, decay_steps=3, decay_rate=0.5))
    ),
    "rmsprop_centered_loss_scale": lambda: _mlp(
        keras.optimizers.LossScaleOptimizer(
            keras.optimizers.RMSprop(1e-2, momentum=0.5, centered=True), initial_scale=2.0**6, dynamic_growth_steps=2
        )
    ),
    "adamw_ema_accumulation": lambda: _mlp(
        keras.optimizers.AdamW(1e-2, weight_decay=0.01, use_ema=True, ema_overwrite_frequency=5, gradient_accumulation_steps=2)
    ),
    # kerastools optimizers, schedules and layers, in their non-default conventions.
    "kt_sgd_nesterov": lambda: _kt_mlp(optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    "kt_momentum_bias_correction": lambda: _kt_mlp(optimizers.Momentum(0.05, beta=0.9, bias_correction=True)),
    "kt_adagrad_outside": lambda: _kt_mlp(optimizers.Adagrad(0.05, epsilon_placement="outside")),
    "kt_rmsprop_centered_inside_loss_scale": lambda: _kt_mlp(
        keras.optimizers.LossScaleOptimizer(
            optimizers.RMSprop(1e-2, momentum=0.5, centered=True, epsilon_placement="inside"),
            initial_scale=2.0**6,
            dynamic_growth_steps=2,
        )
    ),
    "cls_kt_adam_amsgrad_warmup_cosine": lambda: _kt_mlp(
        optimizers.Adam(
            schedules.Warmup(schedules.CosineDecay(2e-2, decay_steps=20), warmup_steps=4),
            amsgrad=True,
            epsilon_placement="inside",
        ),
        classes=NUM_CLASSES,
    ),
    "kt_adamw_scaled_natural_exp_accumulation": lambda: _kt_mlp(
        optimizers.AdamW(
            schedules.ScaledSchedule(schedules.NaturalExpDecay(1e-2, decay_steps=5, decay_rate=0.5), scale=0.5),
            weight_decay=0.01,
            gradient_accumulation_steps=2,
        )
    ),
}


def ends_fit_with_ema(name):
    """Whether `fit` of this case ends by overwriting the weights with their EMA."""
    optimizer = CASES[name]().optimizer
    return bool(getattr(getattr(optimizer, "inner_optimizer", optimizer), "use_ema", False))


def targets(name):
    x, y_reg, y_cls = data()
    return x, (y_cls if name.startswith("cls_") else y_reg)


def fit(model, name, epochs):
    x, y = targets(name)
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=False, verbose=0)
    return model


def state_arrays(model):
    """Everything that must match after resuming: model variables (weights and
    seed states) and optimizer variables, as NumPy arrays in a fixed order."""
    values = [keras.ops.convert_to_numpy(v) for v in model.variables]
    if getattr(model, "optimizer", None) is not None:
        values += [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    return values
