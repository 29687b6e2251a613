"""``convviz sanity``: does the method's map depend on the model's weights? (cascading
randomization, Adebayo et al. 2018)."""

from __future__ import annotations

import argparse

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
from convviz_gui.engine.cam.registry import method_keys
from convviz_gui.ops.context import OpContext


def sanity_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz sanity MODEL IMAGE [--method] [--class] [--layer] [--seed] [--out]``."""
    add_model_arguments(sub, image=True)
    sub.add_argument("--method", default="gradcam",
                     help=f"the method checked: one of {', '.join(method_keys())} (default: gradcam)")
    sub.add_argument("--class", dest="class_", help="class index or label (default: the trained "
                                                    "model's top prediction)")
    sub.add_argument("--layer", help="the CAM layer (default: last spatial layer); the same "
                                     "layer in every randomized copy")
    sub.add_argument("--seed", type=int, default=0, help="seed of the new weights (default: 0)")
    add_explain_options(sub, unnormalized=False)
    sub.add_argument("--cmap", default="", help="colour map of the maps (default: gray, as "
                                                 "the paper draws them)")
    add_output_options(sub)


def sanity(args: argparse.Namespace, context: OpContext) -> Output:
    """Spearman and SSIM per randomization step and the verdict; the figure with ``--out``."""
    from convviz_gui.ops.explain import ExplainSpec
    from convviz_gui.ops.export import FigureStyle
    from convviz_gui.ops.registry import run, to_json
    from convviz_gui.ops.sanity import Sanity

    model = opened_model(args, context)
    layer = layer_path(args.layer) if args.layer else None
    request = Sanity(model.ref, image_ref(args), ExplainSpec(
        args.method, layer, args.class_, args.preprocess, score=args.score,
        options=method_options(args)), seed=args.seed)
    result = run(request, context)
    end_progress(args)
    payload = {**to_json(result), "model": args.model, "model_name": result.model_name,
               "image": args.image}
    lines = [f"{result.original.method} for '{result.original.label}' at {result.original.where}: "
             f"{len(result.steps)} steps over {result.weighted_layers} weighted layers in "
             f"{result.seconds:.1f} s", *result.notes,
             f"  {'randomized down to':<44} {'layers':>6} {'Spearman':>9} {'SSIM':>7}"]
    lines += [f"  {step.layer:<44} {step.randomized:>6} {step.spearman:>9.3f} {step.ssim:>7.3f}"
              for step in result.steps]
    lines.append(result.verdict)
    text = "\n".join(lines) + save_out(result, args, context, FigureStyle(cmap=args.cmap))
    return payload, text


SANITY = Command("sanity", "sanity check of a method: its map as the model's weights are "
                           "randomized from the output down", sanity_arguments, sanity,
                 progress=True)
