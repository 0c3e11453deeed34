"""The example of the README's learning-rate schedules section runs as written."""

import pathlib
import re

import keras

from kerastools import schedules as S

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def _section_code():
    text = README.read_text(encoding="utf-8")
    section = text.split("### Learning-rate schedules — `kerastools.schedules`", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(_section_code(), "README.md", "exec"), namespace)
    assert len(namespace["history"].history["learning_rate"]) == 5
    assert (tmp_path / "decays.png").stat().st_size > 0
    assert list((tmp_path / "logs" / "lr").glob("events.out.tfevents.*"))
    restored = namespace["restored"]
    config = restored.optimizer.get_config()["learning_rate"]["config"]
    assert config["scale"] == namespace["schedule"].scale
    assert isinstance(keras.saving.deserialize_keras_object(restored.optimizer.get_config()["learning_rate"]), S.ScaledSchedule)
    assert "[" in capsys.readouterr().out
