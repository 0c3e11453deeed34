"""Every benchmark runs in `--quick` mode and writes a valid result, never over the committed ones.

Each benchmark runs in its own Python process, as a user runs it
(``python benchmarks/<name>.py --quick --out <tmp>``), on this checkout's kerastools.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.benchmarks.test_common import common

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))
# A quick run takes a minute or two on 2 busy cores; this only stops a hung one.
TIMEOUT_S = 900


def test_the_benchmarks_are_found():
    names = {p.stem for p in BENCHMARKS}
    assert {"optimizers", "schedules", "layers", "gradcheck", "hdf5_data", "diagnostics", "tuning"} <= names, names


@pytest.mark.slow
@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_quick_run_writes_a_valid_result(path, tmp_path):
    committed = {p: p.stat().st_mtime_ns for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(path), "--quick", "--out", str(tmp_path / "results")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    log = f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert result.returncode == 0, log
    written = sorted((tmp_path / "results").iterdir())
    # The tuning benchmark also keeps one line per search, so a long run can be split and continued.
    extra = [tmp_path / "results" / "tuning_runs.jsonl"] if path.stem == "tuning" else []
    assert written == sorted([tmp_path / "results" / f"{path.stem}.json", *extra]), written
    data = common.validate(json.loads((tmp_path / "results" / f"{path.stem}.json").read_text()))
    assert data["benchmark"] == path.stem and "--quick" in data["command"] and data["notes"].startswith("Quick mode")
    for table in data["tables"]:
        assert table["rows"], table["title"]
        for row in table["rows"]:  # the printed tables are the written ones (layers and tuning print their own layout)
            assert str(row[0]) in result.stdout, (row, log)
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "benchmarks" / "results").glob("*.json")} == committed
