"""The self-contained app (``make bundle``, issue 25), started as a double-click starts it.

Builds ``dist/ConvViz/ConvViz`` (minutes the first time) and runs it with an empty environment
on Xvfb: one window, exactly one engine child that has TensorFlow loaded while the window's
process has not, an engine killed with SIGKILL comes back, a screenshot that shows the image
given on the command line, and nothing left running after Ctrl+Q. Runs only with
``CONVVIZ_TEST_BUNDLE=1`` (``make bundle-check``); Linux only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..xdisplay import (
    engine_processes,
    find_window,
    loads_tensorflow,
    maps_library,
    missing_tools,
    press_keys,
    screenshot,
    session_processes,
    start_app,
    stop_group,
    wait_until,
    window_title,
    x_server,
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "ConvViz" / "ConvViz"
DEMO_MODEL = ROOT / "resources" / "models" / "emotion_mini_xception.hdf5"
START_TIMEOUT_S = 180  # the 2-core machine, busy with other builds, loads TensorFlow in 10-40 s

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(os.environ.get("CONVVIZ_TEST_BUNDLE") != "1",
                       reason="builds the bundle (minutes): CONVVIZ_TEST_BUNDLE=1 or make bundle-check"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check drives Xvfb"),
]


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The bundled executable, built (or brought up to date) by ``make bundle``; or the one
    ``CONVVIZ_BUNDLE`` names (e.g. a CI artifact unzipped), checked as it is."""
    if os.environ.get("CONVVIZ_BUNDLE"):
        return Path(os.environ["CONVVIZ_BUNDLE"]).resolve()
    subprocess.run(["make", "bundle", f"VENV={sys.prefix}"], cwd=ROOT, check=True)
    assert BUNDLE.is_file()
    return BUNDLE


def run_bundle(bundle: Path, *arguments: str, home: Path) -> subprocess.CompletedProcess:
    """The bundle run to completion in an empty environment."""
    return subprocess.run([str(bundle), *arguments], env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_version_comes_from_the_bundled_package_metadata(bundle, tmp_path):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert run_bundle(bundle, "--version", home=tmp_path).stdout.strip() == f"ConvViz {version}"


def test_desktop_entry_starts_the_bundle(bundle, tmp_path):
    done = run_bundle(bundle, "--install-desktop-entry", home=tmp_path)
    assert done.returncode == 0, done.stderr
    entry = (tmp_path / ".local" / "share" / "applications" / "convviz.desktop").read_text()
    assert f"Exec={bundle} %F" in entry.splitlines()
    icon = Path(next(line for line in entry.splitlines() if line.startswith("Icon="))[len("Icon="):])
    assert icon.is_file() and bundle.parent in icon.parents


def red_pixels(path: Path) -> int:
    """How many pixels of a screenshot are the pure red of the test's image."""
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int(np.sum((pixels[..., 0] > 240) & (pixels[..., 1] < 15) & (pixels[..., 2] < 15)))


def test_double_click_one_engine_restarted_after_a_crash_nothing_left_after_quit(bundle, tmp_path):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (apt-get install xvfb xdotool imagemagick)")
    red = tmp_path / "red.png"  # opened from a file manager (%F): image first, then the model
    Image.new("RGB", (64, 64), (255, 0, 0)).save(red)
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "bundle.log"
    with x_server() as display:
        app = start_app([str(bundle), str(red), str(DEMO_MODEL)], display, home, log)
        try:
            window = wait_until(lambda: find_window(display), START_TIMEOUT_S)
            assert window, f"no window; log:\n{log.read_text(errors='replace')[-3000:]}"
            engine = wait_until(lambda: [pid for pid in engine_processes(app.pid) if loads_tensorflow(pid)],
                                START_TIMEOUT_S)
            assert engine and engine_processes(app.pid) == engine and len(engine) == 1
            assert not loads_tensorflow(app.pid)  # the window's process never loads TensorFlow
            assert wait_until(lambda: "—" in window_title(display, window), START_TIMEOUT_S)  # model open
            shot = wait_until(lambda: red_pixels(screenshot(display, tmp_path / "bundle.png")) > 1000 and
                              tmp_path / "bundle.png", START_TIMEOUT_S, poll_s=2)
            assert shot, "the image given on the command line is not shown"
            assert np.asarray(Image.open(shot).convert("L")).std() > 20  # a window, not a blank screen
            # the window draws; the engine started without matplotlib (runtime.NOT_FOR_KERAS) and
            # without Qt (convviz.spec runs PySide6's hook in the window's process only)
            assert maps_library(app.pid, "ft2font") and not maps_library(engine[0], "ft2font")
            assert not maps_library(engine[0], "libQt6Core")

            os.kill(engine[0], signal.SIGKILL)
            again = wait_until(lambda: [pid for pid in engine_processes(app.pid)
                                        if pid != engine[0] and loads_tensorflow(pid)], START_TIMEOUT_S)
            assert again and engine_processes(app.pid) == again and len(again) == 1
            assert app.poll() is None  # the window lives on
            time.sleep(3)  # the new engine re-opens the model and the image
            screenshot(display, tmp_path / "bundle-after-restart.png")

            press_keys(display, window, "ctrl+q")
            assert app.wait(60) == 0
            assert wait_until(lambda: not session_processes(app), 30), "processes left after quitting"
        finally:
            stop_group(app)
