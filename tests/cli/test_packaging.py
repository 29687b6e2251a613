"""A plain (not editable) install ships every package of the source tree."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(path.parent.relative_to(ROOT).parts)
               for path in (ROOT / "convviz_gui").rglob("__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert (ROOT / "resources" / "user_guide.md").is_file()


def test_every_resource_file_is_package_data():
    """A plain install copies only the resources package-data names: every file under
    resources/ (the report's style sheet and script too) is matched by one of its globs."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["convviz_gui.resources"]
    resources = ROOT / "resources"
    shipped = {path for pattern in patterns for path in resources.glob(pattern) if path.is_file()}
    on_disk = {path for path in resources.rglob("*") if path.is_file() and not any(
        part.startswith((".", "__")) for part in path.relative_to(resources).parts)}
    assert {resources / "report" / "report.css", resources / "report" / "sort_table.js"} <= on_disk
    assert sorted(map(str, on_disk - shipped)) == []


def test_qt_multimedia_comes_from_the_pinned_add_on_wheel():
    """The Live tab's QtMultimedia is in PySide6-Addons, pinned as Essentials (below 6.12)."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = config["project"]["dependencies"]
    assert "PySide6-Addons>=6.6,<6.12" in dependencies
    assert "PySide6-Essentials>=6.6,<6.12" in dependencies
    from PySide6 import QtMultimedia

    assert hasattr(QtMultimedia, "QMediaPlayer") and hasattr(QtMultimedia, "QCamera")
