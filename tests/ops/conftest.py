"""Fixtures of the dataset tests in tests/ops: the shortcut dataset and its trained model
(tests/shortcut_data.py), written once per session."""

from __future__ import annotations

import pytest

from tests import shortcut_data


@pytest.fixture(scope="session")
def shortcut(tmp_path_factory):
    """(model path, labelled folder of 64 images, {relative path: (class, marked)})."""
    root = tmp_path_factory.mktemp("shortcut_ops")
    folder = root / "data"
    written = shortcut_data.write_folder(folder, count=64)
    return shortcut_data.save_model(root), folder, written
