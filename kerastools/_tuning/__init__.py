"""Private implementation of `kerastools.tuning` (see that module for the public API)."""
