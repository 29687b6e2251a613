"""The Live tab: a video made in the test (a red square moving over noise) explained frame
after frame by the squares model trained in the test, through the real window and engine."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QFileDialog

from convviz_gui.ops.base import ModelRef
from convviz_gui.ops.context import OpContext, Workspace
from convviz_gui.ops.explain import ExplainFrame, ExplainSpec, FrameExplanation
from convviz_gui.ops.registry import run

from ..conftest import WINDOW_TIMEOUT_MS
from ..squares import COLORS, inside, trained_model

SIDE = 96  # video frames, twice the model's 48 px input
SQUARE = 20  # the square's side in the frame (10 px at the model's size, as in training)
RED = COLORS["red"]


def square_box(n: int) -> tuple[int, int, int, int]:
    """Where frame ``n`` of the video has its square: a diagonal from top left to bottom right."""
    x, y = 4 + 2 * n, 10 + n
    return x, y, x + SQUARE, y + SQUARE


def video_frames(count: int = 35) -> list[np.ndarray]:
    """Dark noise (the same in every frame, as in training) with the moving red square."""
    background = np.random.default_rng(3).integers(0, 90, (SIDE, SIDE, 3)).astype(np.uint8)
    frames = []
    for n in range(count):
        frame = background.copy()
        x0, y0, x1, y1 = square_box(n)
        frame[y0:y1, x0:x1] = RED
        frames.append(frame)
    return frames


def write_video(path, frames: list[np.ndarray], frame_ms: int) -> str:
    """An animated GIF, which Qt's FFmpeg backend plays like any video."""
    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return str(path)


def red_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box of the red pixels of a frame as the window got it (after decoding)."""
    ys, xs = np.nonzero((rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90))
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.fixture(scope="module")
def squares_file(tmp_path_factory):
    """The squares model saved as a file the window opens (labels red, blue)."""
    folder = tmp_path_factory.mktemp("live_model")
    path = folder / "squares.keras"
    trained_model().save(path)
    (folder / "squares.labels.txt").write_text("red\nblue\n")
    return str(path)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live_videos")
    frames = video_frames()
    return {"slow": write_video(folder / "square_25fps.gif", frames, 40),
            "fast": write_video(folder / "square_50fps.gif", frames, 20)}


@pytest.fixture
def window(qapp, qtbot, tmp_path, squares_file, monkeypatch):
    """The real window, no camera (whatever the machine has), the squares model opened."""
    import convviz_gui.ui.live_tab as live_tab
    from convviz_gui.ui.main_window import MainWindow

    monkeypatch.setattr(live_tab, "cameras", lambda: [])
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    win.files.open_model(squares_file)
    qtbot.waitUntil(lambda: win.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
    yield win
    win.close()


def _open_video(qtbot, window, path: str, monkeypatch) -> None:
    """View > Live, then Open Video… with the file chosen in the dialog."""
    live_action = next(action for action in window.findChildren(type(window.menuBar().actions()[0]))
                       if action.text() == "Live")
    live_action.trigger()
    assert window.tabs.currentWidget() is window.live_tab
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (path, ""))
    qtbot.mouseClick(window.live_tab.video_button, Qt.MouseButton.LeftButton)


def _collect(tab) -> list:
    """(frame rgb, FrameExplanation) for every frame the tab draws from now on."""
    seen = []
    tab.frame_shown.connect(lambda result: seen.append((tab.result.image_rgb, result)))
    return seen


def _settle(seconds: float) -> None:
    """Let the event loop run (frames keep arriving) for a while."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.005)


def test_explain_frame_operation_points_at_the_square(squares_file):
    context = OpContext(Workspace())
    frame = video_frames()[12]
    result = run(ExplainFrame(ModelRef(squares_file), frame, frame_id=7, spec=ExplainSpec(top=2)),
                 context)
    assert isinstance(result, FrameExplanation) and result.frame_id == 7
    assert result.cam.label == "red" and result.predictions[0].label == "red"
    assert inside(result.peak_xy, square_box(12), margin=4)
    assert not hasattr(result, "image_rgb")  # the frame stays in the window
    from convviz_gui.engine.errors import ConvVizError

    with pytest.raises(ConvVizError, match="too slow for the live view"):
        run(ExplainFrame(ModelRef(squares_file), frame, spec=ExplainSpec("Score-CAM")), context)
    with pytest.raises(ConvVizError, match="uint8 RGB"):
        run(ExplainFrame(ModelRef(squares_file), frame[..., 0]), context)


def test_no_camera_is_said_and_the_video_file_still_works(qtbot, window, videos, monkeypatch):
    tab = window.live_tab
    window.tabs.setCurrentWidget(tab)
    assert tab.no_camera.isVisible() and "No camera found" in tab.no_camera.text()
    assert not tab.camera_button.isVisible() and not tab.camera_combo.isVisible()
    assert tab.video_button.isVisible() and tab.video_button.isEnabled()
    import convviz_gui.ui.live_tab as live_tab

    monkeypatch.setattr(live_tab, "camera_permission_denied", lambda: True)
    tab._fill_cameras()  # what a change of the camera list does
    assert "may not use the camera" in tab.no_camera.text() and tab.video_button.isVisible()
    _open_video(qtbot, window, videos["slow"], monkeypatch)
    qtbot.waitUntil(lambda: tab.pump.explained >= 3, timeout=WINDOW_TIMEOUT_MS)
    assert tab.view.showing_frame and "red" in tab.predictions.text()
    missing = [type(control).__name__ for control in
               (tab.video_button, tab.loop, tab.pause_button, tab.step_button, tab.method,
                tab.layer_combo, tab.class_combo, tab.camera_combo, tab.camera_button)
               if not control.toolTip()]
    assert missing == []


def test_the_overlay_peak_follows_the_moving_square(qtbot, window, videos, monkeypatch):
    tab = window.live_tab
    seen = _collect(tab)
    _open_video(qtbot, window, videos["slow"], monkeypatch)
    busy_shown = []  # the status bar's busy bar must not flicker with every frame
    poll = QTimer(interval=5)
    poll.timeout.connect(lambda: busy_shown.append(window.busy_bar.isVisible()))
    poll.start()
    qtbot.waitUntil(lambda: len(seen) >= 40, timeout=WINDOW_TIMEOUT_MS)
    poll.stop()
    assert len(busy_shown) > 100 and not any(busy_shown)
    followed, xs = 0, []
    for rgb, result in seen:
        box = red_box(rgb)
        assert box is not None and result.cam.label == "red"
        followed += inside(result.peak_xy, box, margin=6)
        xs.append(result.peak_xy[0])
    print(f"peak on the square in {followed} of {len(seen)} frames, x from {min(xs)} to {max(xs)}")
    assert followed >= 0.9 * len(seen), (followed, len(seen))
    assert max(xs) - min(xs) >= 40  # the square crossed the frame and the peak went with it
    assert tab.last_peak == seen[-1][1].peak_xy


def test_frames_are_dropped_never_queued(qtbot, window, videos, monkeypatch):
    tab = window.live_tab
    backlog = []  # frames received but neither explained nor dropped, after every arrival
    tab.source.frame_arrived.connect(
        lambda *_: backlog.append(tab.pump.received - tab.pump.explained - tab.pump.dropped))
    _open_video(qtbot, window, videos["fast"], monkeypatch)
    qtbot.waitUntil(lambda: tab.pump.explained >= 5, timeout=WINDOW_TIMEOUT_MS)
    for _ in range(3):  # the window is busy for a while: frames pile up in the meantime
        time.sleep(0.4)
        _settle(0.3)
    qtbot.waitUntil(lambda: tab.pump.explained >= 30, timeout=WINDOW_TIMEOUT_MS)
    print(f"received {tab.pump.received}, explained {tab.pump.explained}, dropped {tab.pump.dropped}, "
          f"largest backlog {max(backlog)}")
    assert tab.pump.dropped > 0 and tab.pump.explained + tab.pump.dropped <= tab.pump.received
    assert max(backlog) <= 2  # at most one frame in the engine and one waiting
    shown = list(tab.pump.shown)
    # Every frame sent was the newest one received at that moment, and frames are shown in
    # order (an older frame never overtakes a newer one).
    assert all(item.frame_id == item.newest_at_submit for item in shown)
    assert [item.frame_id for item in shown] == sorted({item.frame_id for item in shown})
    assert "frames/s explained" in tab.readout.text() and "dropped" in tab.readout.text()
    assert tab.pump.frames_per_second() > 0


def test_pause_and_step(qtbot, window, videos, monkeypatch):
    tab = window.live_tab
    seen = _collect(tab)
    _open_video(qtbot, window, videos["slow"], monkeypatch)
    qtbot.waitUntil(lambda: tab.pump.explained >= 3, timeout=WINDOW_TIMEOUT_MS)
    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    assert tab.pump.paused and tab.pause_button.text() == "&Play"
    assert tab.readout.text().startswith("Paused · ")
    qtbot.waitUntil(lambda: tab.runner.running("live") is None, timeout=WINDOW_TIMEOUT_MS)
    _settle(0.5)
    explained = tab.pump.explained
    _settle(0.5)
    assert tab.pump.explained == explained  # paused: nothing more is explained
    boxes = []
    for step in range(1, 4):
        qtbot.mouseClick(tab.step_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda step=step: tab.pump.explained == explained + step,
                        timeout=WINDOW_TIMEOUT_MS)
        boxes.append(red_box(seen[-1][0]))
    # Each step moves the video on by one frame: the square moves 2 px right, 1 px down
    # (give or take a pixel of decoding).
    for before, after in zip(boxes, boxes[1:]):
        assert 1 <= after[0] - before[0] <= 3 and 0 <= after[1] - before[1] <= 2, boxes
    assert tab.pump.paused
    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    assert not tab.pump.paused and tab.pause_button.text() == "&Pause"
    qtbot.waitUntil(lambda: tab.pump.explained >= explained + 8, timeout=WINDOW_TIMEOUT_MS)


def test_hiding_pauses_showing_resumes_a_new_model_pauses_export_works(qtbot, window, videos,
                                                                      monkeypatch, tmp_path):
    tab = window.live_tab
    _open_video(qtbot, window, videos["slow"], monkeypatch)
    qtbot.waitUntil(lambda: tab.pump.explained >= 3, timeout=WINDOW_TIMEOUT_MS)
    out = tmp_path / "live.png"
    window.exports.export_dpi = lambda: 60
    window.exports.export_figure(str(out))  # File > Export Figure of the frame on screen
    qtbot.waitUntil(out.exists, timeout=WINDOW_TIMEOUT_MS)
    window.tabs.setCurrentWidget(window.activations_tab)
    assert not tab.source.running  # the video pauses while the tab is hidden
    qtbot.waitUntil(lambda: tab.runner.running("live") is None, timeout=WINDOW_TIMEOUT_MS)
    _settle(0.3)
    explained = tab.pump.explained
    _settle(0.5)
    assert tab.pump.explained == explained
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.pump.explained > explained + 3, timeout=WINDOW_TIMEOUT_MS)
    assert tab.source.running
    window.files.open_model("demo")  # another model: the video pauses until Play
    qtbot.waitUntil(lambda: window.session.model.source == "demo", timeout=WINDOW_TIMEOUT_MS)
    assert tab.pump.paused and not tab.source.running and "model changed" in tab.view.text()
    assert tab.class_combo.itemText(0) == "top class" and tab.class_combo.count() == 8


def frame_pixels(pixmap: QPixmap) -> np.ndarray:
    """The pixmap as an (h, w, 3) uint8 RGB array."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :image.width() * 3].reshape(image.height(), image.width(), 3).copy()  # own memory


@pytest.mark.parametrize("peak", [(0, 0), (59, 0), (0, 39), (59, 39), (30, 20), (2, 38)])
def test_the_peak_cross_is_drawn_whole_on_the_frame_edge(qapp, peak):
    """A 60x40 grey frame, its peak on a corner, an edge or inside: the white cross has its
    four arms of the same length, each ending in its dark outline (as long on every side)
    inside the frame, and lies at most its reach from the peak."""
    from convviz_gui.ui.controls import mark_peak

    pixmap = QPixmap(60, 40)
    pixmap.fill(QColor(128, 128, 128))
    mark_peak(pixmap, peak)
    rgb = frame_pixels(pixmap).astype(int)
    white, dark = rgb.min(axis=2) > 230, rgb.max(axis=2) < 60
    column = int(np.argmax(white.sum(axis=0)))  # the vertical arm's column
    row = int(np.argmax(white.sum(axis=1)))  # the horizontal arm's row
    xs, ys = np.nonzero(white[row])[0], np.nonzero(white[:, column])[0]
    arms = {"left": column - xs.min(), "right": xs.max() - column,
            "up": row - ys.min(), "down": ys.max() - row}
    assert min(arms.values()) >= 3 and max(arms.values()) - min(arms.values()) <= 1, arms
    outline = {"left": column - np.nonzero(dark[row, :xs.min()])[0].min(),
               "right": xs.max() + np.nonzero(dark[row, xs.max():])[0].max() - column,
               "up": row - np.nonzero(dark[:ys.min(), column])[0].min(),
               "down": ys.max() + np.nonzero(dark[ys.max():, column])[0].max() - row}
    for name, end in outline.items():  # each arm's dark outline beyond its end, inside the frame
        assert arms[name] < end <= max(outline.values()) <= min(outline.values()) + 1, outline
    reach = max(outline.values())
    assert abs(column - peak[0]) <= reach and abs(row - peak[1]) <= reach
    if 2 * reach <= peak[0] <= 60 - 2 * reach and 2 * reach <= peak[1] <= 40 - 2 * reach:
        assert (column, row) == peak  # away from the edges, the cross sits on the peak
