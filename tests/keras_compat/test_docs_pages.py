"""The Python code blocks of the batch-normalization guide and the Keras
compatibility page run top to bottom, as a reader would paste them, and print
what the page says they show."""

import contextlib
import io
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = {
    "docs/guides/batch-normalization.md": [
        "True True",
        "True",
        "['moving_mean', 'moving_variance', 'moving_stddev', 'renorm_mean', 'renorm_stddev']",
    ],
    "docs/keras-compatibility.md": ["True {'rmax': 3.0}", "True True"],
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_code_blocks_run_and_print_what_they_show(page):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), flags=re.S)
    assert blocks
    namespace = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        for block in blocks:
            exec(compile(block, page, "exec"), namespace)  # noqa: S102 - the page's own code
    assert output.getvalue().splitlines() == PAGES[page]
