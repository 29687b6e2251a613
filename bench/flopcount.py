"""Arithmetic counted per layer from a Keras graph (no TensorFlow needed): what the
benchmarks divide by time to give GFLOP/s. Not product code.

One multiply-add = 2 FLOPs, for the layers that do arithmetic per weight, at their output
size: Conv2D ``2*kh*kw*cin/groups*cout*h*w``, DepthwiseConv2D ``2*kh*kw*cin*multiplier*h*w``,
SeparableConv2D (its depthwise and pointwise parts), Dense ``2*in*out``. Batch
normalization, activations, pooling and additions do a few FLOPs per value they move and
are not counted (memory traffic, not arithmetic). A gradient w.r.t. a convolution's INPUT
costs what its forward pass costs, so an ascent step (forward + input gradient, never the
kernel gradient) costs ``STEP_FACTOR`` times the forward count.
"""

from __future__ import annotations

import math
from typing import Any

STEP_FACTOR = 2  # an ascent step: forward + input-gradient backward (no kernel gradient)
KINDS = ("dense", "depthwise")  # many FLOPs per value moved / a few (memory-bound)


def layer_flops(layer: Any, in_shape: tuple, out_shape: tuple) -> dict[str, float]:
    """Forward FLOPs of one image through ``layer`` called on ``in_shape`` giving
    ``out_shape``, by kind (``KINDS``): ``dense`` for Conv2D, pointwise and Dense,
    ``depthwise``; {} for layers counted as free or of unknown size."""
    if any(side is None for side in (*out_shape[1:], in_shape[-1])):
        return {}
    kind = type(layer).__name__
    cin, cout = int(in_shape[-1]), int(out_shape[-1])
    pixels = float(math.prod(int(side) for side in out_shape[1:-1]))
    kernel = math.prod(getattr(layer, "kernel_size", (1,)))
    if kind == "Conv2D":
        return {"dense": 2.0 * kernel * cin / layer.groups * cout * pixels}
    if kind == "DepthwiseConv2D":
        return {"depthwise": 2.0 * kernel * cout * pixels}
    if kind == "SeparableConv2D":
        middle = cin * layer.depth_multiplier
        return {"depthwise": 2.0 * kernel * middle * pixels, "dense": 2.0 * middle * cout * pixels}
    if kind == "Dense":
        return {"dense": 2.0 * cin * cout * pixels}
    return {}


def model_flops(model: Any) -> dict[str, float]:
    """Forward FLOPs of one image through a functional Keras ``model`` (every call of every
    layer in its graph, at this graph's shapes; nested models included), by kind and
    ``total``."""
    counts = dict.fromkeys(KINDS, 0.0)
    for nodes in getattr(model, "_nodes_by_depth", {}).values():
        for node in nodes:
            if not node.input_tensors or not node.output_tensors:
                continue  # an input
            operation = node.operation
            found = (model_flops(operation) if hasattr(operation, "_nodes_by_depth") else
                     layer_flops(operation, tuple(node.input_tensors[0].shape),
                                 tuple(node.output_tensors[0].shape)))
            for kind in KINDS:
                counts[kind] += found.get(kind, 0.0)
    counts["total"] = sum(counts[kind] for kind in KINDS)
    return counts


def target_flops(layer: Any, in_shape: tuple, out_shape: tuple, filters: int) -> dict[str, float]:
    """Forward FLOPs of one image through a Conv2D/SeparableConv2D target computing only
    ``filters`` of its channels (the chosen-channel shortcut), by kind and ``total``."""
    full = layer_flops(layer, in_shape, out_shape)
    share = filters / int(out_shape[-1])
    counts = {"dense": full.get("dense", 0.0) * share, "depthwise": full.get("depthwise", 0.0)}
    counts["total"] = sum(counts.values())
    return counts
