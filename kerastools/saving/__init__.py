"""Saving and loading models to HDF5 (and `.keras`) with the complete training state.

`save_model` writes what Keras writes (for ``.h5``: architecture and weights,
readable by `keras.models.load_model(path, compile=False)`; for ``.keras``: the
whole Keras archive) and adds the state Keras leaves out or cannot load back,
in a group ``/kerastools`` (``.h5``) or an archive member ``kerastools.h5``
(``.keras``):

* the compile configuration, in which losses and metrics given as strings stay
  strings, with the optimizer `fit` uses (including the `LossScaleOptimizer`
  that a ``mixed_float16`` policy adds);
* every optimizer variable (iteration count, learning rate, slots, loss-scale
  counters, EMA copies, gradient accumulators) with its path and a key that
  survives reloading, and the paths of the model variables the optimizer was
  built for;
* the paths of `model.variables` and the states of the random-seed generators
  (Dropout & co), so the masks drawn after resuming are those an uninterrupted
  run would draw;
* in ``.h5`` files, a CRC-32 of the content, checked on load.

`load_model` rebuilds the model, compiles it from the stored configuration,
builds the optimizer for the same model variables it held when saved (a layer
frozen after training without recompiling keeps its slots) and matches every
stored variable to the live one by path, never by position. Every value is
checked before anything is assigned: dtype and shape equal to the variable's,
finite floating-point optimizer values, non-negative counters and learning
rate, positive loss scale. Training then continues exactly where it stopped.

Suffixes ``.h5``, ``.hdf5`` and ``.keras`` are accepted in any case. A file is
assembled in memory and written atomically: a temporary file beside the
destination (beside the target of a symbolic link, which is kept), ``fsync``,
then `os.replace`. An exception, a full disk or a kill during `save_model`
leaves the previous file intact.

Errors: `save_model` raises `SaveError` (an `OSError` naming the file, `errno`
kept) when writing fails; every error of `load_model` names the file (and the
dataset or attribute at fault), with the original error chained: `ValueError`
for anything about the content, `OSError` for a failed read. The guide
``docs/guides/saving-guarantees.md`` lists them all.

Example:

>>> import os, tempfile
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
>>> model.compile(optimizer="adam", loss="mse")
>>> x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
>>> _ = model.fit(x, y, epochs=2, verbose=0)
>>> path = os.path.join(tempfile.mkdtemp(), "run.h5")
>>> kt.saving.save_model(model, path)
>>> loaded = kt.saving.load_model(path)
>>> int(loaded.optimizer.iterations)
2
"""

from kerastools.saving._checkpoint_files import CheckpointRecord
from kerastools.saving._model_files import SaveError, latest_checkpoint, load_model, save_model
from kerastools.saving.checkpoint import HDF5Checkpoint

__all__ = ["save_model", "load_model", "SaveError", "latest_checkpoint", "CheckpointRecord", "HDF5Checkpoint"]
