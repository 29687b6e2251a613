"""Questions about a model's graph that its list of layers cannot answer.

``model.layers`` lists Keras layers only: the operations that ``preprocess_input(x)`` or
``x / 127.5 - 1`` add to a functional model (``GetItem``, ``Subtract``, ``Add``...) are
missing from it, and nothing in it says which layers an output depends on. These functions
walk the graph itself (each Keras tensor's ``_keras_history``), inside nested models too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from convviz_gui.engine.layers import LayerInfo, LayerPath, iter_layers

# What turns 0-255 pixels into the model's own input range when it comes first in the graph.
PREPROCESSING_CLASSES = frozenset({
    "Rescaling", "Normalization", "GetItem", "Stack", "Add", "Subtract", "Multiply", "Divide",
    "TrueDivide", "Cast", "Concatenate", "Flip", "Reverse", "Clip", "Power", "Sqrt",
    "TFOp",  # a tf-keras TFOpLambda (preprocess_input, x / 127.5 - 1) as engine.tf_ops runs it
})
LEARNED_CLASSES = frozenset({"Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose",
                             "Convolution2D", "Dense", "BatchNormalization"})


def _nested_graph(operation: Any) -> bool:
    return bool(getattr(operation, "outputs", None)) and hasattr(operation, "layers")


def ancestor_paths(model: Any, output_index: int = 0) -> set[LayerPath]:
    """Paths of every layer or operation that output ``output_index`` depends on (nested
    models and the layers inside them included)."""
    found: set[LayerPath] = set()
    seen: set[tuple[int, int, LayerPath]] = set()
    stack: list[tuple[Any, LayerPath]] = [(model.outputs[output_index], ())]
    while stack:
        tensor, prefix = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        operation = history.operation
        key = (id(operation), history.node_index, prefix)
        if key in seen:
            continue
        seen.add(key)
        path = (*prefix, operation.name)
        found.add(path)
        if _nested_graph(operation):
            stack.append((operation.outputs[history.tensor_index], path))
        nodes = getattr(operation, "_inbound_nodes", [])
        if history.node_index < len(nodes):
            stack.extend((parent, prefix) for parent in nodes[history.node_index].input_tensors)
    return found


def input_preprocessing(tree: list[LayerInfo]) -> list[LayerInfo]:
    """The layers and operations that rescale or reorder the pixels before the model's first
    learned layer (Rescaling, Normalization, or the arithmetic of ``preprocess_input``)."""
    found = []
    for node in _leaves(tree):
        if node.class_name in LEARNED_CLASSES:
            break
        if node.class_name in PREPROCESSING_CLASSES:
            found.append(node)
    return found


def _leaves(tree: list[LayerInfo]) -> Iterator[LayerInfo]:
    return (node for node in iter_layers(tree) if not node.is_container)


def reduced_precision_policy(model: Any) -> str | None:
    """The dtype policy of the first layer (nested ones too) that computes in float16 or
    bfloat16, e.g. ``mixed_float16``; None for a float32 model."""
    for layer in _all_layers(model):
        policy = getattr(layer, "dtype_policy", None)
        if getattr(policy, "compute_dtype", "float32") in ("float16", "bfloat16"):
            return str(getattr(policy, "name", policy))
    return None


def _all_layers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _float32_config(value: Any) -> Any:
    """A model config with every dtype policy replaced by float32."""
    if isinstance(value, dict):
        if value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
            return {**value, "config": {**value.get("config", {}), "name": "float32"}}
        return {key: (_float32_config(item) if key != "dtype" or not isinstance(item, str)
                      else _float32_dtype(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_float32_config(item) for item in value]
    return value


def _float32_dtype(name: str) -> str:
    return "float32" if name in ("float16", "bfloat16", "mixed_float16", "mixed_bfloat16") else name


def float32_copy(model: Any) -> Any:
    """The same model computing in float32 (same layers and weights, cast once): explained
    scores, gradients and metrics of a ``mixed_float16`` model are then float32 throughout,
    as the methods' equations assume."""
    copy = type(model).from_config(_float32_config(model.get_config()))
    copy.set_weights([weights.astype("float32") if weights.dtype.kind == "f" else weights
                      for weights in model.get_weights()])
    return copy
