"""Batch reports: one self-contained HTML file, or a PDF with a page per image and summary
pages at the end. Written as the explanations arrive, so memory stays bounded however many
images there are; the file appears (atomically) only when the report is complete.

HTML: images as ``data:`` URIs (JPEG), a summary table sortable by clicking its headers (a
small inline script), one section per image, the skipped files with their reasons. PDF:
matplotlib's ``PdfPages``; the summary comes last because a page written cannot move.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from PIL import Image

from convviz_gui.engine.cam import CamResult, Prediction
from convviz_gui.engine.cam.metrics import Faithfulness
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.render import (
    LABEL_LIMIT,
    AtomicFile,
    cam_title,
    mark_peak,
    metrics_axes,
    overlay,
    shorten,
)

REPORT_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}
THUMBNAIL_SIDE = 96  # summary-table thumbnails (long side, pixels)
JPEG_QUALITY = 90
PAGE_INCHES = (11.69, 8.27)  # A4 landscape
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
    """What a report needs of one image's explanation (``ops.messages.ExplainedImage``)."""

    path: str
    name: str
    size: tuple[int, int]  # original (width, height)
    rgb: np.ndarray  # display copy at the original aspect
    predictions: Sequence[Prediction]
    cam: CamResult
    metrics: Faithfulness | None


@dataclass(frozen=True)
class ReportHeader:
    """What the whole report explains (known once the images are done)."""

    model: str
    method: str
    layer: str
    class_rule: str  # "each image's top class" or "class 'cat' (281)"
    seconds: float


@dataclass(frozen=True)
class _Row:
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
    """The explanation drawn on the display copy (the window's and CLI's overlay)."""
    height, width = item.rgb.shape[:2]
    return overlay(item.rgb, item.cam.upsampled(width, height), alpha, cmap)


class ReportWriter(ABC):
    """Base of the two formats: a temporary file next to the target, renamed over it by
    ``finish`` (``render.AtomicFile``, as every export) and deleted if the report stops.

    Use as a context manager: ``add`` each image, ``skip`` each unreadable file, then
    ``finish``; leaving the block without ``finish`` (an error, a cancel) leaves no file.
    """

    def __init__(self, path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                 root: str | None = None) -> None:
        self.path = Path(path)
        self.root = root  # image names are shown relative to this folder
        self.format = report_format(self.path)
        self.alpha, self.cmap = alpha, cmap
        self.rows: list[_Row] = []
        self.skipped: list[tuple[str, str]] = []
        self._file = AtomicFile(self.path)
        self._stream = self._file.stream
        self._done = False

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
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

    def _row(self, item: Explained, thumbnail: str = "") -> _Row:
        cam = item.cam
        return _Row(len(self.rows) + 1, self._name(item.path), item.path,
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


def open_report(path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                root: str | None = None) -> ReportWriter:
    """The writer for the path's format (.html/.htm or .pdf); names relative to ``root``."""
    return (PdfReport if report_format(path) == "pdf" else HtmlReport)(path, alpha, cmap, root)


# ----- HTML ---------------------------------------------------------------------------------------
def data_uri(rgb: np.ndarray, side: int | None = None) -> str:
    """A JPEG ``data:`` URI of an RGB array (reduced to ``side`` on its long side if given)."""
    image = Image.fromarray(rgb)
    if side is not None:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin:1.6em 0 .4em}
.meta{color:#555} table{border-collapse:collapse;margin:.5em 0}
th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:middle}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f3f3f3}
table.sortable th[data-order=asc]::after{content:" \\25B2"}
table.sortable th[data-order=desc]::after{content:" \\25BC"}
.pair{display:flex;gap:12px;flex-wrap:wrap}
.pair figure{margin:0;max-width:48%} .wrap{position:relative;display:inline-block}
.pair img{max-width:100%;max-height:420px;display:block}
figcaption{color:#555;font-size:12px}
.peak{position:absolute;transform:translate(-50%,-50%);color:#fff;font:bold 22px monospace;
text-shadow:0 0 3px #000,0 0 3px #000}
.skipped li{margin:.2em 0} section{border-top:1px solid #ccc}
"""

_SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], up = th.dataset.order !== "asc";
    th.closest("tr").querySelectorAll("th").forEach(function (o) { delete o.dataset.order; });
    th.dataset.order = up ? "asc" : "desc";
    function key(row) {
      var cell = row.cells[column], text = cell.dataset.sort || cell.textContent;
      var number = parseFloat(text);
      return isNaN(number) ? text.toLowerCase() : number;
    }
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


class HtmlReport(ReportWriter):
    """One HTML file with everything embedded. Image sections are streamed into a scratch
    file as they come; ``finish`` writes the header and the table, then copies them."""

    def __init__(self, path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                 root: str | None = None) -> None:
        super().__init__(path, alpha, cmap, root)
        self._sections = tempfile.TemporaryFile("w+", encoding="utf-8")

    def _close(self) -> None:
        super()._close()
        self._sections.close()

    def add(self, item: Explained) -> None:
        """The image's section: original and overlay side by side, top-k, metrics."""
        row = self._row(item, data_uri(item.rgb, THUMBNAIL_SIDE))
        self.rows.append(row)
        number = row.number
        height, width = item.rgb.shape[:2]
        x, y = row.peak
        shown = item.cam.peak_xy(width, height)  # where the marker goes on the display copy
        left, top = 100 * (shown[0] + 0.5) / width, 100 * (shown[1] + 0.5) / height
        predictions = "".join(
            f"<tr><td class=n>{p.index}</td><td>{_e(p.label)}</td><td class=n>{p.score:.4f}</td></tr>"
            for p in item.predictions)
        metrics = ""
        if item.metrics is not None:
            metrics = f"<p>{_e(item.metrics.describe())}</p>"
        self._sections.write(
            f'<section id="image-{number}"><h2>{number}. {_e(row.name)}</h2>'
            f'<p class=meta>{_e(item.path)} &middot; {item.size[0]}&times;{item.size[1]} px &middot; '
            f'{_e(cam_title(item.cam))}</p><div class=pair>'
            f'<figure><img src="{data_uri(item.rgb)}" alt="image">'
            f'<figcaption>image</figcaption></figure><figure><div class=wrap>'
            f'<img src="{data_uri(overlay_image(item, self.alpha, self.cmap))}" '
            f'alt="explanation overlay">'
            f'<span class=peak style="left:{left:.2f}%;top:{top:.2f}%">+</span></div>'
            f'<figcaption>{_e(item.cam.method)} overlay (alpha {self.alpha:g}); + peak at '
            f'x={x}, y={y}</figcaption></figure></div>'
            f'<table><thead><tr><th class=n>index</th><th>class</th><th class=n>probability</th>'
            f'</tr></thead><tbody>{predictions}</tbody></table>{metrics}</section>\n')

    def _write_summary(self, header: ReportHeader) -> None:
        metrics = any(row.metrics for row in self.rows)
        head = ["#", "", "image", "predicted", "probability", "explained class", "score",
                "peak (x, y)"] + ([title for _, title in METRIC_COLUMNS] if metrics else [])
        numeric = {"#", "probability", "score"} | {title for _, title in METRIC_COLUMNS}
        cells = "".join(f"<th{' class=n' if title in numeric else ''}>{_e(title)}</th>"
                        for title in head)
        body = "".join(self._table_row(row, metrics) for row in self.rows)
        skipped = "".join(f"<li><b>{_e(self._name(path))}</b> ({_e(path)}): {_e(reason)}</li>"
                          for path, reason in self.skipped)
        out = io.TextIOWrapper(self._stream, encoding="utf-8")
        out.write(
            f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>ConvViz report: {_e(header.model)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>ConvViz report: {_e(header.model)}</h1>{self._meta(header)}"
            f"<h2>Summary</h2><p class=meta>Click a column header to sort.</p>"
            f"<table class=sortable><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>")
        if skipped:
            out.write(f"<h2>Skipped ({len(self.skipped)})</h2><ul class=skipped>{skipped}</ul>")
        self._sections.seek(0)
        shutil.copyfileobj(self._sections, out)
        out.write(f"<script>{_SORT_SCRIPT}</script></body></html>\n")
        out.flush()
        out.detach()

    def _meta(self, header: ReportHeader) -> str:
        lines = [("Method", header.method), ("Layer", header.layer),
                 ("Explained", header.class_rule),
                 ("Colours", "each map scaled to its own maximum (red: most important); "
                             "+ marks the peak"),
                 ("Images", f"{len(self.rows)} explained, {len(self.skipped)} skipped, "
                            f"{header.seconds:.1f} s"),
                 ("Written", datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))]
        return "<p class=meta>" + "<br>".join(f"<b>{_e(name)}:</b> {_e(value)}"
                                              for name, value in lines) + "</p>"

    @staticmethod
    def _table_row(row: _Row, metrics: bool) -> str:
        top = row.predicted
        cells = [f"<td class=n>{row.number}</td>",
                 f'<td><a href="#image-{row.number}"><img src="{row.thumbnail}" alt=""></a></td>',
                 f'<td><a href="#image-{row.number}">{_e(row.name)}</a></td>',
                 f"<td>{_e(top.label) if top else ''}</td>",
                 f"<td class=n>{top.score:.4f}</td>" if top else "<td></td>",
                 f"<td>{_e(row.label)} ({row.class_index})</td>",
                 f"<td class=n>{row.score:.4f}</td>",
                 f'<td data-sort="{row.peak[0]}">{row.peak[0]}, {row.peak[1]}</td>']
        if metrics:
            cells += [f"<td class=n>{row.metrics[key]:.3f}</td>" if row.metrics else "<td></td>"
                      for key, _ in METRIC_COLUMNS]
        return "<tr>" + "".join(cells) + "</tr>"


# ----- PDF ----------------------------------------------------------------------------------------
class PdfReport(ReportWriter):
    """A page per image as it comes (``PdfPages``), then the summary pages."""

    def __init__(self, path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                 root: str | None = None) -> None:
        super().__init__(path, alpha, cmap, root)
        self._pdf = PdfPages(self._stream, metadata={"Creator": "ConvViz"})

    def _close(self) -> None:
        if self._pdf is not None:
            pdf, self._pdf = self._pdf, None
            try:
                pdf.close()
            except (OSError, ValueError):
                pass  # the stream went away first: the temporary file is deleted anyway
        super()._close()

    def add(self, item: Explained) -> None:
        """The image's page: image and overlay (peak marked) above, top-k and metrics below."""
        row = self._row(item)
        self.rows.append(row)
        figure = Figure(figsize=PAGE_INCHES, layout="constrained")
        bottom = ["top", "metrics" if item.metrics is not None else "."]
        axes = figure.subplot_mosaic([["image", "overlay"], bottom], height_ratios=[1.6, 1])
        figure.suptitle(f"{row.number}. {shorten(row.name, 90)}  ({item.size[0]}x{item.size[1]} "
                        f"px)\n{cam_title(item.cam)}", fontsize=11)
        axes["image"].imshow(item.rgb)
        axes["image"].set_title("image", fontsize=10)
        axes["overlay"].imshow(overlay_image(item, self.alpha, self.cmap))
        shown = item.cam.peak_xy(item.rgb.shape[1], item.rgb.shape[0])
        mark_peak(axes["overlay"], *shown)
        axes["overlay"].set_title(f"overlay (alpha {self.alpha:g}); + peak at x={row.peak[0]}, "
                                  f"y={row.peak[1]}", fontsize=10)
        for name in ("image", "overlay"):
            axes[name].set_axis_off()
        _table(axes["top"], "top predictions", ["index", "class", "probability"],
               [[str(p.index), shorten(p.label, LABEL_LIMIT), f"{p.score:.4f}"]
                for p in item.predictions])
        if item.metrics is not None:
            metrics_axes(axes["metrics"], item.metrics)
        self._pdf.savefig(figure)

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
        tables = [("summary", columns, rows)]
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
            self._pdf.savefig(figure)


LINE_INCHES = 0.26  # a table row on a summary page
HEADER_INCHES = 1.0
SUMMARY_LINES_PER_PAGE = int((PAGE_INCHES[1] - HEADER_INCHES - 0.4) / LINE_INCHES)


def _pack(tables: list[tuple[str, list[str], list[list[str]]]], lines: int
          ) -> list[list[tuple[str, list[str], list[list[str]]]]]:
    """Tables cut into pages of ``lines`` lines (a title and a header line each, then rows)."""
    pages: list[list] = [[]]
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


def _table(ax: Any, title: str, columns: list[str], rows: list[list[str]]) -> None:
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
