"""Which activation a filter objective skips, and the layer's output without it.

A ReLU's output has zero gradient wherever it is zero: a channel that is negative over the
whole start image never moves. As Lucid optimizes the tensors before their ReLU, a target
whose ReLU is fused (``Conv2D(activation="relu")``) or is the layer itself (``ReLU``,
``Activation("relu")``) is optimized before it. A unit or class objective also skips a
saturating softmax or sigmoid (its logit is optimized). The user's model is never edited:
a fused activation is skipped by a linear copy of the layer, given the layer's weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

RELUS = ("relu", "relu6")
SATURATING = ("softmax", "sigmoid")  # skipped only for unit and class objectives
SEPARATE = ("ReLU", "Activation", "Softmax")  # layers that are their activation
OUTPUT = "layer output"


@dataclass(frozen=True)
class Bypass:
    """The activation skipped, and whether it is a layer of its own (then its input is read)."""

    activation: str
    separate: bool

    @property
    def optimized(self) -> str:
        """What is optimized, in words (the result's ``optimized`` field)."""
        if self.activation in RELUS:
            return f"pre-activation ({self.activation.replace('relu', 'ReLU')} bypassed)"
        return f"logit ({self.activation} bypassed)"


def activation_name(layer: Any) -> str:
    """The layer's activation (``relu``, ``softmax``...) or its fused one; "" when none."""
    kind = type(layer).__name__
    if kind == "ReLU":
        return "relu"
    if kind == "Softmax":
        return "softmax"
    return getattr(getattr(layer, "activation", None), "__name__", "")


def bypass_for(layer: Any, objective: str = "channel") -> Bypass | None:
    """The activation the ``objective`` skips at ``layer``, or None (its output is read).

    Only Keras' own layers are bypassed: a custom layer may not rebuild from its config.
    """
    name = activation_name(layer)
    skipped = RELUS + (SATURATING if objective in ("unit", "class") else ())
    if name not in skipped or not type(layer).__module__.startswith("keras."):
        return None
    return Bypass(name, type(layer).__name__ in SEPARATE)


def optimized(layer: Any, objective: str = "channel") -> str:
    """What an objective on ``layer`` optimizes, in words."""
    bypass = bypass_for(layer, objective)
    return bypass.optimized if bypass else OUTPUT


def head(loaded: LoadedModel, path: tuple[str, ...], height: int | None, width: int | None,
         objective: str = "channel"
         ) -> Any:
    """Keras model: input (``height`` x ``width``) -> the layer's output, or its value before
    the activation ``bypass_for`` names."""
    import keras

    from convviz_gui.engine.layers import resolve_layer
    from convviz_gui.engine.taps import build_sized_tap_model

    model = loaded.keras_model
    layer = resolve_layer(model, path)
    bypass = bypass_for(layer, objective)
    if bypass is None:
        return build_sized_tap_model(model, path, height, width)
    inputs = build_sized_tap_model(model, path, height, width, layer_inputs=True)
    if bypass.separate:  # its input is the value before the activation
        return inputs
    linear = type(layer).from_config({**layer.get_config(), "activation": "linear",
                                      "name": f"{layer.name}_linear"})
    before = keras.Model(inputs.inputs, linear(inputs.outputs[0]), name=f"{model.name}_linear")
    linear.set_weights(layer.get_weights())
    return before
