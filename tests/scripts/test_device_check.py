"""scripts/device_check.sh: its arguments, its budget and its summary (the full run is
measured by hand on a CPU and on a GPU machine; see the script's header)."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "device_check.sh"


def run(*args, timeout=120, **env):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env})


def test_help_and_bad_arguments():
    done = run("--help")
    assert done.returncode == 0 and "--no-install" in done.stdout and "under 8 minutes" in done.stdout
    done = run("--budget", "8m")
    assert done.returncode == 2 and "--budget must be a whole number of seconds, got '8m'" in done.stderr
    done = run("--frobnicate")
    assert done.returncode == 2 and "unknown argument --frobnicate" in done.stderr


@pytest.mark.slow
def test_a_spent_budget_runs_nothing_and_fails(tmp_path):
    """Without nvidia-smi on the PATH it says so; with no time left every step is
    reported as not run, the summary is written, and the exit status is 1."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "timeout", "mktemp", "date", "tr", "tail", "sed", "grep", "ls", "xargs", "nproc", "tee", "basename", "dirname", "cat", "mkdir", "head"):
        for folder in os.environ["PATH"].split(os.pathsep):
            if (pathlib.Path(folder) / tool).exists():
                (bin_dir / tool).symlink_to(pathlib.Path(folder) / tool)
                break
    out = tmp_path / "out"
    done = run("--no-install", "--budget", "0", "--out", str(out), PYTHON=sys.executable, PATH=str(bin_dir), timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No GPU found (nvidia-smi lists none): running the same checks on the CPU." in done.stdout
    summary = (out / "summary.txt").read_text()
    assert "device check summary: CPU" in summary
    assert "NOT RUN" in summary and "tests on the CPU (not slow) (budget spent)" in summary
    assert "benchmark optimizers quick (budget spent)" in summary and "benchmark layers quick (budget spent)" in summary
    examples = len(list((ROOT / "examples").glob("[0-9]*.py")))
    assert summary.count("NOT RUN") == 1 + examples + 2  # the tests, every example, the two benchmarks
    assert "PASS" not in summary
