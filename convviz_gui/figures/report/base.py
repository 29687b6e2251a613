"""What every report format shares: the format from the suffix, the summary rows, and the
writer's life cycle (a temporary file renamed into place only when the report is done)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from convviz_gui.engine.cam import CamResult, Prediction
from convviz_gui.engine.cam.metrics import Faithfulness
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.figures.cam import cam_overlay
from convviz_gui.files import AtomicFile

REPORT_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}
METRIC_COLUMNS = (("deletion_auc", "deletion AUC ↓"), ("insertion_auc", "insertion AUC ↑"),
                  ("average_drop", "avg drop ↓"))


def report_format(path: str | Path) -> str:
    """``html`` or ``pdf`` from the file's suffix; anything else is the user's mistake."""
    suffix = Path(path).suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise ConvVizError(f"A report is written as .html, .htm or .pdf, not "
                           f"{suffix or 'a file without a suffix'} ({Path(path).name}).")
    return REPORT_FORMATS[suffix]


class Explained(Protocol):
    """What a report needs of one image's explanation (``ops.compare.ExplainedImage``),
    read-only."""

    @property
    def path(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> tuple[int, int]:  # original (width, height)
        ...

    @property
    def rgb(self) -> np.ndarray:  # display copy at the original aspect
        ...

    @property
    def predictions(self) -> Sequence[Prediction]: ...

    @property
    def cam(self) -> CamResult: ...

    @property
    def metrics(self) -> Faithfulness | None: ...


@dataclass(frozen=True)
class ReportHeader:
    """What the whole report explains (known once the images are done)."""

    model: str
    method: str
    layer: str
    class_rule: str  # "each image's top class" or "class 'cat' (281)"
    seconds: float


@dataclass(frozen=True)
class SummaryRow:
    """One image in the summary: text and numbers only (plus an encoded thumbnail)."""

    number: int
    name: str
    path: str
    predicted: Prediction | None
    label: str
    class_index: int
    score: float
    peak: tuple[int, int]
    metrics: dict[str, float] | None
    thumbnail: str = ""  # data URI (HTML only)


def overlay_image(item: Explained, alpha: float, cmap: str) -> np.ndarray:
    """The explanation drawn on the display copy (the window's and CLI's overlay; a signed
    map for and against the class)."""
    return cam_overlay(item.rgb, item.cam, alpha, cmap)


def overlay_caption(item: Explained, alpha: float) -> str:
    """What the overlay shows: "overlay (alpha 0.4)", and for a signed map its colours."""
    if item.cam.signed:
        return f"signed overlay (alpha {alpha:g}): red for '{item.cam.label}', blue against"
    return f"overlay (alpha {alpha:g})"


class ReportWriter(ABC):
    """Base of the formats: a temporary file next to the target, renamed over it by
    ``finish`` (``files.AtomicFile``, as every export) and deleted if the report stops.

    Use as a context manager: ``add`` each image, ``skip`` each unreadable file, then
    ``finish``; leaving the block without ``finish`` (an error, a cancel) leaves no file.
    """

    def __init__(self, path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                 root: str | None = None) -> None:
        self.path = Path(path)
        self.root = root  # image names are shown relative to this folder
        self.format = report_format(self.path)
        self.alpha, self.cmap = alpha, cmap
        self.rows: list[SummaryRow] = []
        self.skipped: list[tuple[str, str]] = []
        self._file = AtomicFile(self.path)
        self._stream = self._file.stream
        self._done = False

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._done:
            self._close()
            self._file.discard()

    @abstractmethod
    def add(self, item: Explained) -> None:
        """One image's part of the report."""

    def _name(self, path: str) -> str:
        """A file as the report names it: relative to ``root`` (subfolders show), else its name."""
        if self.root:
            try:
                return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
            except ValueError:
                pass
        return Path(path).name

    def _row(self, item: Explained, thumbnail: str = "") -> SummaryRow:
        cam = item.cam
        return SummaryRow(len(self.rows) + 1, self._name(item.path), item.path,
                          item.predictions[0] if item.predictions else None, cam.label,
                          cam.class_index, cam.score, cam.peak_xy(*item.size),
                          item.metrics.to_dict() if item.metrics is not None else None, thumbnail)

    def skip(self, path: str, reason: str) -> None:
        """A file that could not be read, listed with the reason."""
        self.skipped.append((path, reason))

    def finish(self, header: ReportHeader) -> Path:
        """Write the summary, then put the file in place."""
        try:
            self._write_summary(header)
            self._close()
        except OSError as exc:
            raise ConvVizError(f"Cannot write {self.path.name}: {exc.strerror or exc}.") from exc
        self._done = True
        return self._file.commit()

    @abstractmethod
    def _write_summary(self, header: ReportHeader) -> None:
        """The header, the summary and the skipped files (the format's own layout)."""

    def _close(self) -> None:
        self._stream.close()
