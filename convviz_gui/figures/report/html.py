"""The HTML report: one self-contained file, images as ``data:`` URIs (JPEG), a summary
table sortable by clicking its headers, one section per image, the skipped files with their
reasons. Its style sheet and script are resources (``resources/report/``)."""

from __future__ import annotations

import base64
import datetime
import html
import io
import shutil
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from convviz_gui.figures.report.base import (
    METRIC_COLUMNS,
    Explained,
    ReportHeader,
    ReportWriter,
    SummaryRow,
    overlay_caption,
    overlay_image,
)
from convviz_gui.figures.text import cam_title
from convviz_gui.paths import resource

THUMBNAIL_SIDE = 96  # summary-table thumbnails (long side, pixels)
JPEG_QUALITY = 90


@cache
def report_resource(name: str) -> str:
    """The text of a file in ``resources/report/`` (the page's style sheet, its script)."""
    return resource("report", name).read_text(encoding="utf-8")


def data_uri(rgb: np.ndarray, side: int | None = None) -> str:
    """A JPEG ``data:`` URI of an RGB array (reduced to ``side`` on its long side if given)."""
    image = Image.fromarray(rgb)
    if side is not None:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


class HtmlReport(ReportWriter):
    """One HTML file with everything embedded. Image sections are streamed into a scratch
    file as they come; ``finish`` writes the header and the table, then copies them."""

    def __init__(self, path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                 root: str | None = None) -> None:
        super().__init__(path, alpha, cmap, root)
        self._sections = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by _close)

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
            f'<figcaption>{_e(item.cam.method)} {_e(overlay_caption(item, self.alpha))}; + peak at '
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
            f"<title>ConvViz report: {_e(header.model)}</title>"
            f"<style>\n{report_resource('report.css')}</style></head><body>"
            f"<h1>ConvViz report: {_e(header.model)}</h1>{self._meta(header)}"
            f"<h2>Summary</h2><p class=meta>Click a column header to sort.</p>"
            f"<table class=sortable><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>")
        if skipped:
            out.write(f"<h2>Skipped ({len(self.skipped)})</h2><ul class=skipped>{skipped}</ul>")
        self._sections.seek(0)
        shutil.copyfileobj(self._sections, out)
        out.write(f"<script>\n{report_resource('sort_table.js')}</script></body></html>\n")
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
    def _table_row(row: SummaryRow, metrics: bool) -> str:
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
