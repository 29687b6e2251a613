"""``convviz kernels``: the kernels and weight statistics of a convolution."""

from __future__ import annotations

import argparse

from convviz_gui.cli.common import (
    Command,
    Output,
    add_model_arguments,
    add_output_options,
    layer_path,
    opened_model,
    save_out,
)
from convviz_gui.ops.context import OpContext


def kernels_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz kernels MODEL --layer NAME [--out]``."""
    add_model_arguments(sub, image=False)
    sub.add_argument("--layer", required=True)
    add_output_options(sub)


def kernels(args: argparse.Namespace, context: OpContext) -> Output:
    """Each weight array's shape and statistics; the kernels drawn with ``--out``."""
    from convviz_gui.ops.export import Kernels
    from convviz_gui.ops.registry import run, to_json

    model = opened_model(args, context)
    result = run(Kernels(model.ref, layer_path(args.layer)), context)
    payload = to_json(result)
    lines = [f"{payload['layer']} ({payload['class']}): kernel {payload['shape']}, "
             f"{payload['input_channels']} input channel{'s' * (payload['input_channels'] != 1)}"]
    lines += [f"  {w['name']:<18} {str(w['shape']):<18} {w['count']:>10,} values  "
              f"mean {w['mean']:.4g}  std {w['std']:.4g}  min {w['min']:.4g}  max {w['max']:.4g}"
              for w in payload["weights"] if w["mean"] is not None]
    return payload, "\n".join(lines) + save_out(result, args, context)


KERNELS = Command("kernels", "kernels and weight histograms of a convolution", kernels_arguments,
                  kernels)
