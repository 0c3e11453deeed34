"""docs/hooks/benchmarks.py: the docs' benchmark tables come from benchmarks/results/*.json."""

import argparse
import html
import importlib.util
import json
import pathlib
import subprocess
import sys
import types

import pytest

from tests.benchmarks.test_common import common

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def load_hook():
    spec = importlib.util.spec_from_file_location("_benchmarks_hook", ROOT / "docs" / "hooks" / "benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def write(folder, name, tables, notes="n"):
    args = argparse.Namespace(benchmark=name, command=f"python benchmarks/{name}.py", quick=False,
                              load_at_start=1.0, out=folder)
    return common.write_result(args, tables, notes)


def page(src_uri):
    return types.SimpleNamespace(file=types.SimpleNamespace(src_uri=src_uri))


def test_every_committed_result_is_valid_and_rendered():
    paths = sorted(RESULTS.glob("*.json"))
    assert paths, "no committed benchmark results"
    markdown = hook.render()
    for path in paths:
        data = json.loads(path.read_text())
        assert (ROOT / "benchmarks" / f"{path.stem}.py").exists(), f"{path.name} has no benchmark script"
        assert f"## {data['benchmark']}\n" in markdown and f"Command: `{hook.shown_command(data['command'])}`" in markdown
        for table in data["tables"]:
            assert f"**{table['title']}**" in markdown
            for row in table["rows"]:
                line = "| " + " | ".join(common.format_cell(v).replace("|", "\\|") for v in row) + " |"
                assert line in markdown, (path.name, line)


def test_the_marker_is_replaced_by_the_tables(tmp_path, monkeypatch):
    write(tmp_path, "beta", [common.table("Second", ["case", "ratio"], [["b|c", 0.25]])])
    write(tmp_path, "alpha", [common.table("First", ["case", "ms", "ratio"], [["a", 12.0, 1.5], ["z", None, None]])])
    monkeypatch.setattr(hook, "RESULTS", tmp_path)
    out = hook.on_page_markdown("# Benchmarks\n\n<!-- benchmark-tables -->\n\nafter\n", page("benchmarks.md"), {}, None)
    assert "<!-- benchmark-tables -->" not in out and out.startswith("# Benchmarks\n\n## alpha\n") and out.endswith("\nafter\n")
    assert out.index("## alpha") < out.index("## beta")  # sorted by name
    assert "| case | ms | ratio |\n| --- | ---: | ---: |\n| a | 12.00 | 1.50 |\n| z | - | - |" in out
    assert "| b\\|c | 0.25 |" in out  # a pipe in a cell does not split it


def test_a_named_marker_is_replaced_by_that_result_alone(tmp_path, monkeypatch):
    write(tmp_path, "beta", [common.table("Second", ["case", "ratio"], [["b", 0.25]])])
    write(tmp_path, "alpha", [common.table("First", ["case", "ratio"], [["a", 1.5]])])
    monkeypatch.setattr(hook, "RESULTS", tmp_path)
    out = hook.on_page_markdown("# Guide\n\n<!-- benchmark-tables: beta -->\n\nafter\n", page("guide.md"), {}, None)
    assert out.startswith("# Guide\n\n### beta\n") and out.endswith("\nafter\n")
    assert "| b | 0.25 |" in out and "alpha" not in out and "<!--" not in out
    with pytest.raises(ValueError, match=r"No benchmark result named 'gamma' in .*: run `python benchmarks/gamma.py`"):
        hook.on_page_markdown("<!-- benchmark-tables: gamma -->", page("guide.md"), {}, None)


def test_the_shown_command_drops_the_output_folder():
    assert hook.shown_command("python benchmarks/a.py --quick --out /tmp/x") == "python benchmarks/a.py --quick"
    assert hook.shown_command("python benchmarks/a.py --out '/tmp/a b' --quick") == "python benchmarks/a.py --quick"
    assert hook.shown_command("python benchmarks/a.py --out=/tmp/x") == "python benchmarks/a.py"
    assert hook.shown_command("python benchmarks/a.py --outer 1") == "python benchmarks/a.py --outer 1"


def test_other_pages_pass_through_and_the_benchmarks_page_needs_the_marker():
    assert hook.on_page_markdown("# Guide\n", page("guide.md"), {}, None) == "# Guide\n"
    with pytest.raises(ValueError, match="docs/benchmarks.md must contain the marker <!-- benchmark-tables -->"):
        hook.on_page_markdown("# Benchmarks\n", page("benchmarks.md"), {}, None)


def test_a_broken_result_stops_the_build(tmp_path):
    (tmp_path / "bad.json").write_text('{"benchmark": "bad"')
    with pytest.raises(ValueError, match="bad.json is invalid"):
        hook.render(tmp_path)
    (tmp_path / "bad.json").unlink()
    write(tmp_path, "one", [common.table("T", ["a"], [[1.0]])])
    (tmp_path / "one.json").rename(tmp_path / "two.json")
    with pytest.raises(ValueError, match="names the benchmark 'one', not 'two'"):
        hook.render(tmp_path)


def test_no_results_says_so(tmp_path):
    assert hook.render(tmp_path).startswith("No benchmark results are committed yet")


@pytest.mark.slow
def test_mkdocs_builds_a_page_with_the_hook(tmp_path):
    """The hook as MkDocs calls it, in a throw-away site (subprocess: `mkdocs build`)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text("# Benchmarks\n\n<!-- benchmark-tables -->\n")
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\nhooks:\n  - {ROOT / 'docs' / 'hooks' / 'benchmarks.py'}\n"
    )
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    text = html.unescape((tmp_path / "site" / "benchmarks" / "index.html").read_text())
    first = json.loads(sorted(RESULTS.glob("*.json"))[0].read_text())
    assert "<table>" in text and first["tables"][0]["title"] in text
