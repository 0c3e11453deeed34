"""Data utilities: train/dev/test splits, mini-batches, normalisation, HDF5 data sets."""

__all__ = []
