"""The PDF report: matplotlib's ``PdfPages``, a page per image as it comes, then the
summary pages (last, because a page written cannot move)."""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from convviz_gui.figures.cam import metrics_axes
from convviz_gui.figures.markers import PEAK, mark_whole
from convviz_gui.figures.report.base import (
    METRIC_COLUMNS,
    Explained,
    ReportHeader,
    ReportWriter,
    overlay_caption,
    overlay_image,
)
from convviz_gui.figures.text import LABEL_LIMIT, cam_title, shorten

PAGE_INCHES = (11.69, 8.27)  # A4 landscape
LINE_INCHES = 0.26  # a table row on a summary page
HEADER_INCHES = 1.0
SUMMARY_LINES_PER_PAGE = int((PAGE_INCHES[1] - HEADER_INCHES - 0.4) / LINE_INCHES)

Table = tuple[str, list[str], list[list[str]]]  # (title, column names, rows of cells)


class PdfReport(ReportWriter):
    """A page per image as it comes (``PdfPages``), then the summary pages."""

    def __init__(self, path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                 root: str | None = None) -> None:
        super().__init__(path, alpha, cmap, root)
        self._pdf: PdfPages | None = PdfPages(self._stream, metadata={"Creator": "ConvViz"})

    def _close(self) -> None:
        if self._pdf is not None:
            pdf, self._pdf = self._pdf, None
            with contextlib.suppress(OSError, ValueError):  # the stream went first: the
                pdf.close()  # temporary file is deleted anyway
        super()._close()

    def add(self, item: Explained) -> None:
        """The image's page: image and overlay (peak marked) above, top-k and metrics below."""
        row = self._row(item)
        self.rows.append(row)
        figure = Figure(figsize=PAGE_INCHES, layout="constrained")
        mosaic: Any = [["image", "overlay"], ["top", "metrics" if item.metrics is not None else "."]]
        axes = figure.subplot_mosaic(mosaic, height_ratios=[1.6, 1])
        figure.suptitle(f"{row.number}. {shorten(row.name, 90)}  ({item.size[0]}x{item.size[1]} "
                        f"px)\n{cam_title(item.cam)}", fontsize=11)
        axes["image"].imshow(item.rgb)
        axes["image"].set_title("image", fontsize=10, pad=PEAK.title_pad)
        axes["overlay"].imshow(overlay_image(item, self.alpha, self.cmap))
        shown = item.cam.peak_xy(item.rgb.shape[1], item.rgb.shape[0])
        mark_whole(axes["overlay"], *shown)
        axes["overlay"].set_title(f"{overlay_caption(item, self.alpha)}\n+ peak at x={row.peak[0]}, "
                                  f"y={row.peak[1]}", fontsize=10, pad=PEAK.title_pad)
        for name in ("image", "overlay"):
            axes[name].set_axis_off()
        _table(axes["top"], "top predictions", ["index", "class", "probability"],
               [[str(p.index), shorten(p.label, LABEL_LIMIT), f"{p.score:.4f}"]
                for p in item.predictions])
        if item.metrics is not None:
            metrics_axes(axes["metrics"], item.metrics)
        self._save_page(figure)

    def _write_summary(self, header: ReportHeader) -> None:
        metrics = any(row.metrics for row in self.rows)
        columns = ["#", "image", "predicted", "prob.", "explained class", "score",
                   "peak (x, y)"] + ([title for _, title in METRIC_COLUMNS] if metrics else [])
        rows = [[str(row.number), shorten(row.name, 48),
                 shorten(row.predicted.label, 24) if row.predicted else "",
                 f"{row.predicted.score:.3f}" if row.predicted else "",
                 f"{shorten(row.label, 24)} ({row.class_index})", f"{row.score:.3f}",
                 f"{row.peak[0]}, {row.peak[1]}"]
                + ([f"{row.metrics[key]:.3f}" if row.metrics else "" for key, _ in METRIC_COLUMNS]
                   if metrics else []) for row in self.rows]
        tables: list[Table] = [("summary", columns, rows)]
        if self.skipped:
            tables.append(("skipped", ["file", "reason"],
                           [[shorten(self._name(path), 48), shorten(reason, 100)]
                            for path, reason in self.skipped]))
        intro = (f"ConvViz report: {header.model}\n{header.method} at {header.layer}; "
                 f"explained: {header.class_rule}\n{len(self.rows)} images explained, "
                 f"{len(self.skipped)} skipped, {header.seconds:.1f} s; written "
                 f"{datetime.datetime.now():%Y-%m-%d %H:%M}")
        pages = _pack(tables, SUMMARY_LINES_PER_PAGE)
        for number, page in enumerate(pages, 1):
            figure = Figure(figsize=PAGE_INCHES)
            title = intro if number == 1 else f"ConvViz report: {header.model}"
            figure.text(0.03, 0.97, f"{title}  (summary {number}/{len(pages)})", va="top",
                        fontsize=11)
            top = 1 - (HEADER_INCHES / PAGE_INCHES[1])
            for name, head, part in page:
                height = (len(part) + 2) * LINE_INCHES / PAGE_INCHES[1]
                ax = figure.add_axes((0.03, top - height, 0.94, height))
                _table(ax, name, head, part)
                top -= height + LINE_INCHES / PAGE_INCHES[1]
            self._save_page(figure)

    def _save_page(self, figure: Figure) -> None:
        if self._pdf is None:
            raise ValueError("The report is closed.")
        self._pdf.savefig(figure)


def _pack(tables: list[Table], lines: int) -> list[list[Table]]:
    """Tables cut into pages of ``lines`` lines (a title and a header line each, then rows)."""
    pages: list[list[Table]] = [[]]
    used = 0
    for name, head, rows in tables:
        start = 0
        while True:
            room = lines - used - 3  # title, header, and a gap
            if room < 1:
                pages.append([])
                used, room = 0, lines - 3
            part = rows[start:start + room]
            pages[-1].append((name, head, part))
            used += len(part) + 3
            start += len(part)
            if start >= len(rows):
                break
    return pages


def _table(ax: Axes, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A matplotlib table of text rows filling ``ax`` (a title above, no axes drawn)."""
    ax.set_axis_off()
    ax.set_title(title, fontsize=10, loc="left")
    if not rows:
        ax.text(0, 1, "none", va="top", fontsize=9, transform=ax.transAxes)
        return
    table = ax.table(cellText=rows, colLabels=columns, loc="upper left", cellLoc="left",
                     colLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.auto_set_column_width(list(range(len(columns))))
    for (row, _), cell in table.get_celld().items():
        cell.set_height(1 / (len(rows) + 1))
        cell.set_edgecolor("#cccccc")
        if row == 0:
            cell.set_facecolor("#eeeeee")
