"""The report family: every image of some files and folders explained, written as one
HTML or PDF report."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.ops.base import ImageRef, ModelRef, Request
from convviz_gui.ops.compare import ExplainImages, explained_images
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.registry import operation, to_json

REPORT_IMAGE_SIDE = 512  # display copies drawn into a batch report


@dataclass(frozen=True)
class BatchReport(Request):
    """An explanation (``spec``) of every image in some files and folders, written as one
    report: ``out`` ends in .html/.htm (self-contained) or .pdf. Folders give their
    non-hidden files (natural sort by name; subfolders with ``recursive``); unreadable files
    are listed as skipped. ``spec.class_`` None or "top": each image's own top class. Long:
    progress, cancel. ``check_report`` says what is wrong with it before anything is
    computed."""

    model: ModelRef
    inputs: tuple[str, ...]
    out: str
    recursive: bool = False
    fit: str = "stretch"
    spec: ExplainSpec = ExplainSpec()
    cmap: str = "jet"
    alpha: float = 0.4


@dataclass(frozen=True)
class ReportResult:
    """A written ``BatchReport``: the file and each image's JSON entry (no pixels, so it
    stays small on the pipe), the skipped files with their reasons."""

    path: str
    format: str  # "html" or "pdf"
    model_name: str
    method: str
    layer: str
    images: tuple[dict[str, Any], ...]  # ``to_json`` of each ``ExplainedImage``
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason)
    seconds: float = 0.0


def check_report(request: BatchReport) -> BatchReport:
    """The request, checked at once: a report file suffix (.html, .htm or .pdf) and some
    inputs; raises ``ConvVizError`` otherwise."""
    from convviz_gui.figures.report.base import report_format

    report_format(request.out)
    if not request.inputs:
        raise ConvVizError("Choose a folder or some image files for the report.")
    return request


@operation(BatchReport, long=True)
def batch_report(request: BatchReport, context: OpContext) -> ReportResult:
    """Explain every image of the files and folders (a batch at a time, as
    ``explained_images``) and write the report as they come: memory stays bounded, and the
    file appears only when it is complete (nothing is left after an error or a cancel)."""
    from convviz_gui.engine.cam import ExplanationCancelled, Progress
    from convviz_gui.engine.images import collect_image_files
    from convviz_gui.figures.report import open_report
    from convviz_gui.figures.report.base import ReportHeader

    check_report(request)
    started = time.perf_counter()
    files, skipped = collect_image_files(request.inputs, request.recursive)
    if not files:
        raise ConvVizError(skipped[0][1] if len(skipped) == 1 else
                           f"No files to explain in {', '.join(request.inputs)}.")
    explain = ExplainImages(request.model, tuple(ImageRef(path, request.fit) for path in files),
                            request.spec)
    entries, last, missing = [], None, len(skipped)
    # abspath: '..' normalized, symbolic links kept (Path.resolve would follow them)
    root = os.path.commonpath([os.path.dirname(os.path.abspath(path))  # noqa: PTH100, PTH120
                               for path in files])
    with open_report(request.out, request.alpha, request.cmap, root) as writer:
        for path, reason in skipped:
            writer.skip(path, reason)
        for found in explained_images(explain, context, REPORT_IMAGE_SIDE):
            if isinstance(found, tuple):
                skipped.append(found)
                writer.skip(*found)
            else:
                writer.add(found)
                entries.append(to_json(found))
                last = found.cam
            if context.cancelled:
                raise ExplanationCancelled("Cancelled.")
            done = len(entries) + len(skipped) - missing
            context.progress(Progress(done, len(files), f"Report: {len(entries)} images written"))
        if last is None:
            raise ConvVizError(f"None of the files could be read as an image ({skipped[-1][1]})")
        model_name = context.workspace.model(request.model).name
        rule = "each image's top class" if request.spec.class_ in (None, "", "top") else \
            f"class '{last.label}' ({last.class_index})"
        seconds = time.perf_counter() - started
        if context.cancelled:  # a Cancel during the last image wins: no file
            raise ExplanationCancelled("Cancelled.")
        written = writer.finish(ReportHeader(model_name, last.method, last.where, rule, seconds))
    if context.cancelled:  # ... and during the writing too: the file goes again
        Path(written).unlink(missing_ok=True)
        raise ExplanationCancelled("Cancelled.")
    return ReportResult(str(written), writer.format, model_name, last.method, last.where,
                        tuple(entries), tuple(skipped), seconds)


@to_json.register(ReportResult)
def _report_json(result: ReportResult) -> dict[str, Any]:
    """``{"report", "images": [...], "skipped": [{"image", "reason"}], "seconds"}``."""
    return {"report": result.path, "format": result.format, "model": result.model_name,
            "method": result.method, "layer": result.layer, "images": list(result.images),
            "skipped": [{"image": path, "reason": reason} for path, reason in result.skipped],
            "seconds": round(result.seconds, 3)}
