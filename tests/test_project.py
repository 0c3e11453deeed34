"""The project's entry points: the README's two commands, CI's failure on "no tests", the demo."""

import ast
import os
import pathlib
import shutil
import subprocess

import keras
import pytest

import kerastools
from kerastools import _registry

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run_ci_with_test_command(tmp_path, command):
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text(f"# x\n\n<!-- test-command -->\n```bash\n{command}\n```\n")
    return subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, timeout=60)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    demo, tests = text.index("<!-- demo-command -->"), text.index("<!-- test-command -->")
    assert demo < tests < text.index("## A short tour")
    assert "examples/demo.py" in text[demo:tests]
    assert "pytest tests" in text[tests : text.index("## A short tour")]


def test_readme_test_command_is_one_line_and_its_plugins_are_installed():
    text = (ROOT / "README.md").read_text()
    block = text[text.index("<!-- test-command -->") :].split("```")[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]  # after the "bash" info string
    assert len(lines) == 1, lines
    # The [test] extra, as written in pyproject.toml (tomllib needs Python 3.11).
    test_extra = next(line for line in (ROOT / "pyproject.toml").read_text().splitlines() if line.startswith("test = ["))
    if " -n " in lines[0]:  # pytest-xdist's option: the [test] extra must install it
        assert '"pytest-xdist' in test_extra, test_extra


def test_ci_runs_the_readme_command_and_fails_on_no_tests(tmp_path):
    runs = {}
    for name, command in [("ok", "echo ran-the-readme-command"), ("empty", "exit 5"), ("failing", "exit 3")]:
        (tmp_path / name).mkdir()
        runs[name] = _run_ci_with_test_command(tmp_path / name, command)
    assert runs["ok"].returncode == 0 and "ran-the-readme-command" in runs["ok"].stdout
    assert runs["empty"].returncode == 1 and "collected no tests" in runs["empty"].stderr
    assert runs["failing"].returncode == 3


def test_ci_refuses_a_readme_without_a_test_command(tmp_path):
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text("# nothing here\n")
    result = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True)
    assert result.returncode == 1 and "no test command" in result.stderr


def test_every_public_class_is_registered_under_the_package():
    assert _registry.registered_classes()
    for cls in _registry.registered_classes():
        assert keras.saving.get_registered_name(cls) == f"kerastools>{cls.__name__}"
        assert cls.__module__.startswith("kerastools.")


def test_no_private_keras_imports():
    # The one exception: kerastools.distribute's work-arounds for Keras defects.
    allowed = {ROOT / "kerastools" / "distribute" / "_keras_fixes.py"}
    for path in (ROOT / "kerastools").rglob("*.py"):
        if path not in allowed:
            assert "keras.src" not in path.read_text(), path


@pytest.mark.slow
def test_demo_trains_saves_reloads_and_evaluates(tmp_path, monkeypatch):
    # The demo reloads its models in a child process, which must import this
    # checkout's kerastools even when the package is not installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo", ROOT / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    # main() raises SystemExit unless the model resumed in a new process equals
    # the one trained on without saving, bit for bit.
    accuracies = demo.main(["--epochs", "3", "--out", str(tmp_path)])
    assert set(accuracies) == {"mlp", "cnn"}
    assert min(accuracies.values()) > 0.8, accuracies
    for name in ("mlp", "cnn"):
        assert kerastools.saving.load_model(tmp_path / f"{name}_resumed.h5").optimizer.iterations.numpy() > 0
    assert kerastools.__version__


def _starts_python(node):
    """Whether `node` calls subprocess.run/Popen/check_output/check_call with `sys.executable`."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and ast.unparse(call.func) in (
            "subprocess.run", "subprocess.Popen", "subprocess.check_output", "subprocess.check_call",
        ) and "sys.executable" in ast.unparse(call):
            return True
    return False


def unmarked_python_starters(source):
    """Names of the tests in `source` that start a Python process (directly, through a
    module-level helper or fixture, transitively) but do not carry the `slow` marker."""
    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    spawning = {name for name, fn in functions.items() if _starts_python(fn)}
    changed = True
    while changed:  # helpers and fixtures that call a spawning function
        changed = False
        for name, fn in functions.items():
            uses = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | {a.arg for a in fn.args.args}
            if name not in spawning and uses & spawning:
                spawning.add(name)
                changed = True
    module_slow = any(
        isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in n.targets)
        and "pytest.mark.slow" in ast.unparse(n.value)
        for n in tree.body
    )
    return sorted(
        name for name in spawning
        if name.startswith("test_") and not module_slow
        and "pytest.mark.slow" not in [ast.unparse(d) for d in functions[name].decorator_list]
    )


def test_tests_that_start_python_are_marked_slow():
    """`pytest -m "not slow"` starts no Python process: each costs a TensorFlow start-up."""
    unmarked = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        names = unmarked_python_starters(path.read_text())
        if names:
            unmarked[str(path.relative_to(ROOT))] = names
    assert not unmarked, unmarked


def test_the_slow_mark_check_sees_helpers_fixtures_and_module_marks():
    helper = (
        "import subprocess, sys\n"
        "def run(): subprocess.run([sys.executable, '-c', ''])\n"
        "def fixture_like(tmp_path): return run()\n"
        "def test_direct(): subprocess.Popen([sys.executable])\n"
        "def test_via_fixture(fixture_like): pass\n"
        "@pytest.mark.slow\ndef test_marked(): run()\n"
        "def test_bash(): subprocess.run(['bash', '-c', 'true'])\n"
    )
    assert unmarked_python_starters(helper) == ["test_direct", "test_via_fixture"]
    assert unmarked_python_starters("import pytest\npytestmark = pytest.mark.slow\n" + helper) == []
