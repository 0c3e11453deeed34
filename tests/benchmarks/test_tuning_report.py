"""benchmarks/tuning.py: the win-rate interval of its report."""

import importlib.util
import math
import pathlib
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_tuning():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # tuning.py imports _tuning_suite
    try:
        spec = importlib.util.spec_from_file_location("_benchmarks_tuning", ROOT / "benchmarks" / "tuning.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


tuning = load_tuning()


def score_test_bounds(successes, n, z=1.959964):
    """The Wilson interval as the set of rates p the score test does not reject,
    |k/n - p| <= z sqrt(p (1 - p) / n), its ends found by bisection (independent of
    the closed form)."""
    rate = successes / n

    def outside(p):
        return abs(rate - p) > z * math.sqrt(p * (1 - p) / n)

    def edge(lo, hi):  # outside(lo) != outside(hi): bisect to the boundary
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if outside(mid) == outside(lo):
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    low = 0.0 if successes == 0 else edge(0.0, rate)
    high = 1.0 if successes == n else edge(rate, 1.0)
    return low, high


@pytest.mark.parametrize("successes, n", [(60, 100), (14, 30), (0, 10), (10, 10), (1, 1), (999, 1000)])
def test_wilson_interval_is_the_score_test_interval(successes, n):
    low, high = tuning.wilson(successes, n)
    ref_low, ref_high = score_test_bounds(successes, n)
    # bisection to 2**-200 and the closed form agree to rounding
    assert low == pytest.approx(ref_low, abs=1e-12) and high == pytest.approx(ref_high, abs=1e-12)


def test_wilson_interval_of_the_rows_quoted_in_the_guide():
    assert tuple(round(x, 2) for x in tuning.wilson(60, 100)) == (0.50, 0.69)
    assert tuple(round(x, 2) for x in tuning.wilson(14, 30)) == (0.30, 0.64)


@given(n=st.integers(1, 2000), data=st.data())
def test_wilson_interval_holds_the_rate_and_narrows_with_more_seeds(n, data):
    k = data.draw(st.integers(0, n))
    low, high = tuning.wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    low4, high4 = tuning.wilson(4 * k, 4 * n)  # four times the seeds, the same rate
    assert high4 - low4 < high - low
