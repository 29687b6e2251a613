"""The engine and the operations layer stay free of Qt, and cheap to import."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convviz_gui"
ENGINE = PACKAGE / "engine"


def test_no_qt_import_anywhere_in_engine_or_operations():
    offenders = []
    files = sorted(ENGINE.rglob("*.py")) + sorted((PACKAGE / "ops").rglob("*.py"))
    assert len(files) >= 15
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names
                          if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "matplotlib_qt")
                          or "backend_qt" in name or name.startswith("convviz_gui.ui")]
    assert offenders == []


def test_engine_import_loads_neither_qt_nor_tensorflow():
    code = ("import sys, convviz_gui.engine.models, convviz_gui.engine.render, "
            "convviz_gui.engine.cam, convviz_gui.engine.filters, convviz_gui.ops.operations, "
            "convviz_gui.ops.engine_process; "
            "print(sorted(m for m in ('PySide6', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
