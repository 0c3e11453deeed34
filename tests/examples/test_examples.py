"""CI for the examples: every `examples/NN_*.py` runs in smoke mode and writes its plots.

Each example runs in its own Python process (as a user runs it, and so that its
global settings, e.g. op determinism, stay there) with ``--smoke --out <tmp>``;
the test checks the exit code, the device line, and that every PNG named in the
example's ``FIGURES`` constant exists and is a real image (at least one PNG when
an example declares none). ``--help`` is checked in this process by importing
the modules, which costs no TensorFlow start-up per example.
"""

import ast
import contextlib
import importlib.util
import io
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("[0-9][0-9]_*.py"))
ALL_SCRIPTS = sorted(EXAMPLES_DIR.glob("*.py"))  # the examples, the demo and `_common`
# Smoke runs take seconds; this only stops a hung example.
TIMEOUT_S = 300


def declared_figures(path):
    """The example's ``FIGURES`` tuple, read from its source without importing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FIGURES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return None


def child_env():
    env = dict(os.environ)
    # The child must import this checkout's kerastools even when it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    # Each example sets TensorFlow's log level itself (checked in its output below).
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def check_image(path):
    assert path.stat().st_size > 0, f"{path} is empty"
    with Image.open(path) as image:
        image.verify()  # a truncated or corrupt PNG raises here
    with Image.open(path) as image:
        assert image.format == "PNG", (path, image.format)
        width, height = image.size
        pixels = np.asarray(image.convert("L"))
    assert width >= 200 and height >= 150, f"{path} is only {width}x{height} pixels"
    # A figure whose drawing failed is a blank canvas of one colour.
    assert pixels.std() > 1.0, f"{path} is blank"


def test_examples_are_found():
    names = [path.name for path in EXAMPLES]
    for expected in ("01_optimizer_paths.py", "07_gradient_check.py", "09_hdf5_resume.py"):
        assert expected in names, names


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs_in_smoke_mode_and_writes_its_plots(path, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(path), "--smoke", "--out", str(out)],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    log = f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert result.returncode == 0, log
    assert "device: /" in result.stdout, log
    # TensorFlow's C++ start-up notice, printed at log level 0 and 1 only: the
    # example set TF_CPP_MIN_LOG_LEVEL before importing TensorFlow.
    assert "This TensorFlow binary is optimized" not in result.stderr, log
    written = sorted(p.name for p in out.glob("*.png"))
    figures = declared_figures(path)
    if figures is None:
        assert written, f"{path.name} wrote no PNG file\n{log}"
    else:
        assert written == sorted(figures), f"{path.name} wrote {written}, declares {figures}"
    for name in written:
        check_image(out / name)


TENSORFLOW_MODULES = {"tensorflow", "keras", "keras_tuner", "kerastools", "_common"}


def _imported_modules(node):
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0:
        return {node.module.split(".")[0]}
    return set()


def _sets_log_level(node):
    """``os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")`` (or a higher level) as a statement."""
    call = node.value if isinstance(node, ast.Expr) else None
    if not (isinstance(call, ast.Call) and ast.unparse(call.func) in ("os.environ.setdefault", "os.environ.__setitem__")):
        return False
    args = [ast.literal_eval(a) for a in call.args] if all(isinstance(a, ast.Constant) for a in call.args) else []
    return len(args) == 2 and args[0] == "TF_CPP_MIN_LOG_LEVEL" and args[1] in ("2", "3")


def log_level_set_before_tensorflow(source):
    """Whether a module sets TF_CPP_MIN_LOG_LEVEL at top level before its first import
    of TensorFlow, Keras, KerasTuner, kerastools or the examples' `_common` (each imports TensorFlow)."""
    for node in ast.parse(source).body:
        if _sets_log_level(node):
            return True
        if _imported_modules(node) & TENSORFLOW_MODULES:
            return False
    return False


@pytest.mark.parametrize("path", ALL_SCRIPTS, ids=[path.stem for path in ALL_SCRIPTS])
def test_every_example_sets_the_log_level_before_importing_tensorflow(path):
    assert log_level_set_before_tensorflow(path.read_text()), path.name


def test_the_log_level_check_finds_late_and_missing_settings():
    good = 'import os\n\nos.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")\n\nimport tensorflow as tf\n'
    assert log_level_set_before_tensorflow(good)
    late = 'import os\nimport keras\n\nos.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")\n'
    assert not log_level_set_before_tensorflow(late)
    assert not log_level_set_before_tensorflow("import _common\n")  # _common imports TensorFlow
    assert not log_level_set_before_tensorflow('import os\nos.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")\nimport keras\n')
    assert not log_level_set_before_tensorflow("from kerastools import schedules\n")


def load_example(path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_help_a_docstring_and_main(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES_DIR))  # the examples import `_common`
    for path in EXAMPLES:
        module = load_example(path)
        assert module.__doc__ and callable(module.main), path.name
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as exit_info:
            module.main(["--help"])
        assert exit_info.value.code == 0, path.name
        text = stdout.getvalue()
        assert "usage:" in text and "--smoke" in text and "--out" in text, (path.name, text)
        assert module.__doc__.strip().splitlines()[0] in text, (path.name, text)


def test_declared_figures_are_read_from_the_source(tmp_path):
    example = tmp_path / "99_x.py"
    example.write_text('"""x"""\nFIGURES = ("a.png", "b.png")\n')
    assert declared_figures(example) == ("a.png", "b.png")
    example.write_text('"""x"""\n')
    assert declared_figures(example) is None


def test_check_image_rejects_blank_and_broken_files(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    with pytest.raises(AssertionError, match="blank"):
        check_image(blank)
    broken = tmp_path / "broken.png"
    broken.write_bytes(blank.read_bytes()[:100])
    with pytest.raises(OSError, match="[Tt]runcated"):
        check_image(broken)
    tiny = tmp_path / "tiny.png"
    Image.fromarray((np.random.default_rng(0).random((20, 20)) * 255).astype("uint8")).save(tiny)
    with pytest.raises(AssertionError, match="only 20x20"):
        check_image(tiny)
