"""What the clear style maximizes (Olah et al. 2017, § "Optimization objectives"; Lucid's
``objectives.channel``, ``neuron``, ``diversity``): a channel, the centre neuron of a
channel, a unit of a non-spatial layer, or a class logit, and the batch-diversity term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tensorflow as tf

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.channels import chosen_channels, computes_chosen_channels, cut_border
from convviz_gui.engine.featurevis.preactivation import bypass_for, head
from convviz_gui.engine.featurevis.settings import SPATIAL_OBJECTIVES, ClearSettings
from convviz_gui.engine.featurevis.targeting import find_target
from convviz_gui.engine.layers import LayerPath, find_layer, resolve_layer
from convviz_gui.engine.taps import build_sized_tap_model

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

Values = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor | None]]


@dataclass(frozen=True)
class Target:
    """The layer an objective reads and how many channels or units it has."""

    path: LayerPath
    objective: str
    count: int


def resolve_target(loaded: LoadedModel, layer: LayerPath | None, settings: ClearSettings,
                   indices: list[int]) -> Target:
    """Check the objective, the layer and the indices (``targeting.find_target``); the
    class objective reads the model's output layer."""
    objective = settings.objective
    checked = find_target(loaded, layer, objective)
    checked.check(indices)
    if objective != "class":
        return Target(checked.path, objective, checked.count)
    name = loaded.output_layer_name
    output = find_layer(loaded.layer_tree, name) if name else None
    if output is None:
        raise ConvVizError(f"No layer named '{loaded.output_layer_name}' in {loaded.name}.")
    return Target(output.path, objective, checked.count)


def target_values(loaded: LoadedModel, target: Target, border: int, height: int, width: int,
                  features: bool) -> Values:
    """``(model inputs, indices) -> (values, features)``: each image's target (its own
    index) and, with ``features``, the whole layer output for the diversity term; before
    the activation ``preactivation.bypass_for`` names (a ReLU; a unit's or class's
    softmax or sigmoid).

    A channel is averaged over the map with ``border`` cut, as in the reference; a neuron
    is the channel's centre unit. Without ``features`` a Conv2D/SeparableConv2D target
    computes only the chosen channels.
    """
    layer = resolve_layer(loaded.keras_model, target.path)
    activate = bypass_for(layer, target.objective) is None
    if target.objective in SPATIAL_OBJECTIVES and not features and computes_chosen_channels(layer):
        extractor = build_sized_tap_model(loaded.keras_model, target.path, height, width,
                                          layer_inputs=True)

        def chosen(inputs: tf.Tensor, indices: tf.Tensor) -> tuple[tf.Tensor, None]:
            maps = chosen_channels(layer, extractor(inputs, training=False), indices, activate)
            return _reduce(maps, target.objective, border), None

        return chosen
    extractor = head(loaded, target.path, height, width, target.objective)

    def whole(inputs: tf.Tensor, indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        outputs = extractor(inputs, training=False)
        own = tf.gather(outputs, indices, axis=-1, batch_dims=1)  # each image's own channel
        return _reduce(own, target.objective, border), outputs

    return whole


def _reduce(own: tf.Tensor, objective: str, border: int) -> tf.Tensor:
    """(batch,) values from each image's own channel map (batch, h, w) or unit (batch,)."""
    if own.shape.rank == 1:
        return own
    if objective == "neuron":
        return own[:, own.shape[1] // 2, own.shape[2] // 2]
    return tf.reduce_mean(cut_border(own, border), axis=[1, 2])


def diversity(features: tf.Tensor, variants: int) -> tf.Tensor:
    """Each image's mean cosine similarity to the other variants of its filter (images
    ``variants`` apart in the batch belong to different filters): of the Gram matrices of
    a spatial layer's channels, as in style transfer, or of flat outputs themselves."""
    batch = features.shape[0]
    if features.shape.rank == 4:
        flat = tf.reshape(features, [batch, -1, features.shape[-1]])
        features = tf.matmul(flat, flat, transpose_a=True)
    unit = tf.math.l2_normalize(tf.reshape(features, [batch // variants, variants, -1]), axis=-1)
    similarity = tf.matmul(unit, unit, transpose_b=True)
    others = tf.reduce_sum(similarity, axis=-1) - tf.linalg.diag_part(similarity)
    return tf.reshape(others, [batch]) / (variants - 1)
