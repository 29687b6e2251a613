"""``convviz inspect`` (the layers of a model) and ``convviz predict`` (its top-k answer)."""

from __future__ import annotations

import argparse

from convviz_gui.cli.common import Command, Output, add_model_arguments, image_ref, opened_model
from convviz_gui.ops.context import OpContext

# What the numbers of ``predict`` are, where they are not class probabilities.
HOW_SCORES_READ = {
    "segmentation": "share of the pixels predicted as each class:",
    "features": "mean activation of the output's channels (a feature map, not classes):",
    "regression": "raw values of the regression outputs:",
}


def inspect_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz inspect MODEL``."""
    add_model_arguments(sub, image=False)


def inspect(args: argparse.Namespace, context: OpContext) -> Output:
    """Every layer with its class, output shape and parameters; the model's facts."""
    from convviz_gui.engine.layers import iter_layers
    from convviz_gui.ops.registry import to_json

    model = opened_model(args, context)
    summary = to_json(model)
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


def predict_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz predict MODEL IMAGE [--top K]``."""
    add_model_arguments(sub, image=True)
    sub.add_argument("--top", type=int, default=5)


def predict(args: argparse.Namespace, context: OpContext) -> Output:
    """The top-k classes (or, for other outputs, what their numbers are)."""
    from convviz_gui.ops.model import Predict
    from convviz_gui.ops.registry import run

    model = opened_model(args, context)
    result = run(Predict(model.ref, image_ref(args), args.preprocess, args.top), context)
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


INSPECT = Command("inspect", "list the layers of a model", inspect_arguments, inspect)
PREDICT = Command("predict", "top-k predictions for an image", predict_arguments, predict)
