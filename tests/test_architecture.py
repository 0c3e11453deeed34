"""The import rule of docs/architecture.md, checked on the source with `ast`.

Layers, lowest first: the core helpers; the components; saving; the areas
built on everything else. A module may import its own area and lower layers,
never a higher one, and the areas' import graph has no cycle. Imports inside
functions count too: a lazy import is still a dependency.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "kerastools"

LAYERS = {
    "core": 0,
    "components": 1,
    "saving": 2,
    "top": 3,
}
AREAS = {
    "_validation": "core",
    "_registry": "core",
    "_version": "core",
    "_atomic": "core",
    "optimizers": "components",
    "schedules": "components",
    "layers": "components",
    "initializers": "components",
    "regularizers": "components",
    "data": "components",
    "gradcheck": "components",
    "saving": "saving",
    "diagnostics": "top",
    "tuning": "top",
    "distribute": "top",
    "callbacks": "top",  # re-exports the callbacks of schedules, saving and diagnostics
}
FACADE = "kerastools"  # kerastools/__init__.py re-exports every area; nothing imports it back


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path):
    """Every `kerastools...` module a file imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            if module != FACADE:
                found.add(module)
            # `from kerastools import saving` imports the area `kerastools.saving`
            # (`from kerastools import Adam` a name of the facade: flagged below).
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m == FACADE or m.startswith(FACADE + ".")}


def area_of(module):
    """The area of `kerastools.<area>...`, `None` for the facade or a name that is not an area."""
    parts = module.split(".")
    return AREAS.get(parts[1]) and parts[1] if len(parts) > 1 else None


def modules():
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def area_graph():
    graph = {}
    for path in modules():
        name = module_name(path)
        if name == FACADE:
            continue
        source = area_of(name)
        for target in imported_modules(path):
            target_area = area_of(target)
            if target_area and target_area != source:
                graph.setdefault(source, set()).add(target_area)
    return graph


def test_every_module_belongs_to_an_area():
    unassigned = [module_name(p) for p in modules() if module_name(p) != FACADE and area_of(module_name(p)) is None]
    assert not unassigned, f"assign these to a layer in AREAS and docs/architecture.md: {unassigned}"


def test_no_import_runs_up_a_layer():
    violations = []
    for path in modules():
        name = module_name(path)
        if name == FACADE:
            continue
        level = LAYERS[AREAS[area_of(name)]]
        for target in sorted(imported_modules(path)):
            target_area = area_of(target)
            if target_area is None:
                violations.append(f"{name} imports {target} from the facade `kerastools` (import its area instead)")
                continue
            if target_area and LAYERS[AREAS[target_area]] > level:
                violations.append(f"{name} ({AREAS[area_of(name)]}) imports {target} ({AREAS[target_area]})")
    assert not violations, "\n".join(violations)


def test_the_areas_import_graph_has_no_cycle():
    graph = area_graph()
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles between areas: " + "; ".join(cycles)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from kerastools import saving\n", {"kerastools.saving"}),
        ("from kerastools import Adam\n", {"kerastools.Adam"}),
        ("import kerastools\n", {"kerastools"}),
        ("from ..schedules import plot\n", {"kerastools.schedules", "kerastools.schedules.plot"}),
        ("from . import _im2col\n", {"kerastools.layers", "kerastools.layers._im2col"}),
        ("def f():\n    import kerastools.tuning.panda\n", {"kerastools.tuning.panda"}),
        ("import numpy\n", set()),
    ],
)
def test_the_import_parser_resolves_absolute_relative_and_lazy_imports(tmp_path, monkeypatch, source, expected):
    fake = tmp_path / "kerastools" / "layers"
    fake.mkdir(parents=True)
    (fake / "conv.py").write_text(source)
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "kerastools")
    assert imported_modules(fake / "conv.py") == expected


def test_a_cycle_or_an_upward_import_would_be_caught(tmp_path, monkeypatch):
    # The checks above are only worth something if they can fail.
    fake = tmp_path / "kerastools"
    (fake / "layers").mkdir(parents=True)
    (fake / "saving").mkdir()
    (fake / "layers" / "conv.py").write_text("from kerastools.saving import save_model\n")
    (fake / "saving" / "files.py").write_text("from kerastools import layers\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    with pytest.raises(AssertionError, match=r"kerastools.layers.conv \(components\) imports kerastools.saving \(saving\)"):
        test_no_import_runs_up_a_layer()
    with pytest.raises(AssertionError, match="layers -> saving -> layers"):
        test_the_areas_import_graph_has_no_cycle()
