"""Saving and loading models to HDF5 (and `.keras`) with the complete training state.

`save_model` writes what Keras's HDF5 writer writes (architecture and weights,
readable by `keras.models.load_model(path, compile=False)`) and adds a group
``/kerastools`` with what it leaves out or cannot load back:

* the compile configuration (`model.get_compile_config()`), in which losses and
  metrics given as strings (``loss="mse"``) stay strings and load;
* every optimizer variable, in `optimizer.variables` order: the iteration count,
  the learning rate, the slots (momentum, velocity, ...), loss-scale counters,
  EMA copies and gradient accumulators; the learning-rate schedule is part of
  the optimizer's config;
* the states of the model's random-seed generators (Dropout & co), so the
  masks drawn after resuming are those an uninterrupted run would draw;
* a CRC-32 of the file's content, checked on load.

`load_model` rebuilds the model, compiles it from the stored config, builds the
optimizer on `model.trainable_variables` (what `fit` does) and assigns every
stored variable: training continues exactly where it stopped.

``.keras`` files are written by Keras (which already stores the compile config
and the optimizer state there) plus a ``kerastools.h5`` member with the seed
states; loading checks that the optimizer state was restored.

Every write is atomic: a temporary file in the same directory, ``fsync``, then
`os.replace`. An exception or a kill during `save_model` leaves the previous file
intact.
"""

from kerastools.saving._checkpoint_files import CheckpointRecord
from kerastools.saving._model_files import SaveError, latest_checkpoint, load_model, save_model
from kerastools.saving.checkpoint import HDF5Checkpoint

__all__ = ["save_model", "load_model", "SaveError", "latest_checkpoint", "CheckpointRecord", "HDF5Checkpoint"]
