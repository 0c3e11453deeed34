"""The project's entry points: the README's two commands, CI's failure on "no tests", the demo."""

import os
import pathlib
import shutil
import subprocess

import keras

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
