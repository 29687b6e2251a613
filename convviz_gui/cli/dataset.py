"""``convviz dataset``: what a model learned across a folder of images (its mistakes, its
strategies per class, the images each channel loves), as text, JSON or a report file."""

from __future__ import annotations

import argparse
import json
from importlib import import_module
from pathlib import Path
from typing import Any

from convviz_gui.cli.common import Command, Output, add_model_options, end_progress, layer_path, model_ref
from convviz_gui.engine.cam.registry import method_keys
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import FIT_MODES, PRESETS
from convviz_gui.ops.context import OpContext

REPORT_MODULE = "convviz_gui.figures.report.dataset"  # write_report(result, path) -> written path


def dataset_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz dataset MODEL FOLDER [--layer] [--method] [--top-k 9] [--out] [--json] [--ray]``."""
    sub.add_argument("model", help="model file, 'demo', or app:NAME[:imagenet|none]")
    sub.add_argument("folder", help="images in one subfolder per class (FOLDER/<class>/...), "
                                    "or all in FOLDER (unlabelled: no accuracy)")
    sub.add_argument("--layer", help="layer explained and whose channels are ranked "
                                     "(default: the last spatial layer)")
    sub.add_argument("--channel-layer", help="rank the channels of this layer instead")
    sub.add_argument("--method", default="gradcam",
                     help=f"explanation clustered per class: one of {', '.join(method_keys())}")
    sub.add_argument("--top-k", type=int, default=9, help="top images kept per channel (default 9)")
    sub.add_argument("--mistakes", type=int, default=50, help="most confident mistakes listed")
    sub.add_argument("--batch-size", type=int, default=0, help="images per batch (default: automatic)")
    sub.add_argument("--preprocess", choices=list(PRESETS), help="override preprocessing")
    sub.add_argument("--fit", choices=list(FIT_MODES), default="stretch",
                     help="how each image meets the model's input size (default: stretch)")
    sub.add_argument("--no-cache", action="store_true",
                     help="scan again, keeping nothing (default: reuse and keep the scan)")
    sub.add_argument("--out", type=Path,
                     help="write the analysis: report.html (when this ConvViz has the dataset "
                          "report) or analysis.json")
    sub.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                     help="run the scan on Ray ('local' starts one; needs convviz[ray])")
    sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_model_options(sub)


def _writer(out: Path | None) -> Any:
    """The function writing ``--out`` (checked before the scan): JSON for .json, else the
    dataset report module's ``write_report``."""
    if out is None:
        return None
    if out.suffix.lower() == ".json":
        return _write_json
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConvVizError(f"--out writes the report as .html (or .htm) or the analysis as .json, "
                           f"not {out.name}.")
    try:
        return import_module(REPORT_MODULE).write_report
    except (ImportError, AttributeError) as exc:
        raise ConvVizError(f"This ConvViz cannot write a dataset report as {out.suffix or out.name}; "
                           "give --out FILE.json for the analysis as JSON.") from exc


def _write_json(result: Any, path: Path) -> str:
    """The analysis's JSON written atomically."""
    from convviz_gui.files import AtomicFile
    from convviz_gui.ops.registry import to_json

    with AtomicFile(path) as target:
        target.stream.write(json.dumps(to_json(result), indent=1).encode())
        return str(target.commit())


def dataset(args: argparse.Namespace, context: OpContext) -> Output:
    """Analyze the folder; the summary in words, or the issue's JSON."""
    from convviz_gui.ops.dataset import Dataset
    from convviz_gui.ops.registry import run, to_json

    write = _writer(args.out)
    request = Dataset(model_ref(args), str(Path(args.folder).absolute()),
                      layer_path(args.layer) if args.layer else None, args.method,
                      layer_path(args.channel_layer) if args.channel_layer else None,
                      args.top_k, args.batch_size, not args.no_cache, fit=args.fit,
                      preset=args.preprocess, mistakes=args.mistakes,
                      engine="ray" if args.ray else "local", ray_address=args.ray or "")
    result = run(request, context)
    end_progress(args)
    written = write(result, args.out) if write is not None else ""
    payload = to_json(result)
    if written:
        payload["out"] = str(written)
    return payload, _text(result, written)


def _text(result: Any, written: str) -> str:
    """The analysis in a few lines."""
    lines = [f"{result.model_name} on {result.folder}: {result.images} images, "
             f"{len(result.skipped)} skipped, {result.seconds:.1f} s"
             + (" (from the cache)" if result.cached else "")]
    if result.accuracy is not None:
        lines.append(f"accuracy {result.accuracy:.1%}; {len(result.mistakes)} most confident mistakes:")
        lines += [f"  {item.image}: {result.classes[item.true]} taken for "
                  f"{result.classes[item.predicted]} ({item.score:.2f})" for item in result.mistakes[:5]]
    lines.append(f"strategies ({result.method} at {result.layer}):")
    for strategy in result.strategies:
        for cluster in strategy.clusters:
            mark = "FLAGGED " if cluster.flagged else ""
            lines.append(f"  {strategy.label}: {len(cluster.members)} images, {mark}{cluster.reason}")
    lines += [f"note: {note}" for note in result.notes]
    lines += [f"  skipped {image}: {reason}" for image, reason in result.skipped]
    if written:
        lines.append(f"wrote {written}")
    return "\n".join(lines)


DATASET = Command("dataset", "what a model learned across a folder of images: mistakes, "
                             "strategies per class, the images each channel loves",
                  dataset_arguments, dataset, progress=True)
