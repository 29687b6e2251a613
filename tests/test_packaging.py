"""A plain (not editable) install ships every package of the source tree."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(path.parent.relative_to(ROOT).parts)
               for path in (ROOT / "convviz_gui").rglob("__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert (ROOT / "resources" / "user_guide.md").is_file()


def test_qt_multimedia_comes_from_the_pinned_add_on_wheel():
    """The Live tab's QtMultimedia is in PySide6-Addons, pinned as Essentials (below 6.12)."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = config["project"]["dependencies"]
    assert "PySide6-Addons>=6.6,<6.12" in dependencies
    assert "PySide6-Essentials>=6.6,<6.12" in dependencies
    from PySide6 import QtMultimedia

    assert hasattr(QtMultimedia, "QMediaPlayer") and hasattr(QtMultimedia, "QCamera")
