"""A row of the images a channel responds to most in the last dataset scan (issue 24):
shown under the Activations tab's enlarged channel and under the Filters tab's patterns
when the scan ranked that layer's channels; hidden otherwise."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from convviz_gui.figures.dataset import channel_crops
from convviz_gui.figures.text import receptive_field_phrase
from convviz_gui.ops.dataset import DatasetResult
from convviz_gui.ui.controls import ndarray_to_pixmap

STRIP_SIDE = 56  # pixels of one crop on screen


class ChannelStrip(QWidget):
    """The top images of one channel: receptive-field crops, each with its value."""

    def __init__(self, side: int = STRIP_SIDE) -> None:
        super().__init__()
        self.side = side
        self.title = QLabel()
        self.title.setWordWrap(True)
        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.title)
        layout.addLayout(self._row)
        self.shown: tuple[str, int] | None = None  # (layer, channel) on screen
        self.values: list[str] = []  # the values written under the crops
        self.hide()

    def show_channel(self, scan: DatasetResult | None, layer: str, channel: int) -> bool:
        """Show ``channel`` of ``layer`` (slash path) from ``scan``; hidden (False) when
        there is no scan of that layer."""
        if scan is None or scan.channels.layer != layer or not 0 <= channel < len(scan.channels.top):
            self.shown = None
            self.hide()
            return False
        if self.shown != (layer, channel):
            self.shown = (layer, channel)
            self._fill(scan, channel)
        self.show()
        return True

    def _fill(self, scan: DatasetResult, channel: int) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        crops = channel_crops(scan, channel)
        self.values = [f"{top.value:.3g}" for top, _ in crops]
        field = receptive_field_phrase(scan.channels.receptive_field, scan.input_size)
        self.title.setText(f"Channel {channel}: the {len(crops)} images of "
                           f"{Path(scan.folder).name} it responds to most (crops of the {field}; "
                           "maximum value under each)")
        for (top, pixels), value in zip(crops, self.values):
            tile = QVBoxLayout()
            picture = QLabel("unreadable" if pixels is None else "")
            if pixels is not None:
                picture.setPixmap(ndarray_to_pixmap(pixels).scaled(
                    self.side, self.side, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation))
            picture.setToolTip(f"{top.image}: maximum {top.value:.4g} at {top.xy} (image pixels)")
            number = QLabel(value)
            number.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            tile.addWidget(picture, 0, Qt.AlignmentFlag.AlignHCenter)
            tile.addWidget(number)
            self._row.addLayout(tile)
        self._row.addStretch(1)
