"""The house rules that no linter checks: small modules, and each layer's place on disk."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convviz_gui"
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
