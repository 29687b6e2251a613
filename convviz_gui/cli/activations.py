"""``convviz activations``: the channel grid of one layer."""

from __future__ import annotations

import argparse

from convviz_gui.cli.common import (
    Command,
    Output,
    add_model_arguments,
    add_output_options,
    image_ref,
    layer_path,
    opened_model,
    save_out,
)
from convviz_gui.ops.context import OpContext


def activations_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz activations MODEL IMAGE --layer NAME [--cmap] [--out]``."""
    add_model_arguments(sub, image=True)
    sub.add_argument("--layer", required=True)
    sub.add_argument("--cmap", default="viridis")
    add_output_options(sub)


def activations(args: argparse.Namespace, context: OpContext) -> Output:
    """The layer's shape and per-channel statistics; the grid saved with ``--out``."""
    from convviz_gui.ops.activations import Activations
    from convviz_gui.ops.export import FigureStyle
    from convviz_gui.ops.registry import run

    model = opened_model(args, context)
    request = Activations(model.ref, image_ref(args), layer_path(args.layer), args.preprocess)
    result = run(request, context)
    acts = result.activations
    stats = acts.stats()
    payload = {"layer": acts.name, "shape": [1, *acts.values.shape],
               "channels": [{"index": s.index, "mean": s.mean, "max": s.max, "blank": s.blank}
                            for s in stats]}
    blank = sum(s.blank for s in stats)
    text = f"{acts.name}: shape {payload['shape']}, {blank} blank channels of {len(stats)}"
    text += save_out(result, args, context, FigureStyle(cmap=args.cmap))
    return payload, text


ACTIVATIONS = Command("activations", "channel grid of one layer", activations_arguments,
                      activations)
