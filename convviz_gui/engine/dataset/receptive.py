"""The receptive field of a layer's units, from the graph: the kernel sizes, dilations,
strides and paddings of the convolutions and poolings between the input and the layer
(Araujo et al. 2019, "Computing receptive fields of convolutional neural networks", Eqs.
1-2), and where a unit's field lies in an image of another size (the ``fit`` inverted).

Per axis a tensor's field is (size, jump, start): one unit sees ``size`` input pixels, the
next unit is ``jump`` pixels further, and unit 0 is centred at ``start`` (input pixel p
spans [p, p + 1), so its centre is p + 0.5). Layers that keep the spatial grid (activations,
normalization, additions, concatenations) take the union of their inputs' fields; a layer
this module does not know that changes the grid makes the field the whole input
(``exact`` False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convviz_gui.engine.layers import LayerPath

KERNEL_LAYERS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Convolution2D")
POOL_LAYERS = ("MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D")


@dataclass(frozen=True)
class Field:
    """Receptive field per axis (y, x): ``size`` and ``jump`` in input pixels, ``start``
    the centre of unit 0 (continuous input coordinates)."""

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    exact: bool = True

    def box(self, row: int, column: int, input_size: tuple[int, int]) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of unit (row, column) in continuous input coordinates, clipped to
        the input (``input_size`` = (height, width))."""
        centre_y = self.start[0] + row * self.jump[0]
        centre_x = self.start[1] + column * self.jump[1]
        height, width = input_size
        return (max(0.0, centre_x - self.size[1] / 2), max(0.0, centre_y - self.size[0] / 2),
                min(float(width), centre_x + self.size[1] / 2),
                min(float(height), centre_y + self.size[0] / 2))

    def centre(self, row: int, column: int) -> tuple[float, float]:
        """(x, y) centre of unit (row, column) in continuous input coordinates."""
        return self.start[1] + column * self.jump[1], self.start[0] + row * self.jump[0]


_INPUT = Field((1.0, 1.0), (1.0, 1.0), (0.5, 0.5))


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _spatial(tensor: Any) -> tuple[int, int] | None:
    shape = tuple(tensor.shape)
    return (shape[1], shape[2]) if len(shape) == 4 and shape[1] and shape[2] else None


def _union(fields: list[Field]) -> Field:
    """The smallest field holding every field of ``fields`` (same grid assumed)."""
    if len(fields) == 1:
        return fields[0]
    size, start = [], []
    for axis in (0, 1):
        low = min(f.start[axis] - f.size[axis] / 2 for f in fields)
        high = max(f.start[axis] + f.size[axis] / 2 for f in fields)
        size.append(high - low)
        start.append((low + high) / 2)
    jump = tuple(max(f.jump[axis] for f in fields) for axis in (0, 1))
    return Field((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]),
                 all(f.exact for f in fields))


def _windowed(before: Field, layer: Any, kernel: tuple[int, int], strides: tuple[int, int],
              dilation: tuple[int, int], in_size: tuple[int, int], out_size: tuple[int, int]) -> Field:
    """The field after a sliding window (TensorFlow's "same" pads (total // 2) first)."""
    size, jump, start = [], [], []
    for axis in (0, 1):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        pad = 0
        if getattr(layer, "padding", "valid") == "same":
            pad = max((out_size[axis] - 1) * strides[axis] + span - in_size[axis], 0) // 2
        size.append(before.size[axis] + (span - 1) * before.jump[axis])
        jump.append(before.jump[axis] * strides[axis])
        start.append(before.start[axis] + ((span - 1) / 2 - pad) * before.jump[axis])
    return Field((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]), before.exact)


def _layer_field(layer: Any, inputs: list[Field], in_tensor: Any, out_tensor: Any,
                 input_size: tuple[int, int]) -> Field:
    """The field of a layer's output from its inputs' fields."""
    name = type(layer).__name__
    in_size, out_size = _spatial(in_tensor), _spatial(out_tensor)
    before = _union(inputs)
    if in_size is None or out_size is None:
        return before
    if name in KERNEL_LAYERS:
        return _windowed(before, layer, _pair(layer.kernel_size), _pair(layer.strides),
                         _pair(getattr(layer, "dilation_rate", 1)), in_size, out_size)
    if name in POOL_LAYERS:
        return _windowed(before, layer, _pair(layer.pool_size), _pair(layer.strides or layer.pool_size),
                         (1, 1), in_size, out_size)
    if name == "ZeroPadding2D":
        (top, _), (left, _) = layer.padding
        return Field(before.size, before.jump, (before.start[0] - top * before.jump[0],
                                                 before.start[1] - left * before.jump[1]), before.exact)
    if name == "Cropping2D":
        (top, _), (left, _) = layer.cropping
        return Field(before.size, before.jump, (before.start[0] + top * before.jump[0],
                                                 before.start[1] + left * before.jump[1]), before.exact)
    if in_size == out_size:
        return before
    jump = (input_size[0] / out_size[0], input_size[1] / out_size[1])  # unknown: the whole input
    return Field((float(input_size[0]), float(input_size[1])), jump,
                 (jump[0] / 2, jump[1] / 2), exact=False)


def _tensor_field(tensor: Any, known: dict[int, Field], input_size: tuple[int, int]) -> Field:
    """The field of a symbolic Keras tensor (``known``: fields by tensor id, memoized)."""
    if id(tensor) in known:
        return known[id(tensor)]
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return _INPUT
    operation = history.operation
    nodes = getattr(operation, "_inbound_nodes", [])
    node = nodes[history.node_index] if history.node_index < len(nodes) else None
    parents = list(node.input_tensors) if node is not None else []
    if not parents:
        found = _INPUT
    else:
        fields = [_tensor_field(parent, known, input_size) for parent in parents]
        if getattr(operation, "outputs", None) and hasattr(operation, "layers"):  # a nested model
            inner = {id(inner_input): field for inner_input, field in zip(operation.inputs, fields)}
            found = _tensor_field(operation.outputs[history.tensor_index], inner, input_size)
        else:
            found = _layer_field(operation, fields, parents[0], tensor, input_size)
    known[id(tensor)] = found
    return found


def receptive_field(model: Any, path: LayerPath) -> Field:
    """The receptive field of the units of the layer at ``path`` (nested models followed)."""
    input_size = _spatial(model.inputs[0]) or (1, 1)
    known: dict[int, Field] = {}
    owner = model
    for depth, name in enumerate(path):
        layer = owner.get_layer(name)
        if depth == len(path) - 1:
            return _tensor_field(layer.output, known, input_size)
        # A nested model: its inputs' fields are those of the tensors it is called on.
        node = layer._inbound_nodes[0]
        fields = [_tensor_field(parent, known, input_size) for parent in node.input_tensors]
        known = {id(inner): field for inner, field in zip(layer.inputs, fields)}
        owner = layer
    raise ValueError("empty layer path")


def input_to_image(x: float, y: float, input_size: tuple[int, int], image_size: tuple[int, int],
                   fit: str = "stretch") -> tuple[float, float]:
    """A point of the model input (continuous pixels; ``input_size`` = (width, height)) in the
    image's own pixels (``image_size`` = (width, height)), inverting ``images.fit_to_input``."""
    in_w, in_h = input_size
    image_w, image_h = image_size
    if fit == "stretch":
        return x * image_w / in_w, y * image_h / in_h
    scale = max(in_w / image_w, in_h / image_h) if fit == "crop" else min(in_w / image_w, in_h / image_h)
    offset_x, offset_y = (in_w - image_w * scale) / 2, (in_h - image_h * scale) / 2
    return (float(np.clip((x - offset_x) / scale, 0, image_w)),
            float(np.clip((y - offset_y) / scale, 0, image_h)))
