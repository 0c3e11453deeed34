"""The README's Layers example runs as printed and does what its comments say."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _layers_example():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Layers — `kerastools.layers`") :]
    section = section[: section.index("\n### ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_layers_example(capsys):
    namespace = {}
    exec(compile(_layers_example(), "README.md (Layers example)", "exec"), namespace)
    _, accuracy = namespace["model"].evaluate(namespace["x"][1500:], namespace["y"][1500:], verbose=0)
    assert accuracy > 0.85
    assert namespace["report"].passed
    assert "True" in capsys.readouterr().out
