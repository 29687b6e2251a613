"""``convviz gradcam`` (one explanation of an image) and ``convviz compare`` (a grid of
methods x classes or layers, with their faithfulness metrics)."""

from __future__ import annotations

import argparse
from pathlib import Path

from convviz_gui.cli.common import (
    Command,
    Output,
    add_model_arguments,
    add_output_options,
    end_progress,
    image_ref,
    layer_path,
    opened_model,
    save_out,
)
from convviz_gui.cli.explain_options import add_explain_options, method_options
from convviz_gui.engine.cam.registry import CAM_METHODS, method_class, method_keys
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.ops.context import OpContext


def gradcam_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz gradcam MODEL IMAGE [--method] [--class] [--layer] [--target] [--out]``."""
    add_model_arguments(sub, image=True)
    sub.add_argument("--class", dest="class_", help="class index or label (default: top)")
    sub.add_argument("--layer", help="target layer (default: last spatial layer)")
    sub.add_argument("--method", default="gradcam",
                     help=f"one of {', '.join(method_keys())} (any case; display names too)")
    add_explain_options(sub)
    sub.add_argument("--metrics", action="store_true",
                     help="add deletion/insertion AUC and Average Drop/Increase")
    sub.add_argument("--target", default="class", choices=["class", "counterfactual", "unit",
                                                            "regression", "region"],
                     help="what is explained: the class score (default), its negative "
                          "(counterfactual), one sigmoid unit, a regression output, or a "
                          "segmentation region (--region, else the pixels predicted as it)")
    sub.add_argument("--region", help="segmentation rectangle x0,y0,x1,y1 in fractions of "
                                      "the input, e.g. 0.1,0.1,0.5,0.6")
    sub.add_argument("--alpha", type=float, default=0.4)
    sub.add_argument("--cmap", default="jet")
    sub.add_argument("--heatmap-npy", type=Path,
                     help="save the method's map as .npy (layer resolution for CAMs, input "
                          "resolution for pixel methods; in [0, 1] unless --unnormalized)")
    add_output_options(sub)


def gradcam(args: argparse.Namespace, context: OpContext) -> Output:
    """The explained target, its score and the map's peak (and metrics); the overlay saved
    with ``--out``, the map with ``--heatmap-npy``."""
    import numpy as np

    from convviz_gui.ops.explain import Explain, ExplainSpec
    from convviz_gui.ops.export import FigureStyle
    from convviz_gui.ops.registry import run, to_json

    check_sign(args.method, args.sign)
    model = opened_model(args, context)
    layer = layer_path(args.layer) if args.layer else None
    request = Explain(model.ref, image_ref(args), ExplainSpec(
        args.method, layer, args.class_, args.preprocess, score=args.score, target=args.target,
        region=region(args.region), options=method_options(args), metrics=args.metrics))
    result = run(request, context)
    end_progress(args)
    cam, payload = result.cam, to_json(result)
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
    text += save_out(result, args, context, FigureStyle(cmap=args.cmap, alpha=args.alpha,
                                                        normalize=not args.unnormalized))
    return payload, text


def check_sign(method: str, sign: str) -> None:
    """``--sign signed`` for a method whose map has no meaningful sign is refused: drawn
    positive, the figure would not be what was asked for."""
    cls = method_class(method)
    if sign == "signed" and not cls.sign_default:
        offered = ", ".join(other.key for other in CAM_METHODS.values() if other.sign_default)
        raise ConvVizError(f"{cls.name}'s map has no sign that speaks for or against the target "
                           f"(it is never negative, or class-agnostic); --sign signed is for "
                           f"{offered}.")


def region(text: str | None) -> tuple[float, float, float, float] | None:
    """``--region x0,y0,x1,y1`` as four fractions (None without it)."""
    if not text:
        return None
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ConvVizError(f"--region takes four fractions x0,y0,x1,y1, not '{text}'.")
    return values


def compare_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz compare MODEL IMAGE [--methods] [--classes | --layers] [--out]``."""
    add_model_arguments(sub, image=True)
    sub.add_argument("--methods", default="gradcam,scorecam",
                     help="comma-separated methods, e.g. gradcam,scorecam,integrated-gradients")
    sub.add_argument("--classes", help="comma-separated labels or indices (default: the top 2)")
    sub.add_argument("--layers", help="comma-separated layers: one column per layer, for the "
                                      "first class")
    sub.add_argument("--no-metrics", action="store_true", help="skip the metrics (faster)")
    add_explain_options(sub)
    sub.add_argument("--alpha", type=float, default=0.5)
    sub.add_argument("--cmap", default="jet")
    add_output_options(sub)


def compare(args: argparse.Namespace, context: OpContext) -> Output:
    """Each cell's peak and metrics; the grid saved with ``--out``."""
    from convviz_gui.ops.compare import Compare
    from convviz_gui.ops.explain import ExplainSpec
    from convviz_gui.ops.export import FigureStyle
    from convviz_gui.ops.registry import run, to_json

    def items(text: str | None) -> tuple[str, ...]:
        return tuple(part.strip() for part in (text or "").split(",") if part.strip())

    model = opened_model(args, context)
    request = Compare(model.ref, image_ref(args), items(args.methods), items(args.classes),
                      tuple(layer_path(layer) for layer in items(args.layers)),
                      spec=ExplainSpec(preset=args.preprocess, score=args.score,
                                       options=method_options(args), metrics=not args.no_metrics))
    result = run(request, context)
    end_progress(args)
    payload = to_json(result)
    lines = [f"{len(result.rows)} methods x {len(result.columns)} {result.axis} in "
             f"{result.seconds:.1f} s"]
    for method, row in zip(result.rows, payload["cells"]):
        for column, cell in zip(result.columns, row):
            numbers = cell.get("metrics")
            metrics = (f"  deletion {numbers['deletion_auc']:.3f} insertion "
                       f"{numbers['insertion_auc']:.3f} drop {numbers['average_drop']:.1%}"
                       if numbers else "")
            lines.append(f"  {method:<22} {column:<24} peak {tuple(cell['peak_xy'])}{metrics}")
    text = "\n".join(lines) + save_out(result, args, context, FigureStyle(
        cmap=args.cmap, alpha=args.alpha, normalize=not args.unnormalized))
    return payload, text


GRADCAM = Command("gradcam", "class activation heatmap or pixel attribution", gradcam_arguments,
                  gradcam, progress=True)
COMPARE = Command("compare", "grid of explanations: methods x classes (or x layers), each with "
                             "its faithfulness metrics", compare_arguments, compare, progress=True)
