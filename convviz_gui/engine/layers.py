"""The layer tree of a Keras model, nested sub-models expanded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

LayerPath = tuple[str, ...]

CONV_CLASSES = frozenset(
    {"Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "Convolution2D"}
)


@dataclass
class LayerInfo:
    """One layer as the tree and the CLI show it."""

    name: str
    class_name: str
    output_shape: tuple[int | None, ...] | None
    params: int
    path: LayerPath  # names from the outer model down to this layer
    children: list[LayerInfo] = field(default_factory=list)
    operation: bool = False  # a graph operation that is not a layer (e.g. ``x - mean``)
    keras_class: str = ""  # a custom layer's nearest Keras base class (GainConv: Conv2D)

    @property
    def spatial(self) -> bool:
        """True for (batch, height, width, channels) outputs: eligible for every view."""
        return (
            self.class_name != "InputLayer"
            and self.output_shape is not None
            and len(self.output_shape) == 4
        )

    @property
    def channels(self) -> int | None:
        """Channel count of a spatial output."""
        return self.output_shape[-1] if self.spatial and self.output_shape else None

    @property
    def is_container(self) -> bool:
        """True for a nested Sequential or Functional model."""
        return bool(self.children)

    @property
    def display_path(self) -> str:
        """Slash-joined path, e.g. ``mobilenetv2/block_1_expand``."""
        return "/".join(self.path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (without children)."""
        return {
            "name": self.name,
            "class": self.class_name,
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "params": self.params,
            "path": list(self.path),
            "spatial": self.spatial,
            **({"operation": True} if self.operation else {}),
        }


def _output_shape(layer: Any) -> tuple[int | None, ...] | None:
    try:
        output = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(output, (list, tuple)):
        if not output:
            return None
        output = output[0]
    shape = getattr(output, "shape", None)
    return tuple(None if dim is None else int(dim) for dim in shape) if shape is not None else None


def _is_container(layer: Any) -> bool:
    return hasattr(layer, "layers") and isinstance(getattr(layer, "layers", None), list)


def _keras_base(layer: Any) -> str:
    """The nearest Keras class of a layer defined outside Keras ("" for Keras' own)."""
    if type(layer).__module__.split(".")[0] == "keras":
        return ""
    return next((cls.__name__ for cls in type(layer).__mro__
                 if cls.__module__.split(".")[0] == "keras"), "")


def build_layer_tree(model: Any, prefix: LayerPath = ()) -> list[LayerInfo]:
    """Describe every layer of ``model``, recursing into nested models. A functional model's
    operations that are not layers (the arithmetic ``preprocess_input`` adds) are listed too,
    with ``operation`` set."""
    nodes = []
    for layer in getattr(model, "operations", None) or model.layers:
        path = (*prefix, layer.name)
        is_layer = hasattr(layer, "count_params")
        node = LayerInfo(
            name=layer.name,
            class_name=type(layer).__name__,
            output_shape=_output_shape(layer),
            params=int(layer.count_params()) if is_layer and layer.built else 0,
            path=path,
            operation=not is_layer,
            keras_class=_keras_base(layer),
        )
        if _is_container(layer):
            node.children = build_layer_tree(layer, path)
        nodes.append(node)
    return nodes


def iter_layers(tree: list[LayerInfo]) -> Iterator[LayerInfo]:
    """Depth-first walk over every node of the tree, containers before their children."""
    for node in tree:
        yield node
        yield from iter_layers(node.children)


def find_layer(tree: list[LayerInfo], name_or_path: str) -> LayerInfo | None:
    """Find a layer by slash path (``base/block_1_expand``) or by unique name at any depth."""
    wanted = tuple(part for part in name_or_path.split("/") if part)
    matches = [node for node in iter_layers(tree) if node.path == wanted]
    if matches:
        return matches[0]
    matches = [node for node in iter_layers(tree) if node.name == name_or_path]
    return matches[0] if matches else None


def spatial_layers(tree: list[LayerInfo]) -> list[LayerInfo]:
    """Leaf layers with spatial output, in model order."""
    return [node for node in iter_layers(tree) if node.spatial and not node.is_container]


# What a class activation map may be read from: a convolution, or what normalizes,
# activates or merges convolution outputs (ResNet's ``conv5_block3_out`` is an Add + ReLU).
CAM_CLASSES = CONV_CLASSES | frozenset({
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU",
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "Add", "Concatenate", "Multiply", "Average", "Maximum",
})


@dataclass(frozen=True)
class CamLayerChoice:
    """The default layer of the class activation maps, and why it was chosen."""

    layer: LayerInfo | None
    reason: str


def _rejection(node: LayerInfo, ancestors: set[LayerPath] | None, output_name: str | None
               ) -> str | None:
    """Why ``node`` cannot be the default CAM layer (None: it can)."""
    height, width = (node.output_shape or (None, None, None))[1:3]
    if ancestors is not None and node.path not in ancestors:
        return f"not on the path to the output '{output_name}'"
    if node.name == output_name:
        return "the output layer itself"
    if height == 1 or width == 1:
        return f"a {height}x{width} output"
    if node.class_name not in CAM_CLASSES and node.keras_class not in CAM_CLASSES:
        return f"a {node.class_name} layer"
    return None


def choose_cam_layer(tree: list[LayerInfo], output_name: str | None,
                     ancestors: set[LayerPath] | None = None) -> CamLayerChoice:
    """The last spatial layer (height and width > 1) that the explained output depends on
    and that is a convolution or its activation, normalization or merge; never a Permute,
    Reshape, Flatten, pooling or Dense, whose maps are transposed, coarser or not maps.

    Args:
        tree: the model's layer tree.
        output_name: the layer that produces the explained output.
        ancestors: the paths the explained output depends on (None: all of them).
    """
    skipped: list[str] = []
    for node in reversed(spatial_layers(tree)):
        why_not = _rejection(node, ancestors, output_name)
        if why_not is None:
            height, width = (node.output_shape or (None, None, None))[1:3]
            size = "x".join("?" if dim is None else str(dim) for dim in (height, width))
            reason = (f"{node.name}: the last {node.class_name} with a spatial ({size}) output "
                      f"that the output '{output_name}' depends on")
            if skipped:
                reason += "; later layers skipped: " + ", ".join(skipped[:3]) + \
                    (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
            return CamLayerChoice(node, reason)
        skipped.append(f"{node.name} ({why_not})")
    return CamLayerChoice(None, "no convolution with a spatial output feeds the explained output")


def resolve_layer(model: Any, path: LayerPath) -> Any:
    """The Keras layer object at ``path`` inside ``model``."""
    current = model
    for name in path:
        try:
            current = current.get_layer(name)
        except ValueError:  # an operation of the graph that is not a layer (``x + y``)
            current = next((operation for operation in getattr(current, "operations", [])
                            if operation.name == name), None)
            if current is None:
                raise
    return current
