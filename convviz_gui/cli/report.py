"""``convviz report``: every image of folders or files explained in one HTML or PDF report."""

from __future__ import annotations

import argparse
from pathlib import Path

from convviz_gui.cli.common import Command, Output, add_model_options, end_progress, layer_path, model_ref
from convviz_gui.cli.explain_options import add_explain_options, method_options
from convviz_gui.engine.cam.registry import method_keys
from convviz_gui.engine.images import FIT_MODES, PRESETS
from convviz_gui.ops.context import OpContext


def report_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz report MODEL FOLDER_OR_FILES... --out report.html|pdf``."""
    sub.add_argument("model", help="model file, 'demo', or app:NAME[:imagenet|none]")
    sub.add_argument("inputs", nargs="+", metavar="FOLDER_OR_FILE",
                     help="image files and folders (a folder gives its files, sorted by name)")
    sub.add_argument("--out", type=Path, required=True,
                     help="report.html (one self-contained file) or report.pdf")
    sub.add_argument("--recursive", action="store_true", help="include the folders' subfolders")
    sub.add_argument("--class", dest="class_", default="top",
                     help="class index or label explained in every image, or 'top' (default): "
                          "each image's own top class")
    sub.add_argument("--method", default="gradcam",
                     help=f"one of {', '.join(method_keys())} (any case; display names too)")
    sub.add_argument("--layer", help="target layer (default: last spatial layer)")
    sub.add_argument("--metrics", action="store_true",
                     help="add deletion/insertion AUC and Average Drop/Increase per image")
    sub.add_argument("--top", type=int, default=5, help="predictions listed per image")
    sub.add_argument("--preprocess", choices=list(PRESETS), help="override preprocessing")
    sub.add_argument("--fit", choices=list(FIT_MODES), default="stretch",
                     help="how each image meets the model's input size (default: stretch)")
    add_explain_options(sub, unnormalized=False)
    sub.add_argument("--alpha", type=float, default=0.4)
    sub.add_argument("--cmap", default="jet")
    sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_model_options(sub)


def report(args: argparse.Namespace, context: OpContext) -> Output:
    """Write the report (its suffix is checked before the model loads); the images written
    and skipped."""
    from convviz_gui.ops.explain import ExplainSpec
    from convviz_gui.ops.registry import run, to_json
    from convviz_gui.ops.report import BatchReport

    spec = ExplainSpec(args.method, layer_path(args.layer) if args.layer else None, args.class_,
                       args.preprocess, args.top, args.score, options=method_options(args),
                       metrics=args.metrics)
    request = BatchReport(model_ref(args), tuple(args.inputs), str(args.out), args.recursive,
                          args.fit, spec, args.cmap, args.alpha)
    result = run(request, context)
    end_progress(args)
    lines = [f"wrote {result.path}: {len(result.images)} images, {len(result.skipped)} skipped, "
             f"{result.method} at {result.layer}, {result.seconds:.1f} s"]
    lines += [f"  skipped {path}: {reason}" for path, reason in result.skipped]
    return to_json(result), "\n".join(lines)


REPORT = Command("report", "explain every image of folders or files in one HTML or PDF report",
                 report_arguments, report, progress=True)
