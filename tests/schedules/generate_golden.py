"""Writes tests/schedules/golden_cyclical.json: cyclical and one-cycle rates at
chosen steps, computed by the NumPy float64 references in tests/schedules/reference.py
(`cyclical` is the code printed in Smith 2017, section 3.1; `one_cycle` walks the
knots of Smith & Topin 2018). Not the library: the library is tested against
this file.

    python -m tests.schedules.generate_golden
"""

import json
import pathlib

from tests.schedules import reference as ref

PATH = pathlib.Path(__file__).with_name("golden_cyclical.json")
STEPS = [0, 1, 500, 999, 1000, 1001, 1999, 2000, 2001, 3000, 4000, 5000, 6000, 7000, 8000, 10_000, 123_457, 1_000_000_000]

# Smith 2017's CIFAR-10 settings: base_lr 0.001, max_lr 0.006, stepsize 2000.
CYCLICAL = {
    "triangular": dict(base_lr=0.001, max_lr=0.006, step_size=2000, mode="triangular", gamma=1.0),
    "triangular2": dict(base_lr=0.001, max_lr=0.006, step_size=2000, mode="triangular2", gamma=1.0),
    "exp_range": dict(base_lr=0.001, max_lr=0.006, step_size=2000, mode="exp_range", gamma=0.99994),
}
# Smith & Topin 2018, figure: 0.08 -> 0.8 -> 0.08 over 82 of 90 epochs, then lower.
ONE_CYCLE = {
    "paper_linear": dict(low=0.08, high=0.8, total=9000, pct_start=4100 / 9000, end=0.0008, three_phase=True, anneal="linear"),
    "two_phase_cos": dict(low=0.004, high=0.1, total=9000, pct_start=0.3, end=4e-7, three_phase=False, anneal="cos"),
}


def generate():
    golden = {"steps": STEPS, "cyclical": {}, "one_cycle": {}}
    for name, p in CYCLICAL.items():
        rates = [float(ref.cyclical(p["base_lr"], p["max_lr"], p["step_size"], p["mode"], p["gamma"], float(g))) for g in STEPS]
        golden["cyclical"][name] = {"params": p, "rates": rates}
    for name, p in ONE_CYCLE.items():
        rates = [
            float(ref.one_cycle(p["low"], p["high"], p["total"], p["pct_start"], p["end"], float(g), p["three_phase"], p["anneal"]))
            for g in STEPS
        ]
        golden["one_cycle"][name] = {"params": p, "rates": rates}
    return golden


if __name__ == "__main__":
    PATH.write_text(json.dumps(generate(), indent=1) + "\n")
    print(f"wrote {PATH}")
