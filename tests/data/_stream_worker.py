"""Subprocess side of the memory test: ``python -m tests.data._stream_worker PATH BATCH``.

Streams the whole file once through `kerastools.data.hdf5_dataset` and prints a
JSON report: the growth of resident memory (VmRSS, sampled after every batch)
over its value just before the first batch, hence including the shuffle window,
the prefetch buffers and tf.data's own start-up; the number of rows seen; and
whether every row kept its label.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from kerastools import data  # noqa: E402


def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


if __name__ == "__main__":
    path, batch_size = sys.argv[1], int(sys.argv[2])
    dataset = data.hdf5_dataset(path, "x", "y", batch_size=batch_size, seed=0)
    baseline, peak, rows, paired = rss_bytes(), 0, 0, True
    labels = []
    for x, y in dataset:
        x, y = x.numpy(), y.numpy()
        # Each row of x is filled with (its label % 1000): a mixed-up pair shows.
        paired &= bool(np.all(x[:, 0] == y % 1000) and np.all(x[:, -1] == y % 1000))
        rows += len(y)
        labels.append(y)
        peak = max(peak, rss_bytes())
    labels = np.sort(np.concatenate(labels))
    print(json.dumps({
        "growth": peak - baseline,
        "rows": rows,
        "paired": paired,
        "each_once": bool(np.array_equal(labels, np.arange(len(labels)))),
    }))
