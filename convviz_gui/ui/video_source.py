"""Frames for the Live tab: a camera (``QCamera``) or a video file (``QMediaPlayer``), both
into one ``QVideoSink``; each frame is announced as it arrives and converted to a NumPy
RGB array only when asked (``to_rgb``), so frames that are dropped cost nothing."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import (
    QCamera,
    QCameraDevice,
    QMediaCaptureSession,
    QMediaDevices,
    QMediaMetaData,
    QMediaPlayer,
    QVideoFrame,
    QVideoSink,
)

FRAME_MAX_SIDE = 640  # frames are reduced to this long side before display and the model
VIDEO_FILTER = ("Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.mpeg *.wmv *.ogv *.gif);;"
                "All files (*)")
DEFAULT_FRAME_MS = 40  # a step when the video tells no frame duration (25 fps)


def cameras() -> list[QCameraDevice]:
    """The cameras Qt sees (an empty list on a machine without one)."""
    return list(QMediaDevices.videoInputs())


def camera_permission_denied() -> bool:
    """True when the system refuses ConvViz the camera (macOS, Flatpak portals; never on
    plain Linux or Windows, where an unusable camera reports an error on start instead)."""
    from PySide6.QtCore import QCameraPermission, QCoreApplication

    app = QCoreApplication.instance()
    if app is None:
        return False
    return app.checkPermission(QCameraPermission()) == Qt.PermissionStatus.Denied


def to_rgb(frame: QVideoFrame, max_side: int = FRAME_MAX_SIDE) -> np.ndarray | None:
    """The frame as an (h, w, 3) uint8 RGB copy, long side at most ``max_side``; None for
    an empty frame (the end of a video)."""
    if not frame.isValid():
        return None
    image = frame.toImage()
    if image.isNull():
        return None
    if max(image.width(), image.height()) > max_side:
        image = image.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :image.width() * 3].reshape(image.height(), image.width(), 3).copy()


class VideoSource(QObject):
    """One source at a time: a camera or a video file; ``frame_arrived`` for every frame."""

    frame_arrived = Signal(object, float)  # QVideoFrame, arrival time (time.monotonic)
    message = Signal(str)  # one sentence about the source (errors, end of the video)
    state_changed = Signal()  # started, paused, stopped
    cameras_changed = Signal()  # a camera was plugged in or removed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sink = QVideoSink(self)
        self.sink.videoFrameChanged.connect(self._frame)
        self._devices = QMediaDevices(self)
        self._devices.videoInputsChanged.connect(self.cameras_changed)
        self.camera: QCamera | None = None
        self._session: QMediaCaptureSession | None = None
        self.player: QMediaPlayer | None = None
        self.path = ""
        self.last_frame: QVideoFrame | None = None

    # ----- what is running -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """"camera", "file" or "" (nothing opened)."""
        return "camera" if self.camera is not None else "file" if self.player is not None else ""

    @property
    def running(self) -> bool:
        """True while frames flow (a camera that is on, a video that plays)."""
        if self.camera is not None:
            return self.camera.isActive()
        return self.player is not None and \
            self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    # ----- camera ----------------------------------------------------------------------------
    def start_camera(self, device: QCameraDevice) -> None:
        """Release whatever runs and start the camera."""
        self.close()
        self.camera = QCamera(device, self)
        self.camera.errorOccurred.connect(self._camera_error)
        self.camera.activeChanged.connect(lambda _active: self.state_changed.emit())
        self._session = QMediaCaptureSession(self)
        self._session.setCamera(self.camera)
        self._session.setVideoSink(self.sink)
        self.camera.start()

    def _camera_error(self, _error, text: str) -> None:
        self.message.emit(f"The camera could not be used ({text or 'no reason given'}); "
                          "check that no other program holds it and that ConvViz may use it.")
        self.close()

    # ----- video file ------------------------------------------------------------------------
    def open_file(self, path: str, loop: bool = True) -> None:
        """Release whatever runs and play the video file from its start."""
        self.close()
        self.path = str(path)
        self.player = QMediaPlayer(self)
        self.player.setVideoSink(self.sink)
        self.player.errorOccurred.connect(self._player_error)
        self.player.mediaStatusChanged.connect(self._media_status)
        self.player.playbackStateChanged.connect(lambda _state: self.state_changed.emit())
        self.set_loop(loop)
        self.player.setSource(QUrl.fromLocalFile(self.path))
        self.player.play()

    def set_loop(self, loop: bool) -> None:
        """Play the video file again from its start when it ends."""
        if self.player is not None:
            self.player.setLoops(QMediaPlayer.Loops.Infinite if loop else QMediaPlayer.Loops.Once)

    def _player_error(self, _error, text: str) -> None:
        from pathlib import Path

        self.message.emit(f"{Path(self.path).name} cannot be played: {text or 'unknown format'}.")

    def _media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia:
            self.message.emit("End of the video: press Play to see it again.")
            self.state_changed.emit()
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self.state_changed.emit()

    # ----- control ---------------------------------------------------------------------------
    def play(self) -> None:
        """Resume the video (from its start after its end) or turn the camera on again."""
        if self.player is not None:
            if self.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
                self.player.setPosition(0)
            self.player.play()
        elif self.camera is not None:
            self.camera.start()

    def pause(self) -> None:
        """Pause the video; a camera keeps running (its frames are simply not explained)."""
        if self.player is not None:
            self.player.pause()

    def step(self) -> None:
        """Show the video's next frame (paused): one frame duration past the current one."""
        if self.player is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        frame = self.last_frame
        if frame is not None and frame.isValid() and frame.endTime() > frame.startTime() >= 0:
            # Half a frame past the current frame's end: a seek to a frame's exact start
            # shows the frame before it.
            duration = frame.endTime() - frame.startTime()
            target = (frame.endTime() + duration // 2) // 1000
        else:
            rate = self.player.metaData().value(QMediaMetaData.Key.VideoFrameRate)
            target = self.player.position() + (round(1000 / rate) if rate else DEFAULT_FRAME_MS)
        duration = self.player.duration()
        if duration > 0 and target >= duration:
            target = 0 if self.player.loops() != 1 else duration - 1
        self.player.setPosition(target)

    def close(self) -> None:
        """Stop and release the camera or the video (nothing arrives afterwards)."""
        had = self.kind
        if self.camera is not None:
            self.camera.stop()
            self.camera.deleteLater()
            self.camera = None
        if self._session is not None:
            self._session.setVideoSink(None)
            self._session.deleteLater()
            self._session = None
        if self.player is not None:
            self.player.stop()
            self.player.setVideoSink(None)
            self.player.deleteLater()
            self.player = None
        self.last_frame = None
        if had:
            self.state_changed.emit()

    def _frame(self, frame: QVideoFrame) -> None:
        if not frame.isValid() or self.kind == "":
            return  # the empty frame a player sends at its end, or one queued before close()
        self.last_frame = frame
        self.frame_arrived.emit(frame, time.monotonic())
