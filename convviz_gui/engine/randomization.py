"""Cascading model randomization for the sanity check of Adebayo et al. 2018 ("Sanity Checks
for Saliency Maps", NeurIPS, Sec. 3.1): a copy of the model whose weighted layers are
re-initialized from the output down, and the similarity of two maps (Spearman rank
correlation and SSIM of their absolute values).

The user's model is never touched: ``randomizable_copy`` clones it (new layers, the same
weights), and every randomization assigns new values to the copy's variables only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerInfo, LayerPath, iter_layers, resolve_layer

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

MAX_STEPS = 12  # more weighted layers than this are randomized in groups (blocks)
BLOCK_NAME = re.compile(r"^(.*?block_?\d+[a-z]?)(?:_|$)")  # block14_sepconv2 -> block14


@dataclass(frozen=True)
class RandomizationStep:
    """The layers one cascading step re-initializes (on top of the steps before it)."""

    label: str  # a layer name, a block name, or "first … last"
    paths: tuple[LayerPath, ...]  # top-down


def randomizable_copy(loaded: LoadedModel) -> LoadedModel:
    """A ``LoadedModel`` over a clone of ``loaded``'s model: the same layers (names, paths)
    and weights in new variables, its own (empty) cache. Randomizing it leaves ``loaded``
    as it is."""
    import keras

    from convviz_gui.engine.outputs import output_first_view

    source = loaded.file_model if loaded.file_model is not None else loaded.keras_model
    try:
        clone = keras.models.clone_model(source)
        clone.set_weights(source.get_weights())
    except Exception as exc:  # Keras raises many types for layers it cannot rebuild
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ConvVizError(f"Cannot copy {loaded.name} to randomize its weights (the user's "
                           f"model stays untouched): {first}.") from exc
    view = output_first_view(clone, loaded.output) if loaded.output is not None else clone
    return replace(loaded, keras_model=view, file_model=clone, cache={}, notes=[])


def weighted_layers(loaded: LoadedModel) -> list[LayerInfo]:
    """The layers with trainable weights that the explained output depends on, from the
    output down (the order of cascading randomization)."""
    found = []
    model = loaded.file_model if loaded.file_model is not None else loaded.keras_model
    for node in iter_layers(loaded.layer_tree):
        if node.is_container or node.operation or tuple(node.path) not in loaded.output_ancestors:
            continue
        if resolve_layer(model, node.path).trainable_weights:
            found.append(node)
    return found[::-1]


def _units(layers: list[LayerInfo]) -> list[tuple[str, list[LayerPath]]]:
    """Top-down layers in units randomized together in a big model: the layers of one named
    block (``block14_sepconv1``, ``block14_sepconv1_bn``...: ``block14``), else a
    normalization layer with the layer it normalizes (the next one down)."""
    units: list[tuple[str, list[LayerPath]]] = []
    pending: list[LayerPath] = []  # normalization layers waiting for their layer
    for node in layers:
        match = BLOCK_NAME.match(node.name)
        if match:
            block = "/".join((*node.path[:-1], match.group(1)))
            if units and units[-1][0] == block and not pending:
                units[-1][1].append(tuple(node.path))
            else:
                units.append((block, [*pending, tuple(node.path)]))
                pending = []
        elif "Normalization" in node.class_name or "Normalization" in node.keras_class:
            pending.append(tuple(node.path))
        else:
            units.append(("/".join(node.path), [*pending, tuple(node.path)]))
            pending = []
    if pending:
        units.append(("/".join(pending[0]), pending))
    return units


def cascade_steps(layers: list[LayerInfo], max_steps: int = MAX_STEPS) -> list[RandomizationStep]:
    """The cascading steps over the top-down ``layers``: one layer per step when there are
    at most ``max_steps``; else ``_units`` (named blocks, a normalization with its layer),
    consecutive units merged into at most ``max_steps`` steps, the top one alone (the
    paper's Figure 2 randomizes Inception v3 by blocks)."""
    if len(layers) <= max_steps:
        return [RandomizationStep(node.name, (tuple(node.path),)) for node in layers]
    units = _units(layers)
    head, rest = units[:1], units[1:]
    # Smaller steps near the output, where the verdict is read: the larger chunks go last.
    chunks = [chunk[::-1] for chunk in np.array_split(np.arange(len(rest))[::-1],
                                                      min(len(rest), max_steps - 1))][::-1] \
        if rest else []
    groups = [head] + [[rest[index] for index in chunk] for chunk in chunks]
    steps = []
    for group in groups:
        names = [name.split("/")[-1] for name, _ in group]
        label = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"
        steps.append(RandomizationStep(label, tuple(path for _, members in group
                                                    for path in members)))
    return steps


def _initializer(layer: Any, variable: Any) -> Any:
    """The layer's own initializer of one of its variables (``kernel_initializer`` for
    ``kernel``, ``depthwise_initializer`` for ``depthwise_kernel``...), or None."""
    name = variable.name.split("/")[-1].split(":")[0]
    candidates = [f"{name}_initializer", f"{name.removesuffix('_kernel')}_initializer"]
    if name == "kernel":
        candidates.append("depthwise_initializer")  # DepthwiseConv2D's kernel
    return next((getattr(layer, attribute) for attribute in candidates
                 if getattr(layer, attribute, None) is not None), None)


def _seeded(initializer: Any, seed: int) -> Any:
    """A copy of ``initializer`` with ``seed`` (constant initializers have none)."""
    config = initializer.get_config()
    if "seed" not in config:
        return initializer
    return type(initializer).from_config({**config, "seed": seed})


def randomize_layers(loaded: LoadedModel, paths: tuple[LayerPath, ...], seed: int) -> list[str]:
    """Re-initialize the trainable weights of the layers at ``paths`` of ``loaded`` (a
    ``randomizable_copy``, never the user's model) with each layer's own initializers,
    seeded; BatchNormalization's moving statistics stay.

    The compiled functions of ``loaded.cache`` read the variables, so they see the new
    weights; but the logit read-out replaces a softmax/sigmoid head layer by a linear twin
    holding a COPY of its weights (``cam.scoring.OutputHead``): randomizing that layer
    empties the cache, so that the next explanation is built on the new weights.

    Returns:
        The variables that had no initializer of their own and were drawn from Glorot
        uniform (bias-like 1-D ones set to zero), as ``layer/variable``.
    """
    import keras

    from convviz_gui.engine.cam.scoring import output_head

    head = output_head(loaded)
    if head is not None and not head.separate and head.path in paths:
        loaded.cache.clear()
    model = loaded.file_model if loaded.file_model is not None else loaded.keras_model
    fallbacks = []
    for index, path in enumerate(paths):
        layer = resolve_layer(model, path)
        for number, variable in enumerate(layer.trainable_weights):
            found = _initializer(layer, variable)
            shape = tuple(variable.shape)
            if found is None:
                fallbacks.append(f"{'/'.join(path)}/{variable.name}")
                found = keras.initializers.GlorotUniform() if len(shape) > 1 else \
                    keras.initializers.Zeros()
            values = _seeded(found, seed * 1009 + index * 31 + number)(shape, dtype=variable.dtype)
            variable.assign(values)
    return fallbacks


def map_similarity(original: np.ndarray, other: np.ndarray, size: tuple[int, int]
                   ) -> tuple[float, float]:
    """Spearman rank correlation and SSIM of the ABSOLUTE values of two maps, both resized
    (bilinear) to ``size`` (height, width) and, for SSIM, each scaled to [0, 1] by its
    maximum (``tf.image.ssim``, an 11-pixel Gaussian window, smaller on tiny maps).

    A map that is constant (zero everywhere after randomization) keeps no ranking of the
    original: its Spearman correlation is 0.
    """
    import tensorflow as tf
    from scipy.stats import spearmanr

    from convviz_gui.engine.cam.base import resize_map

    height, width = size
    first, second = (np.abs(resize_map(np.abs(np.asarray(values, np.float32)), width, height))
                     for values in (original, other))
    if np.ptp(first) == 0:
        raise ConvVizError("The original map is the same everywhere: there is nothing to "
                           "compare the randomized models' maps with.")
    spearman = 0.0 if np.ptp(second) == 0 else float(spearmanr(first.ravel(), second.ravel())[0])
    scaled = [values / values.max() if values.max() > 0 else values for values in (first, second)]
    window = max(1, min(11, height, width))
    ssim = tf.image.ssim(scaled[0][..., None], scaled[1][..., None], max_val=1.0,
                         filter_size=window)
    return spearman, float(ssim.numpy())


def top_third_step(steps: list[RandomizationStep], total: int) -> int:
    """The index of the first step after which at least a third of the ``total`` weighted
    layers are randomized (the step the verdict is read at)."""
    wanted, done = math.ceil(total / 3), 0
    for index, step in enumerate(steps):
        done += len(step.paths)
        if done >= wanted:
            return index
    return len(steps) - 1
