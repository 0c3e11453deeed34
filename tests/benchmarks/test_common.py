"""benchmarks/_common.py: the ABBA timer, the tables, the JSON result and its schema."""

import argparse
import importlib.util
import json
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_common():
    # By path and under its own name: the examples have a `_common` module too.
    spec = importlib.util.spec_from_file_location("_benchmarks_common", ROOT / "benchmarks" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = load_common()


def test_interleave_alternates_the_order_and_warms_up_first():
    calls = []
    functions = [lambda: calls.append("a"), lambda: calls.append("b"), lambda: calls.append("c")]
    samples = common.interleave(functions, 3, warmup=2, measure=lambda fn: (fn(), len(calls))[1])
    assert calls == ["a", "a", "b", "b", "c", "c"] + ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    # measure's value lands in the column of the function it measured.
    np.testing.assert_array_equal(samples, [[7, 8, 9], [12, 11, 10], [13, 14, 15]])


def test_interleave_rejects_no_repeats():
    with pytest.raises(ValueError, match=r"Argument `repeats` must be >= 1. Received: repeats=0"):
        common.interleave([lambda: None], 0)


def test_summaries_of_samples():
    samples = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 8.0]])
    assert common.medians(samples) == [2.0, 2.0]
    assert common.bests(samples) == [1.0, 2.0]
    # Paired: median of 0.5, 1.5, 0.25, not 2.0 / 2.0.
    assert common.paired_ratio(samples) == 0.5


def test_per_call_divides_by_the_number_of_calls():
    count = []
    seconds = common.per_call(lambda: count.append(1), 50)()
    assert len(count) == 50 and 0 < seconds < 0.01


def test_digits_and_mlp():
    x, y = common.digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() == 1.0
    assert y.dtype == np.int64 and set(y) == set(range(10))
    model = common.mlp((16, 8), "tanh", softmax=False, seed=3)
    assert [w.shape for w in model.weights] == [(64, 16), (16,), (16, 8), (8,), (8, 10), (10,)]
    assert model.layers[-1].get_config()["activation"] == "linear"
    again = common.mlp((16, 8), "tanh", softmax=False, seed=3)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same seed draws the same weights


@pytest.mark.parametrize(
    "value, text",
    [(None, "-"), ("x", "x"), (7, "7"), (0.0, "0.00"), (1.234, "1.23"), (12.346, "12.35"), (123.46, "123.5"),
     (12345.6, "12,346"), (0.01234, "0.0123"), (-0.5, "-0.50"), (0.2525, "0.25"), (0.0967, "0.0967"), (float("nan"), "nan")],
)
def test_format_cell(value, text):
    assert common.format_cell(value) == text


def test_table_checks_its_rows():
    assert common.table("t", ["a", "b"], [("x", 1.0)]) == {"title": "t", "columns": ["a", "b"], "rows": [["x", 1.0]]}
    with pytest.raises(ValueError, match="a row has 1 cells for 2 columns"):
        common.table("t", ["a", "b"], [["x"]])
    with pytest.raises(TypeError, match="cell array.* of type ndarray is not str, int, float or None"):
        common.table("t", ["a"], [[np.array([1.0])]])


def test_format_table_aligns_columns():
    text = common.format_table(common.table("Title", ["name", "ms"], [["long name", 1.5], ["b", 123.25]]))
    assert text.splitlines() == ["Title", "name          ms", "---------  -----", "long name   1.50", "b          123.2"]


def _args(tmp_path, quick=True):
    return argparse.Namespace(benchmark="demo", command="python benchmarks/demo.py --quick", quick=quick,
                              load_at_start=0.5, out=tmp_path)


def test_write_result_follows_the_schema(tmp_path):
    tables = [common.table("T", ["case", "ratio", "n"], [["a", float("nan"), 3], ["b", 0.5, None]])]
    path = common.write_result(_args(tmp_path), tables, "a note.")
    assert path == tmp_path / "demo.json"
    data = common.validate(json.loads(path.read_text()))
    assert data["benchmark"] == "demo" and data["command"] == "python benchmarks/demo.py --quick"
    assert data["tables"][0]["rows"] == [["a", None, 3], ["b", 0.5, None]]  # NaN is not JSON: null
    assert data["notes"].startswith("Quick mode") and data["notes"].endswith("a note.")
    assert data["machine"]["cores"] == os.cpu_count()
    import kerastools

    assert data["versions"]["kerastools"].startswith(kerastools.__version__)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_a_failed_write_keeps_the_previous_result(tmp_path, monkeypatch):
    path = common.write_result(_args(tmp_path), [common.table("T", ["a"], [[1.0]])])
    before = path.read_text()

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(common.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        common.write_result(_args(tmp_path), [common.table("T", ["a"], [[2.0]])])
    assert path.read_text() == before
    assert list(tmp_path.iterdir()) == [path]


def test_validate_names_what_is_wrong(tmp_path):
    good = common.result(_args(tmp_path), [common.table("T", ["a"], [[1.0]])])
    common.validate(good)
    with pytest.raises(ValueError, match="A result has the keys"):
        common.validate({k: v for k, v in good.items() if k != "notes"})
    with pytest.raises(ValueError, match="`tables` must be a non-empty list"):
        common.validate({**good, "tables": []})
    with pytest.raises(ValueError, match="`machine` must be"):
        common.validate({**good, "machine": {**good["machine"], "cores": "2"}})
    with pytest.raises(ValueError, match="Invalid isoformat"):
        common.validate({**good, "date": "yesterday"})
    with pytest.raises(ValueError, match="a row has 2 cells for 1 columns"):
        common.validate({**good, "tables": [{"title": "T", "columns": ["a"], "rows": [[1, 2]]}]})


def test_parse_args_records_the_command(tmp_path, capsys):
    parser = common.parser("demo", "doc", "quick help")
    args = common.parse_args(parser, ["--quick", "--out", str(tmp_path / "r s")])
    assert args.quick and args.out == tmp_path / "r s" and args.benchmark == "demo"
    assert args.command == f"python benchmarks/demo.py --quick --out '{tmp_path / 'r s'}'"
    assert "kerastools" in capsys.readouterr().out
    assert common.parse_args(parser, []).out == ROOT / "benchmarks" / "results"
