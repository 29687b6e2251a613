"""Headless command-line interface over the operations layer: ``convviz COMMAND ...``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import convviz_gui.engine  # noqa: F401  (sets TensorFlow environment before it loads)
from convviz_gui import __version__
from convviz_gui.engine.cam.registry import method_keys
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import FIT_MODES, PRESETS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"convviz: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``convviz`` argument parser."""
    parser = _Parser(prog="convviz", description="Explain a Keras convnet from the command line.")
    parser.add_argument("--version", action="version", version=f"convviz {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help_text: str, image: bool) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("model", help="model file, 'demo', or app:NAME[:imagenet|none]")
        if image:
            sub.add_argument("image", help="image file (PNG, JPEG, BMP, TIFF, WebP, GIF...)")
            sub.add_argument("--preprocess", choices=list(PRESETS), help="override preprocessing")
            sub.add_argument("--fit", choices=list(FIT_MODES), default="stretch",
                             help="how the image meets the model's input size (default: stretch)")
        sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        _model_options(sub)
        return sub

    command("inspect", "list the layers of a model", image=False)
    predict = command("predict", "top-k predictions for an image", image=True)
    predict.add_argument("--top", type=int, default=5)
    acts = command("activations", "channel grid of one layer", image=True)
    acts.add_argument("--layer", required=True)
    acts.add_argument("--cmap", default="viridis")
    _output_options(acts)
    filters = command("filters", "gradient-ascent patterns of a layer's filters", image=False)
    _filters_options(filters)
    _output_options(filters)
    gradcam = command("gradcam", "class activation heatmap or pixel attribution", image=True)
    gradcam.add_argument("--class", dest="class_", help="class index or label (default: top)")
    gradcam.add_argument("--layer", help="target layer (default: last spatial layer)")
    gradcam.add_argument("--method", default="gradcam",
                         help=f"one of {', '.join(method_keys())} (any case; display names too)")
    _explain_options(gradcam)
    gradcam.add_argument("--metrics", action="store_true",
                         help="add deletion/insertion AUC and Average Drop/Increase")
    gradcam.add_argument("--target", default="class", choices=["class", "counterfactual", "unit",
                                                                "regression", "region"],
                         help="what is explained: the class score (default), its negative "
                              "(counterfactual), one sigmoid unit, a regression output, or a "
                              "segmentation region (--region, else the pixels predicted as it)")
    gradcam.add_argument("--region", help="segmentation rectangle x0,y0,x1,y1 in fractions of "
                                          "the input, e.g. 0.1,0.1,0.5,0.6")
    gradcam.add_argument("--alpha", type=float, default=0.4)
    gradcam.add_argument("--cmap", default="jet")
    gradcam.add_argument("--heatmap-npy", type=Path,
                         help="save the method's map as .npy (layer resolution for CAMs, input "
                              "resolution for pixel methods; in [0, 1] unless --unnormalized)")
    _output_options(gradcam)
    compare = command("compare", "grid of explanations: methods x classes (or x layers), "
                                 "each with its faithfulness metrics", image=True)
    compare.add_argument("--methods", default="gradcam,scorecam",
                         help="comma-separated methods, e.g. gradcam,scorecam,integrated-gradients")
    compare.add_argument("--classes", help="comma-separated labels or indices (default: the top 2)")
    compare.add_argument("--layers", help="comma-separated layers: one column per layer, for the "
                                          "first class")
    compare.add_argument("--no-metrics", action="store_true", help="skip the metrics (faster)")
    _explain_options(compare)
    compare.add_argument("--alpha", type=float, default=0.5)
    compare.add_argument("--cmap", default="jet")
    _output_options(compare)
    _report_parser(commands)
    kernels = command("kernels", "kernels and weight histograms of a convolution", image=False)
    kernels.add_argument("--layer", required=True)
    _output_options(kernels)
    return parser


def _filters_options(sub: argparse.ArgumentParser) -> None:
    from convviz_gui.engine.featurevis.settings import OBJECTIVES, START_MODES

    sub.add_argument("--layer", help="the layer (not needed with --objective class)")
    sub.add_argument("--filters", default="0-63",
                     help="e.g. 0-63 or 0,4,8-15 (units or classes with those objectives)")
    sub.add_argument("--style", choices=("reference", "clear"), default="reference",
                     help="reference: the book's gradient ascent; clear: Lucid-style images in "
                          "the model's input range (Olah et al. 2017)")
    sub.add_argument("--objective", choices=OBJECTIVES, default="channel",
                     help="clear style: a channel, its centre neuron, a unit of a flat layer "
                          "(Dense), or a class logit of the output layer")
    sub.add_argument("--negative", action="store_true", help="clear style: minimize the target")
    sub.add_argument("--steps", type=int, help="default: 30 (reference), 256 (clear)")
    sub.add_argument("--lr", type=float, help="default: 10 (reference), Adam 0.05 (clear)")
    sub.add_argument("--size", type=int,
                     help="pattern size in pixels (default: 200; the model's own with --objective class)")
    sub.add_argument("--batch-size", type=int, default=None,
                     help="filters optimized together (default: chosen from the image size)")
    sub.add_argument("--variants", type=int, default=1, help="clear style: images per filter")
    sub.add_argument("--diversity", type=float, default=0.0,
                     help="clear style: weight against similar variants (try 1)")
    sub.add_argument("--tv", type=float, default=0.0, help="clear style: total-variation weight")
    sub.add_argument("--l2", type=float, default=0.0, help="clear style: L2 weight")
    sub.add_argument("--blur", type=float, default=0.0, help="clear style: blur weight")
    sub.add_argument("--no-transforms", action="store_true",
                     help="clear style: no random pad, jitter, scale and rotation")
    sub.add_argument("--no-decorrelate", action="store_true",
                     help="clear style: optimize RGB directly (no ImageNet colour decorrelation)")
    sub.add_argument("--preprocess", choices=list(PRESETS),
                     help="the preset the grey start (and the clear style's pixels) go through "
                          "(default: the model's)")
    sub.add_argument("--start", choices=START_MODES, default="grey",
                     help="reference style's start: grey (default: pixels 102-153 through the "
                          "preprocessing), or the book's in model units: reference U[0.4, 0.6], "
                          "centered (U - 0.5) * 0.25")
    sub.add_argument("--seed", type=int, default=0, help="random start (default: 0)")
    sub.add_argument("--patterns-dir", type=Path, help="write one PNG per filter, named by its index")


def _report_parser(commands: Any) -> None:
    """``convviz report MODEL FOLDER_OR_FILES... --out report.html|pdf``."""
    sub = commands.add_parser("report", help="explain every image of folders or files in one "
                                             "HTML or PDF report")
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
    _explain_options(sub, unnormalized=False)
    sub.add_argument("--alpha", type=float, default=0.4)
    sub.add_argument("--cmap", default="jet")
    sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _model_options(sub)


def _model_options(sub: argparse.ArgumentParser) -> None:
    """How the model is opened: the code it runs, consent, and which output is explained."""
    sub.add_argument("--trust-model-code", action="store_true",
                     help="allow running code: Lambda layers in the model file, --model-code")
    sub.add_argument("--model-code", action="append", default=[], metavar="FILE.py|MODULE",
                     help="Python file or importable module defining the model's custom layers, "
                          "functions or model class; repeatable; remembered next to the model")
    sub.add_argument("--output", default="",
                     help="the output explained, by name or index, for a model with several "
                          "(default: the remembered one, else the classifier head)")


def _model_ref(args: argparse.Namespace) -> Any:
    """The model to open, with its code files made absolute (the engine may run elsewhere)."""
    from convviz_gui.engine.model_code import is_code_file
    from convviz_gui.ops.messages import ModelRef

    code = tuple(os.path.abspath(entry) if is_code_file(entry) else entry
                 for entry in args.model_code)
    return ModelRef(args.model, args.trust_model_code, args.output, code)


def _output_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--out", type=Path, help="save the figure (.png, .svg or .pdf)")
    sub.add_argument("--dpi", type=int, default=150)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (2 on any error, 1 when the reader of its
    output went away, as in ``convviz inspect demo | head -1``)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python's recipe (docs of the signal module, "Note on SIGPIPE"): no traceback, and
        # stdout goes to devnull so that its flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    from convviz_gui.engine.models import UnsafeModelError

    args = build_parser().parse_args(argv)
    try:
        payload, text = _run(args)
    except UnsafeModelError as exc:
        print(f"convviz: error: {exc} Add --trust-model-code to run it.", file=sys.stderr)
        return 2
    except ConvVizError as exc:
        print(f"convviz: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convviz: error: interrupted", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"convviz: error: unexpected {type(exc).__name__}: {first[:300]}", file=sys.stderr)
        return 2
    print(json.dumps(payload) if args.json else text, flush=True)
    return 0


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.messages import OpenModel
    from convviz_gui.ops.operations import run

    context = OpContext(Workspace(), _progress_printer(args))
    if args.command == "report":  # its output suffix is checked before the model loads
        return _report(args, context)
    model = run(OpenModel(_model_ref(args)), context)
    handler = {"inspect": _inspect, "predict": _predict, "activations": _activations,
               "filters": _filters, "gradcam": _gradcam, "kernels": _kernels,
               "compare": _compare}[args.command]
    return handler(model, args, context)


def _progress_printer(args: argparse.Namespace):
    """Progress on stderr (a percentage line) when it is a terminal and no JSON is asked."""
    show = not args.json and sys.stderr.isatty() and args.command in ("filters", "gradcam",
                                                                        "compare", "report")

    def report(progress: Any) -> None:
        if show and hasattr(progress, "fraction"):
            print(f"\r{progress.fraction:6.1%}", end="", file=sys.stderr, flush=True)

    return report


def _end_progress(args: argparse.Namespace) -> None:
    """End the progress line (batched explanations print one)."""
    if not args.json and sys.stderr.isatty():
        print("\r" + " " * 8 + "\r", end="", file=sys.stderr, flush=True)


def _save(result: Any, args: argparse.Namespace, context: Any, style: Any = None) -> str:
    """``--out``: the figure saved by the same operation as the window's File > Export."""
    from convviz_gui.ops.messages import ExportFigure, FigureStyle
    from convviz_gui.ops.operations import run

    if args.out is None:
        return ""
    saved = run(ExportFigure(result, str(args.out), style or FigureStyle(), args.dpi), context)
    return f"\nsaved {saved.paths[0]}"


def _image(args: argparse.Namespace) -> Any:
    from convviz_gui.ops.messages import ImageRef

    return ImageRef(args.image, args.fit)


def _inspect(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.engine.layers import iter_layers

    summary = model.to_dict()
    lines = [f"{model.name}: input {summary['input_shape']}, output {summary['output_shape']} "
             f"({summary['output_kind']}, {summary['classes']} classes), "
             f"{summary['params']:,} parameters, preprocessing {model.preset}"
             + (f", saved by {model.saved_by}" if model.saved_by else "")]
    for node in iter_layers(list(model.layer_tree)):
        indent = "  " * (len(node.path) - 1)
        mark = "*" if node.spatial and not node.is_container else " "
        kind = f"{node.class_name} (op)" if node.operation else node.class_name
        lines.append(f"{mark} {indent}{node.name:<34} {kind:<24} "
                     f"{str(node.output_shape):<24} {node.params:>10,}")
    lines.append(f"(* spatial output; default CAM layer {summary['default_cam_layer_reason']})")
    if len(model.outputs) > 1:
        lines.append("outputs: " + "; ".join(output.describe() for output in model.outputs))
    lines.append(f"preprocessing {model.preset}: {model.preset_source}")
    lines.extend(summary["notes"])
    return summary, "\n".join(lines)


def _predict(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.ops.messages import Predict
    from convviz_gui.ops.operations import run

    result = run(Predict(model.ref, _image(args), args.preprocess, args.top), context)
    output = model.output
    payload = {"model": result.model_name, "image": result.image_name,
               "output": output.name if output else None, "output_kind": model.output_kind,
               "predictions": [p.to_dict() for p in result.predictions]}
    lines = [f"{p.score:8.4f}  {p.index:>4}  {p.label}"
             + (f"  ({p.describe_extra()})" if p.extra else "") for p in result.predictions]
    binary = model.output_kind == "segmentation" and model.class_count == 1
    how = "share of the pixels predicted positive (probability > 0.5):" if binary else \
        HOW_SCORES_READ.get(model.output_kind)
    if how:
        lines.insert(0, how)
    return payload, "\n".join(lines)


# What the numbers of ``predict`` are, where they are not class probabilities.
HOW_SCORES_READ = {
    "segmentation": "share of the pixels predicted as each class:",
    "features": "mean activation of the output's channels (a feature map, not classes):",
    "regression": "raw values of the regression outputs:",
}


def _layer_path(name: str) -> tuple[str, ...]:
    return tuple(part for part in name.split("/") if part) or (name,)


def _activations(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.ops.messages import Activations, FigureStyle
    from convviz_gui.ops.operations import run

    request = Activations(model.ref, _image(args), _layer_path(args.layer), args.preprocess)
    result = run(request, context)
    acts = result.activations
    stats = acts.stats()
    payload = {"layer": acts.name, "shape": [1, *acts.values.shape],
               "channels": [{"index": s.index, "mean": s.mean, "max": s.max, "blank": s.blank}
                            for s in stats]}
    blank = sum(s.blank for s in stats)
    text = f"{acts.name}: shape {payload['shape']}, {blank} blank channels of {len(stats)}"
    text += _save(result, args, context, FigureStyle(cmap=args.cmap))
    return payload, text


def _filters(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.engine.featurevis.settings import ClearSettings, FilterSettings
    from convviz_gui.engine.featurevis.targeting import ONE, choose_filters, class_objective_size
    from convviz_gui.ops.messages import Filters
    from convviz_gui.ops.operations import run

    if args.layer is None and args.objective != "class":
        raise ConvVizError("Choose a layer with --layer (only --objective class needs none).")
    clear = ClearSettings(objective=args.objective, negative=args.negative,
                          decorrelate=not args.no_decorrelate, transforms=not args.no_transforms,
                          total_variation=args.tv, l2=args.l2, blur=args.blur,
                          variants=args.variants, diversity=args.diversity)
    if args.style == "clear" and args.start != "grey":
        raise ConvVizError("--start chooses the reference style's start image; the clear style "
                           "starts from grey pixels.")
    if args.style == "reference" and clear != ClearSettings():
        raise ConvVizError("--objective, --negative, --variants, --diversity, --tv, --l2, --blur, "
                           "--no-transforms and --no-decorrelate need --style clear.")
    size = args.size
    if size is None:
        own = class_objective_size(model.input_shape) if args.objective == "class" else None
        size = own or FilterSettings().size
    chosen = {name: value for name, value in (("steps", args.steps), ("learning_rate", args.lr))
              if value is not None}
    settings = FilterSettings.for_style(args.style, size=size, batch_size=args.batch_size,
                                        seed=args.seed, preset=args.preprocess, start=args.start,
                                        **chosen,
                                        **({"clear": clear} if args.style == "clear" else {}))
    layer = _layer_path(args.layer) if args.objective != "class" else ()
    target, indices = choose_filters(model, layer, settings.objective, args.filters)
    request = Filters(model.ref, layer, tuple(indices), settings)
    result = run(request, context)
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    found = result.filters
    note = getattr(found, "size_note", "")
    if note:
        print(f"convviz: note: {note}", file=sys.stderr)
    what = target.counted
    text = (f"{'/'.join(found.layer)}: {len(found.patterns)} {what} in {found.seconds:.1f} s "
            f"({found.seconds / len(found.patterns):.2f} s/{ONE[what]}), "
            f"{args.style} style, {found.optimized} optimized")
    if found.dead:
        text += (f"\n{len(found.dead)} dead (never moved from the start): "
                 f"{', '.join(map(str, sorted(found.dead)))}")
    if found.input_range is not None and found.model_range is not None:
        text += (f"; inputs in [{found.input_range[0]:.3g}, {found.input_range[1]:.3g}], the "
                 f"model's range is [{found.model_range[0]:.3g}, {found.model_range[1]:.3g}]")
    if args.patterns_dir is not None:
        written = _write_patterns(found.patterns, args.patterns_dir)
        text += f"\nwrote {len(written)} PNGs to {args.patterns_dir}"
    text += _save(result, args, context)
    return found.to_dict(), text


def _write_patterns(patterns: dict[int, Any], folder: Path) -> list[Path]:
    """``--patterns-dir``: one PNG per filter, ``<index>.png``, as optimized (uint8)."""
    from PIL import Image

    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for index in sorted(patterns):
            path = folder / f"{index}.png"
            Image.fromarray(patterns[index]).save(path)
            written.append(path)
    except OSError as exc:
        raise ConvVizError(f"Cannot write patterns to {folder}: {exc.strerror or exc}.") from exc
    return written


def _gradcam(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    import numpy as np

    from convviz_gui.ops.messages import Explain, FigureStyle
    from convviz_gui.ops.operations import run

    layer = _layer_path(args.layer) if args.layer else None
    request = Explain(model.ref, _image(args), layer, args.method, args.class_, args.preprocess,
                      score=args.score, target=args.target, region=_region(args.region),
                      options=_method_options(args), metrics=args.metrics)
    result = run(request, context)
    _end_progress(args)
    cam, payload = result.cam, result.to_dict()
    if args.heatmap_npy:
        try:
            np.save(args.heatmap_npy, cam.raw if args.unnormalized else cam.heatmap)
        except OSError as exc:
            raise ConvVizError(f"Cannot write {args.heatmap_npy}: {exc.strerror or exc}.") from exc
    width, height = result.image_size
    text = (f"{cam.method} for {cam.target} ({cam.score:.4f}; {cam.score_kind} "
            f"{cam.explained:.4f}) at {payload['layer']}: heatmap {payload['heatmap_shape']}, "
            f"peak at x={payload['peak_xy'][0]} y={payload['peak_xy'][1]} of {width}x{height}")
    if result.metrics is not None:
        text += "\n" + result.metrics.describe()
    text += _save(result, args, context, FigureStyle(cmap=args.cmap, alpha=args.alpha,
                                                     normalize=not args.unnormalized))
    return payload, text


def _region(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ConvVizError(f"--region takes four fractions x0,y0,x1,y1, not '{text}'.")
    return values


def _explain_options(sub: argparse.ArgumentParser, unnormalized: bool = True) -> None:
    """Options shared by ``gradcam``, ``compare`` and ``report``: the score, and a flag for
    every option the methods declare (``engine.cam.options``), with its help and range."""
    from convviz_gui.engine.cam.options import declared_options

    sub.add_argument("--score", choices=["logit", "probability"], default="logit",
                     help="explain the score before the output's softmax/sigmoid (logit, the "
                          "papers' definition; default) or after it (probability)")
    for option, owners in declared_options():
        special = "" if option.minimum is None else f"{option.minimum:g}"
        checked = {"choices": list(option.choices)} if option.choices else \
            {"type": _option_value(option)}
        sub.add_argument(option.flag, default=option.default,
                         help=option.describe(owners, special).replace("%", "%%"), **checked)
    if not unnormalized:
        return
    sub.add_argument("--unnormalized", action="store_true",
                     help="maps in units of the explained score instead of scaled to [0, 1]")


def _option_value(option: Any) -> Callable[[str], Any]:
    """The argparse ``type`` of a declared number option: converted, then range-checked
    (a bad value is one ``convviz: error: argument --FLAG: ...`` line)."""

    def parse(text: str) -> Any:
        try:
            value = option.kind(text)
        except ValueError:
            value = text
        problem = option.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _method_options(args: argparse.Namespace) -> Any:
    """The ``MethodOptions`` of the declared options' flags."""
    from convviz_gui.engine.cam.options import MethodOptions, declared_options

    return MethodOptions(**{option.name: getattr(args, option.name)
                            for option, _ in declared_options()})


def _compare(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.ops.messages import Compare, FigureStyle
    from convviz_gui.ops.operations import run

    def items(text: str | None) -> tuple[str, ...]:
        return tuple(part.strip() for part in (text or "").split(",") if part.strip())

    request = Compare(model.ref, _image(args), items(args.methods), items(args.classes),
                      tuple(_layer_path(layer) for layer in items(args.layers)), args.preprocess,
                      score=args.score, options=_method_options(args), metrics=not args.no_metrics)
    result = run(request, context)
    _end_progress(args)
    payload = result.to_dict()
    lines = [f"{len(result.rows)} methods x {len(result.columns)} {result.axis} in "
             f"{result.seconds:.1f} s"]
    for method, row in zip(result.rows, payload["cells"]):
        for column, cell in zip(result.columns, row):
            numbers = cell.get("metrics")
            metrics = (f"  deletion {numbers['deletion_auc']:.3f} insertion "
                       f"{numbers['insertion_auc']:.3f} drop {numbers['average_drop']:.1%}"
                       if numbers else "")
            lines.append(f"  {method:<22} {column:<24} peak {tuple(cell['peak_xy'])}{metrics}")
    text = "\n".join(lines) + _save(result, args, context, FigureStyle(
        cmap=args.cmap, alpha=args.alpha, normalize=not args.unnormalized))
    return payload, text


def _report(args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.ops.messages import BatchReport
    from convviz_gui.ops.operations import run

    request = BatchReport(_model_ref(args), tuple(args.inputs),
                          str(args.out), args.recursive, args.class_, args.method,
                          _layer_path(args.layer) if args.layer else None, args.preprocess,
                          args.fit, args.top, args.score, _method_options(args), args.metrics,
                          args.cmap, args.alpha)
    result = run(request, context)
    _end_progress(args)
    lines = [f"wrote {result.path}: {len(result.images)} images, {len(result.skipped)} skipped, "
             f"{result.method} at {result.layer}, {result.seconds:.1f} s"]
    lines += [f"  skipped {path}: {reason}" for path, reason in result.skipped]
    return result.to_dict(), "\n".join(lines)


def _kernels(model: Any, args: argparse.Namespace, context: Any) -> tuple[dict, str]:
    from convviz_gui.ops.messages import Kernels
    from convviz_gui.ops.operations import run

    result = run(Kernels(model.ref, _layer_path(args.layer)), context)
    payload = result.to_dict()
    lines = [f"{payload['layer']} ({payload['class']}): kernel {payload['shape']}, "
             f"{payload['input_channels']} input channel{'s' * (payload['input_channels'] != 1)}"]
    lines += [f"  {w['name']:<18} {str(w['shape']):<18} {w['count']:>10,} values  "
              f"mean {w['mean']:.4g}  std {w['std']:.4g}  min {w['min']:.4g}  max {w['max']:.4g}"
              for w in payload["weights"] if w["mean"] is not None]
    return payload, "\n".join(lines) + _save(result, args, context)


if __name__ == "__main__":
    raise SystemExit(main())
