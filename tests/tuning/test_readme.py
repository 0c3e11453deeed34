"""The example of the README's hyperparameter search section runs as written."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def _section_code():
    text = README.read_text(encoding="utf-8")
    section = text.split("### Hyperparameter search — `kerastools.tuning`", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.slow
def test_readme_example_runs(capsys):
    namespace = {}
    exec(compile(_section_code(), "README.md", "exec"), namespace)
    oracle = namespace["tuner"].oracle
    assert oracle.round_sizes() == [3, 3] and len(oracle.boxes) == 2
    history = namespace["panda"].history
    assert [(e["session"], e["epoch"]) for e in history] == [(1, 1), (1, 2), (2, 3), (2, 4)]
    assert history[-1]["learning_rate"] == pytest.approx(3e-3)
    assert namespace["panda"].sessions[0]["note"] == "day 1"
    out = capsys.readouterr().out
    assert "[3, 3]" in out and "2 4 0.003" in out
