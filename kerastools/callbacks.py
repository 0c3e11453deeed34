"""Keras callbacks: learning-rate logging and plateaus, HDF5 checkpoints, diagnostics."""

from kerastools.schedules._callbacks import LearningRateLogger, ReduceLROnPlateau

__all__ = ["LearningRateLogger", "ReduceLROnPlateau"]
