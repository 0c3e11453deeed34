"""The documentation site builds in strict mode: a broken reference, a missing
page or a docstring mkdocstrings cannot parse fails the build (and this test)."""

import os
import re
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mkdocs_builds_in_strict_mode_without_warnings(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # MkDocs's own warnings (absl's "WARNING: All log messages..." from TensorFlow,
    # imported by the docs extension that renders templated docstrings, is not one).
    assert not re.search(r"^WARNING\s+-", output, flags=re.MULTILINE), output
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    # The API reference is generated from the docstrings; their doctest
    # examples are code blocks (docs/_ext/doctest_fences.py), not quotes.
    for page in sorted((site / "reference").glob("*/index.html")):
        html = page.read_text(encoding="utf-8")
        assert "<blockquote" not in html, f"{page}: a docstring line starting with '>' became a quote"
        assert "&gt;&gt;&gt;" not in html or '<div class="highlight"><pre><span></span><code><span class="gp">&gt;&gt;&gt;' in html, page
    reference = (site / "reference" / "optimizers" / "index.html").read_text(encoding="utf-8")
    assert "epsilon_placement" in reference


def test_every_page_is_in_the_navigation():
    # mkdocs only warns about pages left out of `nav` (validation.omitted_files),
    # which the strict build turns into a failure; this says which page.
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")]
    missing = [page for page in pages if page not in nav]
    assert not missing, f"add these pages to the nav of mkdocs.yml: {missing}"


def test_doctest_examples_become_code_blocks_in_the_reference():
    import importlib.util

    spec = importlib.util.spec_from_file_location("doctest_fences", ROOT / "docs" / "_ext" / "doctest_fences.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "Summary.\n\nExample:\n\n>>> 1 + 1\n2\n>>> print('a')\na\n\nAfter.\n\n    >>> x = 1\n\n```python\n>>> kept\n```"
    assert module.fence_doctests(text) == (
        "Summary.\n\nExample:\n\n```pycon\n>>> 1 + 1\n2\n>>> print('a')\na\n```\n\nAfter.\n\n"
        "    ```pycon\n    >>> x = 1\n    ```\n\n```python\n>>> kept\n```"
    )
