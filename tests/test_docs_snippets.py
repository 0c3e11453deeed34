"""Every ```python block of README.md and docs/**/*.md runs, as a reader would run it.

One runner for all pages: the blocks of a page run in order, in one fresh
namespace, in a fresh Python process whose working directory is a temporary
folder (so a page that writes files leaves nothing in the checkout), under a
time limit. Blocks find each other only by their order on the page, never by
heading. A block that must not run is written with another fence language
(```bash, ```text); there is no skip. What a page promises beyond "it runs" is
an `assert` in its own code.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# A fence opens with ```python at the start of a line (any indentation, as in
# list items) and closes with ``` at the same indentation.
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
TIMEOUT_S = 900  # the slowest page trains a few small models on a shared 2-core CPU


def pages():
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [page for page in found if page.is_file()]


def python_blocks(text):
    """The code of every ```python block, dedented, with the line it starts on."""
    blocks = []
    for match in FENCE.finditer(text):
        indent = match.group("indent")
        lines = [line[len(indent):] if line.startswith(indent) else line for line in match.group("code").splitlines()]
        start = text.count("\n", 0, match.start("code")) + 1
        blocks.append((start, "\n".join(lines) + "\n"))
    return blocks


def page_script(page):
    """The page's blocks as one script; line numbers in tracebacks point into the page."""
    text = page.read_text(encoding="utf-8")
    script, line = [], 1
    for start, code in python_blocks(text):
        script.append("\n" * (start - line))  # keep the page's line numbers
        script.append(code)
        line = start + code.count("\n")
    return "".join(script)


def test_the_fence_pattern_finds_indented_blocks_and_ignores_other_languages():
    text = "x\n```python\na = 1\n```\n```bash\nexit 1\n```\n* item\n\n    ```python\n    b = a + 1\n    ```\n"
    blocks = python_blocks(text)
    assert [code for _, code in blocks] == ["a = 1\n", "b = a + 1\n"]
    assert [start for start, _ in blocks] == [3, 11]


def test_there_are_pages_with_code():
    assert sum(len(python_blocks(p.read_text(encoding="utf-8"))) for p in pages()) >= 10


PAGES = [page for page in pages() if python_blocks(page.read_text(encoding="utf-8"))]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs(page, tmp_path):
    script = tmp_path / "page.py"
    script.write_text(page_script(page), encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert result.returncode == 0, (
        f"{page.relative_to(ROOT)}: its python blocks failed (line numbers are the page's)\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )
