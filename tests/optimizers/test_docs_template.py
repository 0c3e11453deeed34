"""The shared `Args` entries (kerastools/optimizers/_docs.py) reach every optimizer."""

import inspect
import logging
import re
from pathlib import Path

import griffe
import pytest

import kerastools as kt
from kerastools.optimizers import _docs
from kerastools.optimizers._base import FusedOptimizer

OPTIMIZERS = [getattr(kt.optimizers, name) for name in kt.optimizers.__all__]


def _args_section(cls):
    """The parameters griffe's Google parser reads from the rendered docstring
    (what the docs site shows), and the warnings it gives."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("griffe")  # the standard logger griffe writes to
    logger.addHandler(handler)
    try:
        # As mkdocs.yml parses it: arguments are documented in prose, untyped.
        docstring = griffe.Docstring(inspect.cleandoc(cls.__doc__), lineno=1)
        sections = docstring.parse("google", warn_missing_types=False)
    finally:
        logger.removeHandler(handler)
    warnings = records
    params = [s for s in sections if s.kind is griffe.DocstringSectionKind.parameters]
    assert len(params) == 1, f"{cls.__name__} has {len(params)} Args sections"
    return {p.name: p.description for p in params[0].value}, warnings


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_rendered_docstring_has_the_shared_text_and_no_placeholder(cls):
    doc = cls.__doc__
    assert "{{" not in doc and "}}" not in doc
    parameters = inspect.signature(cls.__init__).parameters
    for render in _docs.SHARED_ARGS.values():
        if render is _docs._epsilon and "epsilon" not in parameters:
            continue
        entry = render(parameters)
        # The entry is in the docstring as one block, indented as an Args entry.
        assert "\n".join(" " * 8 + line for line in entry.split("\n")) in doc


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_rendered_args_are_google_style_one_entry_per_argument(cls):
    args, warnings = _args_section(cls)
    assert warnings == []
    expected = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    expected = ["**kwargs" if name == "kwargs" else name for name in expected]
    assert list(args) == expected
    signature = inspect.signature(cls.__init__).parameters
    for name, description in args.items():
        if name == "**kwargs":
            continue
        # Each entry ends with the default the constructor really uses.
        default = _docs._literal(signature[name].default)
        assert description.endswith(f"Defaults to `{default}`."), (name, description)


def test_learning_rate_defaults_are_the_documented_ones():
    # Read back from the text, not from the renderer: SGD and Momentum use 0.01.
    for cls, default in [(kt.SGD, "0.01"), (kt.Momentum, "0.01"), (kt.Adam, "0.001")]:
        args, _ = _args_section(cls)
        assert args["learning_rate"].endswith(f"Defaults to `{default}`.")
    args, _ = _args_section(kt.Adagrad)
    assert args["epsilon"].endswith("Defaults to `1e-7`.")  # not Python's 1e-07


def test_kwargs_list_is_keras_base_arguments_the_base_class_takes():
    keyword_only = [
        name
        for name, p in inspect.signature(FusedOptimizer.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "fused"
    ]
    assert list(_docs.BASE_OPTIMIZER_ARGUMENTS) == keyword_only
    sgd_kwargs = _args_section(kt.SGD)[0]["**kwargs"]
    assert all(f"`{name}`" in sgd_kwargs for name in keyword_only)
    # AdamW documents weight_decay itself, so **kwargs lists the others only.
    adamw_kwargs = _args_section(kt.AdamW)[0]["**kwargs"]
    assert "`weight_decay`" not in adamw_kwargs and "other base optimizer" in adamw_kwargs
    assert all(f"`{name}`" in adamw_kwargs for name in keyword_only if name != "weight_decay")


def _make(doc):
    class Example(FusedOptimizer):
        def __init__(self, learning_rate=0.5, fused=None, **kwargs):
            super().__init__(learning_rate, fused=fused, **kwargs)

    Example.__doc__ = doc
    return Example


def test_fill_shared_args_indents_each_entry_as_its_placeholder():
    cls = _docs.fill_shared_args(_make("Summary.\n\n  Args:\n      {{learning_rate}}\n"))
    lines = cls.__doc__.split("\n")
    assert lines[3].startswith("      learning_rate: ")
    assert all(line.startswith("          ") for line in lines[4:] if line)
    assert cls.__doc__.rstrip().endswith("Defaults to `0.5`.")


def test_fill_shared_args_refuses_an_unknown_placeholder():
    with pytest.raises(ValueError, match=re.escape("unknown placeholder {{beta}}")):
        _docs.fill_shared_args(_make("Args:\n    {{beta}}\n"))


def test_fill_shared_args_refuses_a_placeholder_not_alone_on_its_line():
    with pytest.raises(ValueError, match=re.escape("placeholder {{fused}} that is not alone")):
        _docs.fill_shared_args(_make("Args:\n    fused: see {{fused}}\n"))


def test_fill_shared_args_leaves_a_stripped_docstring_alone():
    cls = _make(None)
    assert _docs.fill_shared_args(cls) is cls and cls.__doc__ is None


def test_literal_writes_defaults_as_the_docstrings_do():
    assert [_docs._literal(v) for v in (1e-7, 1e-10, 0.001, None, "hat", 2.5e20)] == [
        "1e-7",
        "1e-10",
        "0.001",
        "None",
        '"hat"',
        "2.5e+20",
    ]


def test_docs_site_extension_shows_the_rendered_docstring():
    # The API reference reads the source, where the placeholders are; the
    # extension named in mkdocs.yml swaps in the docstring Python renders.
    root = Path(__file__).resolve().parents[2]
    extension = griffe.load_extensions(f"{root / 'docs' / '_ext' / 'shared_args.py'}:SharedArgs")
    plain = griffe.load("kerastools.optimizers.sgd", search_paths=[str(root)])
    assert "{{learning_rate}}" in plain["SGD"].docstring.value
    loaded = griffe.load("kerastools.optimizers.sgd", search_paths=[str(root)], extensions=extension)
    assert loaded["SGD"].docstring.value == inspect.cleandoc(kt.SGD.__doc__)
