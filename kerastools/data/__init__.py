"""Data utilities of the course: train/dev/test splits, mini-batches, normalisation, HDF5.

* `train_dev_test_split`: the course's 60/20/20 (small data) or 98/1/1 (large
  data) split with exact sizes, optionally stratified.
* `mini_batches`: the course's ``random_mini_batches`` (shuffle, partition, a
  final partial batch) as a NumPy iterator or a `tf.data.Dataset`.
* `fit_normalizer`: a `keras.layers.Normalization` fitted on the training split
  only.
* `write_hdf5` / `hdf5_dataset`: write arrays to HDF5 atomically; stream them into
  `tf.data` without loading the file into memory.

Examples are rows (axis 0) everywhere, as in Keras; the course's NumPy code puts
examples in columns.
"""

from kerastools.data._arrays import LARGE_DATA_THRESHOLD, fit_normalizer, mini_batches, train_dev_test_split
from kerastools.data._hdf5 import hdf5_dataset, write_hdf5

__all__ = [
    "train_dev_test_split",
    "mini_batches",
    "fit_normalizer",
    "write_hdf5",
    "hdf5_dataset",
    "LARGE_DATA_THRESHOLD",
]
