"""The README's optimizer example runs."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_optimizer_example_runs():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- optimizers-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its <!-- optimizers-example --> block"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(match.group(1), "README.md", "exec"), {})
    assert out.getvalue().split() == ["AdamW", "0.01"]
