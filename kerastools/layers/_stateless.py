"""Layers without weights are built at construction, as Keras's own are."""

import keras


def build_if_stateless(layer):
    """Mark `layer` built when its class keeps Keras's default `build`.

    Keras's stateless layers (``Dropout``, the pooling layers, ``Softmax``) report
    ``built == True`` right after ``__init__``, so code that inspects
    ``layer.built`` (or a model summary) sees no difference. A subclass that
    defines its own `build` still gets it called on first use.
    """
    if type(layer).build is keras.layers.Layer.build:
        layer.built = True
