"""The window's command line as a desktop entry calls it (``Exec=... %F``, issue 25)."""

from pathlib import Path

import pytest

from convviz_gui.app import install_desktop_entry, model_and_images
from convviz_gui.paths import resource

DEMO_MODEL = str(resource("models", "emotion_mini_xception.hdf5"))


@pytest.fixture
def photo(tmp_path) -> str:
    path = tmp_path / "photo.png"
    path.write_bytes(resource("images", "astronaut_face.png").read_bytes())
    return str(path)


def test_an_image_opened_from_a_file_manager_opens_with_the_demo(photo):
    assert model_and_images([photo]) == ("demo", [photo])


def test_files_in_any_order_split_into_model_and_images(photo, tmp_path):
    second = str(tmp_path / "second.jpg")
    Path(second).write_bytes(b"")
    assert model_and_images([photo, DEMO_MODEL, second]) == (DEMO_MODEL, [photo, second])
    assert model_and_images([DEMO_MODEL, photo]) == (DEMO_MODEL, [photo])
    assert model_and_images(["app:Xception:none", photo]) == ("app:Xception:none", [photo])
    assert model_and_images([]) == ("demo", [])


def test_a_missing_first_file_stays_the_model_so_the_window_names_it(photo):
    assert model_and_images(["missing.keras", photo]) == ("missing.keras", [photo])
    assert model_and_images(["no-such-photo.png"]) == ("no-such-photo.png", [])


def test_two_models_are_refused(photo):
    with pytest.raises(ValueError, match="one model at a time"):
        model_and_images([DEMO_MODEL, photo, DEMO_MODEL.replace(".hdf5", ".keras")])


def test_desktop_entry_opens_files_with_this_launcher(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    entry = install_desktop_entry().read_text(encoding="utf-8")
    assert entry.startswith("[Desktop Entry]")
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" %F")
    program = Path(exec_line[len("Exec="):].split()[0])
    assert program.is_absolute() and program.is_file()  # found without the user's PATH
    icon = next(line for line in entry.splitlines() if line.startswith("Icon="))[len("Icon="):]
    assert Path(icon).is_file()
    assert "application/x-hdf5;" in entry
