"""Batch reports: one self-contained HTML file, or a PDF with a page per image and summary
pages at the end. Written as the explanations arrive, so memory stays bounded however many
images there are; the file appears (atomically) only when the report is complete.

``base`` holds what both formats share (the writer's life cycle, the summary rows),
``html`` and ``pdf`` one format each; ``open_report`` picks the format from the suffix.
"""

from __future__ import annotations

from pathlib import Path

from convviz_gui.figures.report.base import ReportWriter, report_format
from convviz_gui.figures.report.html import HtmlReport
from convviz_gui.figures.report.pdf import PdfReport


def open_report(path: str | Path, alpha: float = 0.4, cmap: str = "jet",
                root: str | None = None) -> ReportWriter:
    """The writer for the path's format (.html/.htm or .pdf); names relative to ``root``."""
    return (PdfReport if report_format(path) == "pdf" else HtmlReport)(path, alpha, cmap, root)
