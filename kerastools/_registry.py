"""One place where every public kerastools class is registered for serialisation.

Keras looks custom objects up by ``"package>ClassName"``; registering every class
under the package name ``kerastools`` lets models built from our components load
from ``.keras`` and ``.h5`` without ``custom_objects``.
"""

import keras

PACKAGE = "kerastools"

_REGISTERED = []


def register(cls):
    """Class decorator: register `cls` as ``"kerastools>ClassName"`` and record it.

    Example:

    >>> @register
    ... class MyInitializer(keras.initializers.Initializer):
    ...     ...
    """
    cls = keras.saving.register_keras_serializable(package=PACKAGE)(cls)
    _REGISTERED.append(cls)
    return cls


def registered_classes():
    """Every class registered through `register`, in registration order."""
    return tuple(_REGISTERED)
