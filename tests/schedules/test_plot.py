"""kerastools.schedules.plot: a matplotlib Figure with the schedule's values."""

import sys

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from kerastools import schedules as S
from kerastools.schedules.plot import evaluate


def test_plot_returns_a_figure_with_the_rates(tmp_path):
    schedule = S.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    fig = S.plot(schedule, 50)
    assert isinstance(fig, Figure)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(50))
    np.testing.assert_allclose(line.get_ydata(), [float(schedule(g)) for g in range(50)])
    assert line.get_label() == "ExponentialDecay"
    fig.savefig(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 0


def test_overlay_on_an_axes_and_log_scale():
    fig = S.plot(S.ExponentialDecay(0.1, 10, 0.5), [0, 5, 10, 100], label="exp")
    same = S.plot(S.NaturalExpDecay(0.1, 10, 0.5), [0, 5, 10, 100], ax=fig.axes[0], label="natural", log_scale=True)
    assert same is fig
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["exp", "natural"]
    assert fig.axes[0].get_yscale() == "log"


def test_keras_schedules_are_evaluated_one_step_at_a_time():
    """Keras's CosineDecay with warm-up has a scalar-only cond; plot maps over steps."""
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=5)
    got = evaluate(schedule, np.arange(30))
    np.testing.assert_allclose(got, [float(schedule(g)) for g in range(30)], rtol=1e-7)
    assert S.plot(schedule, 30).axes[0].get_lines()[0].get_label() == "CosineDecay"


@pytest.mark.parametrize(
    "steps, message",
    [(0, r"Argument `steps` must be >= 1 when an integer. Received: steps=0"),
     ([], r"Argument `steps` must be an int or a non-empty 1-D sequence. Received: steps=array\(\[\]")],
)
def test_bad_steps(steps, message):
    with pytest.raises(ValueError, match=message):
        S.plot(S.ExponentialDecay(0.1, 10, 0.5), steps)


def test_not_a_schedule():
    with pytest.raises(TypeError, match=r"Argument `schedule` must be a `keras.optimizers.schedules.LearningRateSchedule`"):
        S.plot(0.1, 10)


def test_missing_matplotlib_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"needs matplotlib, an optional dependency: install it with `pip install matplotlib`"):
        S.plot(S.ExponentialDecay(0.1, 10, 0.5), 10)
