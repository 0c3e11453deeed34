"""MkDocs hook: the benchmark tables of the docs, generated from the result files.

Every ``benchmarks/<name>.py`` writes ``benchmarks/results/<name>.json`` (schema
in ``benchmarks/_common.py``). This hook replaces the marker
``<!-- benchmark-tables -->`` in a page (``docs/benchmarks.md``) with one section
per result file: when and where it ran, the command, every table, the notes.
``<!-- benchmark-tables: NAME -->`` in any page puts there the section of
``benchmarks/results/NAME.json`` alone (a guide quoting one benchmark). The
numbers are never typed into the docs. Enable it in ``mkdocs.yml``::

    hooks:
      - docs/hooks/benchmarks.py

``python docs/hooks/benchmarks.py`` prints the generated Markdown.
"""

import importlib.util
import json
import pathlib
import re

MARKER = "<!-- benchmark-tables -->"
NAMED_MARKER = re.compile(r"<!-- benchmark-tables: ([A-Za-z0-9_]+) -->")
PAGE = "benchmarks.md"  # the page that must carry the marker
ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def _common():
    """benchmarks/_common.py (the schema check and the cell format the benchmarks print with)."""
    spec = importlib.util.spec_from_file_location("_benchmarks_common", ROOT / "benchmarks" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_results(folder=None):
    """Every ``*.json`` in `folder` (default ``benchmarks/results``), validated, sorted by name.

    Raises:
        ValueError: a file is not valid JSON, breaks the schema, or names another benchmark.
    """
    common = _common()
    results = []
    for path in sorted(pathlib.Path(RESULTS if folder is None else folder).glob("*.json")):
        try:
            data = common.validate(json.loads(path.read_text()))
        except (ValueError, TypeError) as error:
            raise ValueError(f"Benchmark result {path} is invalid: {error}") from error
        if data["benchmark"] != path.stem:
            raise ValueError(f"Benchmark result {path} names the benchmark {data['benchmark']!r}, not {path.stem!r}")
        results.append(data)
    return results


def shown_command(command):
    """The command without ``--out DIR``: where the file went is not how it was measured."""
    return re.sub(r" --out(?:=| )(?:'[^']*'|\S+)", "", command)


def _cell(common, value):
    return common.format_cell(value).replace("|", "\\|")


def render_table(common, table):
    columns = table["columns"]
    align = ["---"] + ["---:" if any(isinstance(row[i], (int, float)) for row in table["rows"]) else "---" for i in range(1, len(columns))]
    lines = [
        f"**{table['title']}**",
        "",
        "| " + " | ".join(_cell(common, c) for c in columns) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_cell(common, v) for v in row) + " |" for row in table["rows"]]
    return "\n".join(lines)


def render(folder=None, heading="##", only=None):
    """The Markdown of every result in `folder` (default ``benchmarks/results``), or
    of the result named `only`.

    Raises:
        ValueError: `only` names no result file.
    """
    common = _common()
    results = load_results(folder)
    if only is not None:
        results = [data for data in results if data["benchmark"] == only]
        if not results:
            raise ValueError(f"No benchmark result named {only!r} in {RESULTS if folder is None else folder}: run `python benchmarks/{only}.py`")
    if not results:
        return "No benchmark results are committed yet: run `python benchmarks/<name>.py`."
    sections = []
    for data in results:
        m, v = data["machine"], data["versions"]
        parts = [
            f"{heading} {data['benchmark']}",
            "",
            f"Run {data['date']} on {m['cpu']} ({m['cores']} cores, {m['platform']}) with Python {v['python']}, "
            f"TensorFlow {v['tensorflow']}, Keras {v['keras']}, NumPy {v['numpy']}, kerastools {v['kerastools']}.",
            "",
            f"Command: `{shown_command(data['command'])}`",
        ]
        for table in data["tables"]:
            parts += ["", render_table(common, table)]
        if data["notes"]:
            parts += ["", data["notes"]]
        sections.append("\n".join(parts))
    return "\n\n".join(sections) + "\n"


def on_page_markdown(markdown, page, config, files, **kwargs):
    """MkDocs event: put the tables in place of the marker."""
    markdown = NAMED_MARKER.sub(lambda m: render(heading="###", only=m.group(1)), markdown)
    if MARKER in markdown:
        return markdown.replace(MARKER, render())
    if page.file.src_uri == PAGE:
        raise ValueError(f"docs/{PAGE} must contain the marker {MARKER} where the benchmark tables go")
    return markdown


if __name__ == "__main__":
    print(render(), end="")
