"""Which score is explained, and the compiled forward functions every method shares.

Grad-CAM (Selvaraju 2017, Eq. 1: y^c is "the score for class c, before the softmax"),
Grad-CAM++ (Chattopadhay 2018, Eq. 10, derived for an exponential of that score),
HiResCAM (Draelos 2020), Score-CAM (Wang 2020, Alg. 1: f^c is the logit) and Ablation-CAM
(Desai 2020) explain the class score *before* the output activation. The reference notebook
(techniques.md; "Deep Learning with Python" 9.4) differentiates ``preds[:, i]`` of a softmax
model, i.e. the probability, and so does ``score="probability"`` here. The two differ: the
gradient of a saturated sigmoid (p = 1.0 in float32) is zero, so its map is all zero where
the model is surest; the gradient of a softmax probability is p_c (dA_c - sum_k p_k dA_k),
so the map becomes ReLU(A_c - sum_k p_k A_k), and Grad-CAM++'s alpha ~ 1/2 everywhere.

By default (``score="logit"``) the output layer's softmax or sigmoid is bypassed *in the
compiled graph only*: a separate Activation/Softmax layer is replaced by the identity, a
Dense/Conv layer with the activation by a linear copy of itself (same config and weights,
``activation="linear"``). The user's model is never edited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath, resolve_layer
from convviz_gui.engine.model_cache import cached

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

SCORES = {"logit": "the score before the output's softmax/sigmoid (the papers' definition)",
          "probability": "the output after its softmax/sigmoid (the reference notebook)"}
BYPASSED = ("softmax", "sigmoid")


def check_score(score: str) -> str:
    """The score name, lower-cased; raises ``ConvVizError`` for an unknown one."""
    name = (score or "logit").lower()
    if name not in SCORES:
        raise ConvVizError(f"Unknown score '{score}'. Choose one of {', '.join(SCORES)}.")
    return name


@dataclass(frozen=True)
class OutputHead:
    """The layer whose activation ends the model, and that activation."""

    path: LayerPath
    activation: str  # "softmax" or "sigmoid"
    separate: bool  # an Activation/Softmax layer: its input is the logit

    def substitute(self, layer: Any) -> Callable:
        """What runs in place of the head layer: the logits."""
        if self.separate:
            return lambda inputs, *args, **kwargs: inputs
        config = dict(layer.get_config(), activation="linear", name=f"{layer.name}_logits")
        linear = type(layer).from_config(config)

        def call(*args: Any, **kwargs: Any) -> Any:
            outputs = linear(*args, **kwargs)
            linear.set_weights(layer.get_weights())  # built by the call above: same weights
            return outputs

        return call

    def finisher(self, model: Any) -> Callable:
        """logits -> the model's own output (the bypassed activation applied again)."""
        layer = resolve_layer(model, self.path)
        return layer if self.separate else layer.activation


def _activation_name(layer: Any) -> str:
    if type(layer).__name__ == "Softmax":
        return "softmax"
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", "") if function is not None else ""


def output_head(loaded: LoadedModel) -> OutputHead | None:
    """The softmax/sigmoid ending the model's (first) output, inside nested models too."""
    key = ("output_head",)
    if key in loaded.cache:
        return loaded.cache[key]
    current = loaded.keras_model
    path: tuple[str, ...] = ()
    head = None
    while True:
        history = getattr(current.outputs[0], "_keras_history", None)
        layer = history.operation if history else current.layers[-1]
        path = (*path, layer.name)
        if getattr(layer, "outputs", None) and hasattr(layer, "layers"):
            current = layer  # a nested model produces the output: look inside it
            continue
        name = _activation_name(layer)
        if name in BYPASSED:
            head = OutputHead(path, name, type(layer).__name__ in ("Activation", "Softmax"))
        break
    loaded.cache[key] = head
    return head


def score_kind(loaded: LoadedModel, score: str) -> str:
    """``logit`` (bypassed), ``probability`` (asked for) or ``output`` (nothing to bypass)."""
    if output_head(loaded) is None:
        return "output"
    return check_score(score)


def score_graph(loaded: LoadedModel, layers: tuple[LayerPath, ...], score: str,
                substitutes: dict | None = None, extra_inputs: list | None = None
                ) -> tuple[Any, Callable]:
    """(Keras model input -> [*tapped layers, explained output], explained -> probabilities)."""
    from convviz_gui.engine.taps import build_tap_model

    model = loaded.keras_model
    head = output_head(loaded) if check_score(score) == "logit" else None
    substitutes = dict(substitutes or {})
    if head is not None:
        substitutes[head.path] = head.substitute
    graph = build_tap_model(model, list(layers), with_outputs=True, substitutes=substitutes,
                            extra_inputs=extra_inputs)
    finish = head.finisher(model) if head is not None else (lambda outputs: outputs)
    return graph, finish


def input_spec(loaded: LoadedModel) -> Any:
    """``TensorSpec`` of a batch of model inputs."""
    import tensorflow as tf

    return tf.TensorSpec((None, *tuple(loaded.keras_model.inputs[0].shape)[1:]), tf.float32)


def weights_spec(loaded: LoadedModel, per_image: bool = False) -> Any:
    """``TensorSpec`` of a target's read-out weights: one image's output shape, shared by
    the batch, or with a leading batch axis when each image has its own (``per_image``)."""
    import tensorflow as tf

    return tf.TensorSpec((None,) * per_image + tuple(loaded.output_shape[1:]), tf.float32)


def read_out(outputs: Any, weights: Any) -> Any:
    """Per-image target score ``sum(outputs * weights)`` (TensorFlow ops)."""
    import tensorflow as tf

    return tf.reduce_sum(tf.reshape(outputs * weights, (tf.shape(outputs)[0], -1)), axis=1)


def forward_function(loaded: LoadedModel, score: str, layers: tuple[LayerPath, ...] = ()) -> Any:
    """Compiled ``(batch, weights) -> ([*features], scores, explained, probabilities)``."""

    def build() -> Any:
        import tensorflow as tf

        graph, finish = score_graph(loaded, layers, score)

        @tf.function(input_signature=[input_spec(loaded), weights_spec(loaded)])
        def function(batch: Any, weights: Any) -> Any:
            values = graph(batch, training=False)
            values = list(values) if isinstance(values, (list, tuple)) else [values]
            explained = values[len(layers)]
            return values[:len(layers)], read_out(explained, weights), explained, finish(explained)

        return function.get_concrete_function()  # skips the per-call signature lookup

    return cached(loaded, ("forward", layers, check_score(score)), build)


def explained_outputs(loaded: LoadedModel, batch: np.ndarray, score: str) -> tuple[np.ndarray, np.ndarray]:
    """(explained output, probabilities) of a batch, as NumPy arrays."""
    import tensorflow as tf

    weights = np.zeros([dim or 1 for dim in loaded.output_shape[1:]], np.float32)  # broadcasts
    _, _, explained, probabilities = forward_function(loaded, score)(tf.constant(batch),
                                                                     tf.constant(weights))
    return explained.numpy(), probabilities.numpy()


def scores_of(loaded: LoadedModel, score: str, images: np.ndarray, weights: np.ndarray, size: int,
              steps: Any, stage: str) -> tuple[np.ndarray, np.ndarray]:
    """(target scores, probabilities) of many images, ``size`` at a time with progress."""
    import tensorflow as tf

    forward = forward_function(loaded, score)
    weights = tf.constant(weights)
    scores, probabilities = [], []
    for part in steps.batches(len(images), size, stage):
        _, found, _, probs = forward(tf.constant(images[part]), weights)
        scores.append(found.numpy())
        probabilities.append(probs.numpy())
    return np.concatenate(scores), np.concatenate(probabilities)
