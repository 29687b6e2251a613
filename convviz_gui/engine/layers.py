"""The layer tree of a Keras model, nested sub-models expanded."""

from __future__ import annotations

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
        return self.output_shape[-1] if self.spatial else None

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


def build_layer_tree(model: Any, prefix: LayerPath = ()) -> list[LayerInfo]:
    """Describe every layer of ``model``, recursing into nested models."""
    nodes = []
    for layer in model.layers:
        path = (*prefix, layer.name)
        node = LayerInfo(
            name=layer.name,
            class_name=type(layer).__name__,
            output_shape=_output_shape(layer),
            params=int(layer.count_params()) if layer.built else 0,
            path=path,
        )
        if _is_container(layer):
            node.children = build_layer_tree(layer, path)
        nodes.append(node)
    return nodes


def iter_layers(tree: list[LayerInfo]):
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


def default_cam_layer(tree: list[LayerInfo], output_layer_name: str | None) -> LayerInfo | None:
    """The last spatial layer before the classifier (reference: ``block14_sepconv2_act``)."""
    candidates = [
        node
        for node in spatial_layers(tree)
        if node.name != output_layer_name and node.class_name not in ("Rescaling", "Resizing")
        and not node.class_name.startswith("Random")
    ]
    if not candidates:
        return None
    return candidates[-1]


def resolve_layer(model: Any, path: LayerPath) -> Any:
    """The Keras layer object at ``path`` inside ``model``."""
    current = model
    for name in path:
        current = current.get_layer(name)
    return current
