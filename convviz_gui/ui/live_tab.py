"""Live tab: a camera or a video file explained frame after frame, always the newest frame.

The ``FramePump`` keeps one frame in the engine and the newest one waiting. When the engine's
answer comes, the overlay is drawn (blended in NumPy through a colormap table, no figure per
frame) and the waiting frame is sent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from convviz_gui.figures.colors import overlay
from convviz_gui.ops.explain import ExplainFrame, ExplainSpec, Explanation, FrameExplanation
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.model import ModelSummary
from convviz_gui.ui.controls import CamLayerCombo, MethodCombo, mark_peak, ndarray_to_pixmap
from convviz_gui.ui.dialogs import compact_combo
from convviz_gui.ui.frame_pump import FramePump
from convviz_gui.ui.session import Session
from convviz_gui.ui.video_source import (
    VIDEO_FILTER,
    VideoSource,
    camera_permission_denied,
    cameras,
    to_rgb,
)
from convviz_gui.ui.view_tab import ControlsStrip
from convviz_gui.ui.workers import JobRunner

LIVE_KIND = "live"
TOP_K = 5
ALPHA = 0.4  # the reference overlay's opacity
CMAP = "jet"
TOP_CLASS = "top class"
NO_MODEL_HINT = ("Open a model, then start a camera or open a video file: every frame is "
                 "explained as fast as the engine allows.")
READY_HINT = ("Start a camera or open a video file: every frame is explained as fast as the "
              "engine allows, always the newest one.")


class FrameLabel(QLabel):
    """The overlay, scaled to the room it has (keeping its aspect)."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setStyleSheet("color: #666; font-size: 13px; padding: 12px;")

    def set_frame(self, pixmap: QPixmap) -> None:
        """Show a frame (scaled to the label)."""
        self._pixmap = pixmap
        self._scale()

    def set_hint(self, text: str) -> None:
        """Show a sentence instead of a frame."""
        self._pixmap = None
        self.setPixmap(QPixmap())
        self.setText(text)

    @property
    def showing_frame(self) -> bool:
        """True when a frame (not a sentence) is on screen."""
        return self._pixmap is not None

    def _scale(self) -> None:
        if self._pixmap is not None:
            room = self.contentsRect().size().boundedTo(QSize(4096, 4096))
            self.setPixmap(self._pixmap.scaled(room, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._scale()


class LiveTab(QWidget):
    """Camera or video frames explained continuously, with pause and step."""

    view_name = "live"
    status = Signal(str)
    error = Signal(str, str)
    frame_shown = Signal(object)  # the FrameExplanation just drawn

    def __init__(self, session: Session, runner: JobRunner) -> None:
        super().__init__()
        self.session = session
        self.runner = runner
        self.result: Explanation | None = None  # the frame on screen, for Export / Copy Figure
        self.source = VideoSource(self)
        self.source.frame_arrived.connect(self._frame_arrived)
        self.source.message.connect(self._source_message)
        self.source.state_changed.connect(self._update_buttons)
        self.source.cameras_changed.connect(self._fill_cameras)
        self.pump = FramePump(self._send_frame)
        self._resume_on_show = False
        self.last_peak: tuple[int, int] | None = None
        self._camera_device = None  # the camera released when the tab was hidden
        self._closed = False  # the window closes: nothing more is sent to the engine
        self._engine_seconds = 0.0  # the last frame's time in the engine
        self._build()
        session.belongs_to("model", self._forget_frames)
        session.model_changed.connect(self._model_changed)
        self._fill_cameras()
        self._update_buttons()

    # ----- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        self.camera_combo = QComboBox()
        self.camera_combo.setToolTip("The cameras of this computer.")
        self.camera_button = QPushButton("Start &Camera")
        self.camera_button.setToolTip("Explain what the chosen camera sees, frame after frame.")
        self.camera_button.clicked.connect(lambda _checked=False: self.start_camera())
        self.no_camera = QLabel()
        self.no_camera.setWordWrap(True)
        self.video_button = QPushButton("Open Vi&deo…")
        self.video_button.setToolTip("Explain a video file (MP4, AVI, MKV, WebM, GIF, …) frame "
                                     "after frame.")
        self.video_button.clicked.connect(lambda _checked=False: self.choose_video())
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.loop.setToolTip("Play the video again from its start when it ends.")
        self.loop.toggled.connect(self.source.set_loop)
        self.pause_button = QPushButton("&Pause")
        self.pause_button.setToolTip("Stop explaining new frames (the video pauses); press again "
                                     "to go on.")
        self.pause_button.clicked.connect(lambda _checked=False: self.toggle_pause())
        self.step_button = QPushButton("S&tep")
        self.step_button.setToolTip("Paused: explain the next frame once (a video moves on by "
                                    "one frame).")
        self.step_button.clicked.connect(lambda _checked=False: self.step())
        self.method = MethodCombo(single_pass=True)  # batched methods take many passes a frame
        self.method.setToolTip("The explanation drawn over each frame: the methods that need one "
                               "pass (batched ones such as Score-CAM are in the Grad-CAM tab).")
        self.layer_combo = CamLayerCombo("The layer whose feature maps are weighted (the last "
                                         "convolution by default).", 14)
        self.method.currentIndexChanged.connect(lambda _: self.layer_combo.follow_method(self.method))
        self.class_combo = compact_combo(12, "The class explained in every frame: each frame's "
                                             "top class, or one class throughout.")
        self.view = FrameLabel(NO_MODEL_HINT)
        self.predictions = QLabel()
        self.predictions.setTextFormat(Qt.TextFormat.RichText)
        self.predictions.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.predictions.setMinimumWidth(150)
        self.predictions.setMaximumWidth(220)
        self.predictions.setWordWrap(True)
        self.predictions.setToolTip(f"The model's top {TOP_K} classes for the frame on screen; "
                                    "the explained one in bold.")
        self.readout = QLabel("0.0 frames/s")
        # Its text changes with every frame: it must never set the window's minimum width.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setToolTip("Frames explained per second (over the last two seconds); frames "
                                "that arrived while the engine was busy were dropped, never "
                                "queued, so the view stays on the newest frame.")

        layout = QVBoxLayout(self)
        sources = QHBoxLayout()
        for widget in (QLabel("Camera"), self.camera_combo, self.camera_button, self.no_camera):
            sources.addWidget(widget)
        sources.addSpacing(12)
        for widget in (self.video_button, self.loop, self.pause_button, self.step_button):
            sources.addWidget(widget)
        sources.addStretch(1)
        sources.itemAt(0).widget().setToolTip(self.camera_combo.toolTip())
        self.camera_label = sources.itemAt(0).widget()
        rows = QVBoxLayout()
        rows.addLayout(sources)
        controls = QHBoxLayout()
        for text, widget in (("Method", self.method), ("Layer", self.layer_combo),
                             ("Explain", self.class_combo)):
            label = QLabel(text)
            label.setBuddy(widget)
            label.setToolTip(widget.toolTip())
            controls.addWidget(label)
            controls.addWidget(widget)
        controls.addStretch(1)
        rows.addLayout(controls)
        layout.addWidget(ControlsStrip(rows))  # scrolled sideways on a small screen
        body = QHBoxLayout()
        column = QVBoxLayout()
        column.addWidget(self.view, 1)
        column.addWidget(self.readout)
        body.addLayout(column, 1)
        body.addWidget(self.predictions)
        layout.addLayout(body, 1)

    def _fill_cameras(self) -> None:
        """The camera list, or a sentence when there is none or it is not allowed."""
        self.camera_combo.clear()
        found = cameras()
        for device in found:
            self.camera_combo.addItem(device.description(), device)
        if camera_permission_denied():
            text = ("ConvViz may not use the camera (see the system's privacy settings); "
                    "a video file still works.")
        elif not found:
            text = "No camera found on this computer; open a video file instead."
        else:
            text = ""
        self.no_camera.setText(text)
        usable = bool(found) and not text
        for widget in (self.camera_label, self.camera_combo, self.camera_button):
            widget.setVisible(usable)
        self.no_camera.setVisible(not usable)

    # ----- sources ---------------------------------------------------------------------------
    def start_camera(self) -> None:
        """Start Camera: the chosen camera's frames, explained as they come."""
        device = self.camera_combo.currentData()
        if device is None:
            return
        if not self._model_ready():
            return
        self._restart_counts()
        self.source.start_camera(device)
        self.status.emit(f"Camera {device.description()} started.")

    def choose_video(self) -> None:
        """Open Video: pick a file and play it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", str(Path.home()), VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_video(self, path: str) -> None:
        """Play a video file and explain its frames."""
        if not self._model_ready():
            return
        self._restart_counts()
        self.source.open_file(path, self.loop.isChecked())
        self.status.emit(f"Playing {Path(path).name}.")

    def _model_ready(self) -> bool:
        if self.session.model is None:
            self.view.set_hint("Open a model first: the live view explains its predictions.")
            return False
        return True

    def _restart_counts(self) -> None:
        self.pump.restart()
        self.view.set_hint("Waiting for the first frame…")

    def _source_message(self, text: str) -> None:
        self.status.emit(text)
        if not self.view.showing_frame or self.source.kind == "":
            self.view.set_hint(text)
        self._update_buttons()

    def _play_next(self) -> bool:
        """True when the Pause button says Play: paused, or a video that stopped or ended."""
        return self.pump.paused or (self.source.kind == "file" and not self.source.running)

    def toggle_pause(self) -> None:
        """Pause or go on."""
        self.set_paused(not self._play_next())

    def set_paused(self, paused: bool) -> None:
        """Paused: no frame is explained (a video stops) until Step or Play."""
        self.pump.set_paused(paused)
        if paused:
            self.source.pause()
        else:
            self.source.play()
        self._update_buttons()
        if self.pump.explained:
            self._show_readout()
        self.status.emit("Paused: Step explains the next frame, Play goes on." if paused
                         else "Live.")

    def step(self) -> None:
        """Explain the next frame once (pausing first); a video moves on by one frame."""
        if not self.pump.paused:
            self.set_paused(True)
        self.pump.step()
        self.source.step()

    def stop(self) -> None:
        """Release the camera or the video (nothing more is explained)."""
        self.source.close()
        self.pump.forget_waiting()
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_source = self.source.kind != ""
        self.pause_button.setEnabled(has_source)
        self.step_button.setEnabled(has_source)
        self.pause_button.setText("&Play" if self._play_next() else "&Pause")

    # ----- frames ----------------------------------------------------------------------------
    def _frame_arrived(self, frame: object, arrived: float) -> None:
        self.pump.arrive(frame, arrived)

    def _send_frame(self, frame_id: int, frame: object) -> np.ndarray | None:
        """Send a frame to the engine; its RGB pixels are kept for its overlay."""
        if self.session.model is None or self._closed:
            return None
        rgb = to_rgb(frame)
        if rgb is None:
            return None
        layer = self.layer_combo.currentData()
        class_ = self.class_combo.currentData()
        request = ExplainFrame(self.session.model_ref, rgb, frame_id, self.session.fit, ExplainSpec(
            self.method.currentData(), tuple(layer) if layer else None, class_,
            self.session.preset or None, top=TOP_K))
        self.runner.submit(LIVE_KIND, request, on_result=self._show, on_error=self._failed,
                           on_finished=self.pump.done, quiet=True)
        return rgb

    def _show(self, result: FrameExplanation) -> None:
        sent = self.pump.answer(result.frame_id)
        if sent is None:
            return
        rgb, cam = sent.payload, result.cam
        height, width = rgb.shape[:2]
        pixmap = ndarray_to_pixmap(overlay(rgb, cam.upsampled(width, height), ALPHA, CMAP))
        mark_peak(pixmap, result.peak_xy)
        self.view.set_frame(pixmap)
        self.last_peak = result.peak_xy
        self._show_predictions(result)
        self._engine_seconds = result.seconds
        self._show_readout()
        self.result = Explanation(cam, result.predictions, rgb, f"frame {result.frame_id}",
                                  (width, height), seconds=result.seconds)
        self.frame_shown.emit(result)

    def _show_predictions(self, result: FrameExplanation) -> None:
        rows = []
        for prediction in result.predictions:
            text = f"{prediction.label}&nbsp;&nbsp;{prediction.score:.3f}"
            rows.append(f"<b>{text}</b>" if prediction.index == result.cam.class_index else text)
        explained = "" if any(p.index == result.cam.class_index for p in result.predictions) else \
            f"<br><b>{result.cam.label}&nbsp;&nbsp;{result.cam.score:.3f}</b> (explained)"
        self.predictions.setText(f"<b>Top {TOP_K}</b><br>" + "<br>".join(rows) + explained)

    def _show_readout(self) -> None:
        pump = self.pump
        rate = "Paused" if pump.paused else f"{pump.frames_per_second():.1f} frames/s explained"
        self.readout.setText(f"{rate} · {pump.received} received · {pump.dropped} dropped · "
                             f"{self._engine_seconds * 1000:.0f} ms in the engine per frame")

    def _failed(self, message: str, details: str) -> None:
        """A frame the engine could not explain: say why and pause (no error per frame)."""
        self.set_paused(True)
        self.view.set_hint(message)
        self.status.emit(message)

    def _forget_frames(self) -> None:
        """The top classes, the readout and the frame on screen belong to the model."""
        self.predictions.clear()
        self.readout.setText("0.0 frames/s")
        self.result = None
        self.last_peak = None
        self._engine_seconds = 0.0

    # ----- choices ---------------------------------------------------------------------------
    def _model_changed(self, model: ModelSummary) -> None:
        if self.source.kind == "camera":
            self.stop()  # the camera is released; Start Camera uses it with the new model
            self.view.set_hint("The model changed: press Start Camera to go on.")
        elif self.source.kind == "file":
            self.set_paused(True)
            self.view.set_hint("The model changed: press Play to go on.")
        else:
            self.view.set_hint(READY_HINT)
        self.runner.cancel(LIVE_KIND)
        self.pump.forget_waiting()
        self.layer_combo.set_model(model)
        self.class_combo.clear()
        self.class_combo.addItem(TOP_CLASS, None)
        for index, label in enumerate(model.labels):
            self.class_combo.addItem(label, index)

    # ----- showing and hiding ----------------------------------------------------------------
    def hideEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Hidden (another tab, window closed): the camera is released, a video paused."""
        super().hideEvent(event)
        kind, running = self.source.kind, self.source.running and not self.pump.paused
        self._resume_on_show = running
        if kind == "camera":
            self._camera_device = self.camera_combo.currentData()
            self.stop()
        elif kind == "file" and running:
            self.source.pause()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Shown again: what ran when the tab was hidden goes on."""
        super().showEvent(event)
        if not self._resume_on_show:
            return
        self._resume_on_show = False
        if self.source.kind == "file":
            self.source.play()
        elif self.source.kind == "" and self._camera_device is not None:
            self.source.start_camera(self._camera_device)

    def shutdown(self) -> None:
        """The window closes: release the camera or the video."""
        self._closed = True
        self._resume_on_show = False
        self.stop()

    def restore_settings(self, settings: QSettings) -> None:
        """Nothing is remembered: the camera and the video are chosen anew."""

    def save_settings(self, settings: QSettings) -> None:
        """Nothing is remembered (see ``restore_settings``)."""

    # ----- export (File > Export Figure, Edit > Copy Figure) -----------------------------------
    def style(self) -> FigureStyle:
        """The overlay as drawn live."""
        return FigureStyle(cmap=CMAP, alpha=ALPHA)

    def export_stem(self) -> str:
        """``<model>_<frame>_live``."""
        from convviz_gui.files import safe_file_stem

        model = self.session.model.name if self.session.model else "model"
        frame = self.result.image_name if self.result is not None else "frame"
        return safe_file_stem(f"{model}_{frame}_live")
