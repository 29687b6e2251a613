"""Locations of bundled resources and per-user data (no Qt, no TensorFlow)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """Folder holding the bundled model, images, labels and icons."""
    for candidate in (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"):
        if (candidate / "imagenet_class_index.json").is_file():
            return candidate
    raise FileNotFoundError("ConvViz resources folder is missing from this installation")


def resource(*parts: str) -> Path:
    """Path of one bundled resource file."""
    return resources_dir().joinpath(*parts)


def user_data_dir() -> Path:
    """Per-user writable folder for logs (created on demand)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    path = base / "ConvViz"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_cache_dir() -> Path:
    """Per-user folder for results that can be computed again (created on demand):
    ``$XDG_CACHE_HOME/ConvViz`` (~/.cache), ~/Library/Caches/ConvViz, %LOCALAPPDATA%\\ConvViz\\Cache."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "ConvViz" / "Cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "ConvViz"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ConvViz"
    base.mkdir(parents=True, exist_ok=True)
    return base
