"""The house rules: the engine and the operations layer stay free of Qt and cheap to
import; the engine draws nothing (no matplotlib); the figures above it need no TensorFlow;
no module grows over 450 lines; every package says what belongs in it. import-linter
checks the imports statically (pyproject.toml); these tests check what importing loads."""

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convviz_gui"
ENGINE = PACKAGE / "engine"
FIGURES = PACKAGE / "figures"


def imported_modules(path: Path) -> list[str]:
    """Every module name a file imports (at any depth, lazy imports too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_qt_import_anywhere_in_engine_or_operations():
    offenders = []
    files = sorted(ENGINE.rglob("*.py")) + sorted((PACKAGE / "ops").rglob("*.py"))
    assert len(files) >= 15
    for path in files:
        offenders += [f"{path.name}: {name}" for name in imported_modules(path)
                      if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "matplotlib_qt")
                      or "backend_qt" in name or name.startswith("convviz_gui.ui")]
    assert offenders == []


def test_engine_draws_nothing():
    """Figures, colour maps and file output live in convviz_gui/figures and files.py."""
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) >= 15
    offenders = [f"{path.relative_to(ENGINE)}: {name}" for path in files
                 for name in imported_modules(path)
                 if name.split(".")[0] == "matplotlib" or name.startswith("convviz_gui.figures")]
    assert offenders == []


def test_engine_import_loads_neither_qt_nor_tensorflow():
    code = ("import sys, convviz_gui.engine.models, convviz_gui.figures.registry, "
            "convviz_gui.engine.cam, convviz_gui.engine.featurevis, convviz_gui.ops.registry, "
            "convviz_gui.ops.model, convviz_gui.ops.activations, convviz_gui.ops.filters, "
            "convviz_gui.ops.explain, convviz_gui.ops.compare, convviz_gui.ops.export, "
            "convviz_gui.ops.report, convviz_gui.ops.engine_process; "
            "print(sorted(m for m in ('PySide6', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_figures_import_no_tensorflow():
    """Every figures module imports without TensorFlow, Keras or Qt (the window draws
    without TensorFlow; the CLI draws without Qt), and registers its views."""
    modules = sorted(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
                     for path in FIGURES.rglob("*.py"))
    assert len(modules) >= 10
    code = (f"import importlib, json, sys\nfor name in {modules!r}: importlib.import_module(name)\n"
            "from convviz_gui.figures.registry import registered_views\n"
            "print(json.dumps({'heavy': [m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules],"
            " 'views': sorted(kind.__name__ for kind in registered_views())}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["heavy"] == []
    assert found["views"] == sorted(["ActivationsResult", "OverviewResult", "FiltersResult",
                                     "Explanation", "Comparison", "ImageExplanations",
                                     "KernelsResult", "SanityResult", "MistakesView",
                                     "StrategiesView", "ChannelView"])


MAX_MODULE_LINES = 450


def test_no_module_is_over_450_lines():
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert len(sizes) > 60
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def test_every_package_is_documented():
    """Each package says in its ``__init__`` docstring what belongs in it."""
    undocumented = [init.parent.name for init in PACKAGE.rglob("__init__.py")
                    if not init.read_text(encoding="utf-8").lstrip().startswith('"""')]
    assert undocumented == []
