"""The model's outputs: what each one is, which one is explained, and a view that puts it first.

A model may have several heads (a list or a dict of outputs: mtcnn's box regression and face
probability, a classifier with an auxiliary head). ConvViz explains one of them; every other
part of the engine reads ``keras_model.outputs[0]``, so the loaded model is replaced by a
*view* of itself whose first output is the chosen one (the other heads stay, in their order,
so their layers remain in the tree). The user's model and its weights are shared, not copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convviz_gui.engine.errors import ConvVizError

KINDS = {
    "classification": "classes (softmax or sigmoid units, or logits)",
    "segmentation": "a class per pixel (softmax or sigmoid channels)",
    "score": "one score",
    "regression": "raw values (a regression head)",
    "features": "a feature map (a backbone without its classifier)",
}


@dataclass(frozen=True)
class ModelOutput:
    """One output of the model, as ConvViz understands it.

    Args:
        index: position in ``model.outputs`` of the file's model.
        name: the output's name (a dict key, else the layer that produces it).
        shape: the output's shape, batch first.
        activation: the activation that ends it: ``softmax``, ``sigmoid``, ``linear``...
        kind: one of ``KINDS``.
    """

    index: int
    name: str
    shape: tuple[int | None, ...]
    activation: str
    kind: str

    def describe(self) -> str:
        """E.g. ``prob (index 1): classification, softmax over 2 units``."""
        units = self.shape[-1] if len(self.shape) > 1 else 1
        shape = "x".join("?" if dim is None else str(dim) for dim in self.shape[1:])
        return (f"{self.name} (index {self.index}): {self.kind}, {self.activation} "
                f"{'over ' + str(units) + ' units' if len(self.shape) == 2 else 'of ' + shape}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"index": self.index, "name": self.name, "shape": list(self.shape),
                "activation": self.activation, "kind": self.kind}


def producing_layer(tensor: Any) -> Any:
    """The layer (or operation) that produces ``tensor``, looking inside nested models."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    operation = history.operation
    while getattr(operation, "outputs", None) and hasattr(operation, "layers"):
        inner = operation.outputs[history.tensor_index]
        history = getattr(inner, "_keras_history", None)
        if history is None:
            break
        operation = history.operation
    return operation


def activation_name(operation: Any) -> str:
    """``softmax``, ``sigmoid``, ``relu``... ending ``operation``; ``linear`` when none."""
    class_name = type(operation).__name__
    if class_name in ("Softmax", "Sigmoid"):  # a Softmax layer, or keras.ops.softmax/sigmoid
        return class_name.lower()
    function = getattr(operation, "activation", None)
    name = getattr(function, "__name__", "") if function is not None else ""
    return name or "linear"


def _output_names(model: Any) -> list[str]:
    import keras

    structure = getattr(model, "_outputs_struct", None)
    if isinstance(structure, dict):  # a dict's keys, in the order Keras flattens them
        return [str(key) for key in keras.tree.flatten({key: key for key in structure})]
    names = list(getattr(model, "output_names", None) or [])
    if len(names) == len(model.outputs):
        return [str(name) for name in names]
    return [getattr(producing_layer(out), "name", f"output_{i}") for i, out in enumerate(model.outputs)]


def _kind(shape: tuple[int | None, ...], activation: str, several: bool,
          labelled: bool) -> str:
    units = shape[-1] if len(shape) > 1 else 1
    if len(shape) == 4:
        return "segmentation" if activation in ("softmax", "sigmoid") or labelled else "features"
    if len(shape) == 2:
        if activation in ("softmax", "sigmoid"):
            return "classification" if (units or 2) > 1 else "score"
        if several:
            return "regression"  # a linear head beside others: box coordinates, landmarks...
        return "score" if units == 1 else "classification"  # one linear head: class logits
    return "regression"


def describe_outputs(model: Any, label_count: int | None = None) -> tuple[ModelOutput, ...]:
    """Every output of ``model``; ``label_count`` (from a labels file) marks a per-pixel
    output of that many channels as segmentation even without an activation."""
    several = len(model.outputs) > 1
    found = []
    for index, (tensor, name) in enumerate(zip(model.outputs, _output_names(model))):
        shape = tuple(None if dim is None else int(dim) for dim in tensor.shape)
        activation = activation_name(producing_layer(tensor))
        labelled = label_count is not None and label_count == shape[-1]
        found.append(ModelOutput(index, name, shape, activation, _kind(shape, activation, several,
                                                                       labelled)))
    return tuple(found)


def choose_output(outputs: tuple[ModelOutput, ...], wanted: str | int | None) -> ModelOutput:
    """The output named or numbered ``wanted``; by default the head that looks most like a
    classifier (softmax, then sigmoid classes, then a per-pixel head, then the first).

    Raises:
        ConvVizError: no output has that name or index.
    """
    if wanted not in (None, ""):
        text = str(wanted).strip()
        for output in outputs:
            if output.name == text or text.lstrip("-").isdigit() and int(text) == output.index:
                return output
        names = ", ".join(f"{output.name} ({output.index})" for output in outputs)
        raise ConvVizError(f"The model has no output '{text}'; its outputs are {names}.")

    def rank(output: ModelOutput) -> int:
        if output.kind == "classification":
            return 0 if output.activation == "softmax" else 1
        return {"segmentation": 2, "score": 3, "features": 4, "regression": 5}.get(output.kind, 6)

    return min(outputs, key=lambda output: (rank(output), output.index))


def output_first_view(model: Any, chosen: ModelOutput) -> Any:
    """``model`` itself when it has one plain output; else a functional view of it (same
    layers and weights) whose outputs are a list with ``chosen`` first."""
    import keras

    structure = getattr(model, "_outputs_struct", None)
    if len(model.outputs) == 1 and not isinstance(structure, (dict, list, tuple)):
        return model
    others = [tensor for index, tensor in enumerate(model.outputs) if index != chosen.index]
    try:
        return keras.Model(model.inputs, [model.outputs[chosen.index], *others], name=model.name)
    except Exception as exc:  # Keras raises many types for odd graphs
        raise ConvVizError(f"Cannot explain the output {chosen.name} of {model.name}: {exc}") from exc


def output_labels(output: ModelOutput, candidates: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Labels that fit what the output is: the candidates for classes, else the output's
    own words (``channel 5`` of a feature map, ``output 2`` of a regression head)."""
    count = int(output.shape[-1] or 1) if len(output.shape) >= 2 else 1
    if output.kind == "features":
        return tuple(f"channel {index}" for index in range(count))
    if output.kind == "regression":
        return tuple(f"output {index}" for index in range(count))
    if output.kind == "segmentation" and count == 1 and not candidates:
        return ("foreground",)
    return candidates
