"""The reference style: the book's gradient ascent on the input pixels ("Deep Learning with
Python", 2nd ed., 9.4: a grey image with noise, 30 steps of ``image += lr * normalize(grad)``
on a filter's mean activation, border cut), many filters per batch, with backtracking on
the step length where a step lowers the filter's value."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.batches import ascent_size, run_batches
from convviz_gui.engine.featurevis.channels import chosen_channels, computes_chosen_channels, cut_border
from convviz_gui.engine.featurevis.fused import AscentState, FusedAscent, Losses, xla_wins
from convviz_gui.engine.featurevis.preactivation import bypass_for, head, optimized
from convviz_gui.engine.featurevis.preprocessing import model_input_range, preprocess_pixels
from convviz_gui.engine.featurevis.results import FilterResult, Progress, ShouldCancel
from convviz_gui.engine.featurevis.settings import START_MODES, FilterSettings
from convviz_gui.engine.featurevis.targeting import find_target
from convviz_gui.engine.layers import LayerPath, resolve_layer
from convviz_gui.engine.model_cache import cached
from convviz_gui.engine.normalize import display_uint8
from convviz_gui.engine.taps import build_sized_tap_model

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

GREY_BAND = (0.4, 0.6)  # the grey start's pixels, as a share of the pixel range (START_MODES)


def filter_losses(loaded: LoadedModel, path: LayerPath, border: int, restrict: bool = True,
                  size: tuple[int, int] | None = None) -> Losses:
    """``(images, filter_indices) -> losses``: mean of each image's own filter, border cut;
    before the layer's ReLU when it has one (``preactivation.bypass_for``).

    Only the layers up to the target run, on images of ``size`` (height, width; default
    the model's own input size). With ``restrict`` a Conv2D/SeparableConv2D target
    computes only the chosen filters (same numbers, less work); other layers run whole.
    """
    layer = resolve_layer(loaded.keras_model, path)
    restrict = restrict and computes_chosen_channels(layer)
    activate = bypass_for(layer) is None
    height, width = size or loaded.input_shape[:2]
    extractor = (build_sized_tap_model(loaded.keras_model, path, height, width, layer_inputs=True)
                 if restrict else head(loaded, path, height, width))

    def losses(images: tf.Tensor, filter_indices: tf.Tensor) -> tf.Tensor:
        if restrict:
            activation = chosen_channels(layer, extractor(images, training=False), filter_indices,
                                         activate)
            return tf.reduce_mean(cut_border(activation, border), axis=[1, 2])
        full = cut_border(extractor(images, training=False), border)
        # Channel means, then a one-hot pick of each image's own filter.
        channel_means = tf.reduce_mean(full, axis=[1, 2])
        pick = tf.one_hot(filter_indices, tf.shape(channel_means)[-1], dtype=channel_means.dtype)
        return tf.reduce_sum(channel_means * pick, axis=-1)

    return losses


def ascent_step(loaded: LoadedModel, path: LayerPath, settings: FilterSettings, height: int,
                width: int, xla: bool | None = None) -> FusedAscent:
    """The compiled step of this layer (``fused.FusedAscent``): gradient, normalization and
    backtracking update in one call, and ``evaluate``; with XLA where ``fused.xla_wins``
    says it wins for the model's family (``xla`` overrides).

    Traced for one fixed image size, so that every shape (and the border cut) is static.
    """
    key = ("ascent", path, settings.border, height, width)

    def build() -> FusedAscent:
        losses_of = filter_losses(loaded, path, settings.border, size=(height, width))
        ascent = FusedAscent(losses_of, height, width, loaded.channels,
                             xla_wins(loaded.keras_model) if xla is None else xla)
        ascent.trace()  # here, inside ``cached``: at the active precision (``engine.precision``)
        return ascent

    return cached(loaded, key if xla is None else (*key, "xla" if xla else "plain"), build)


def start_images(loaded: LoadedModel, count: int, height: int, width: int, settings: FilterSettings,
                 rng: np.random.Generator) -> np.ndarray:
    """The reference style's start images in model units (``settings.start``, see
    ``START_MODES``): by default grey pixels with noise through the model's preprocessing."""
    noise = rng.uniform(0.0, 1.0, (count, height, width, loaded.channels)).astype(np.float32)
    low, high = GREY_BAND
    if settings.start == "grey":
        return preprocess_pixels(loaded, settings.preset, 255.0 * (low + noise * (high - low)))
    if settings.start == "centered":
        return (noise - 0.5) * 0.25
    if settings.start == "reference":
        return low + noise * (high - low)
    raise ConvVizError(f"Unknown start mode '{settings.start}'; use one of {', '.join(START_MODES)}.")


def deprocess(images: np.ndarray, crop: int) -> list[np.ndarray]:
    """Reference display of optimized inputs: normalize per image, uint8, crop borders."""
    patterns = []
    for image in images:
        shown = display_uint8(image)
        if shown.shape[-1] == 1:
            shown = shown[..., 0]  # grayscale models: (h, w)
        if crop and shown.shape[0] > 2 * crop and shown.shape[1] > 2 * crop:
            shown = shown[crop:-crop, crop:-crop]
        patterns.append(shown)
    return patterns


def step_scale(model_range: tuple[float, float]) -> float:
    """What the reference learning rate is multiplied by: the book's 10 is for inputs in
    [-1, 1] (Xception); a model whose pixels span more (caffe, raw 0-255: 255 units) takes
    steps as large in pixels, else 30 steps would not move its image visibly. Models in
    [-1, 1] or [0, 1] keep the book's rate."""
    return max(1.0, (model_range[1] - model_range[0]) / 2.0)


class ReferenceBatch:
    """Reference ascent: the images themselves, moved along the normalized gradient.

    The book takes every step (``image += lr * normalize(grad)``). A step that lowers the
    filter's value (a step too long for the network's curvature: seen on EfficientNet,
    MobileNetV3 and NASNet, whose values fell from 0.1 to -700) is taken back and taken again
    from the best image at half the length, per image: backtracking on the step length
    (Nocedal and Wright 2006, Alg. 3.1, with the plain decrease test). While steps raise the
    value this is the book's loop exactly, and no image ends below its start. A step is
    one compiled call (``fused.backtracking_step``).
    """

    def __init__(self, ascent: FusedAscent, images: tf.Tensor, chosen: tf.Tensor, learning_rate: float,
                 crop: int) -> None:
        self._ascent, self.chosen, self.crop = ascent, chosen, crop
        self.state = AscentState.start(images, learning_rate)
        self.start_losses: np.ndarray | None = None
        self._settled: tf.Tensor | None = None  # the final images' values, once settled

    @property
    def images(self) -> tf.Tensor:
        """The images the next step evaluates (after ``patterns``/``evaluate``: the final ones)."""
        return self.state.images

    def step(self) -> np.ndarray:
        """One step from the best image so far (see the class docstring); the best values."""
        self.state, values = self._ascent.step(self.state, self.chosen)
        if self.start_losses is None:  # the first step's values are the start images'
            self.start_losses = values.numpy()
        self._settled = None
        return self.state.best_values.numpy()

    def _settle(self) -> tf.Tensor:
        """Undo the last step too where it lowered the value (no later step checks it);
        the values of the images kept."""
        if self._settled is None:
            values = self._ascent.evaluate(self.state.images, self.chosen)
            back = values < self.state.best_values
            self.state = self.state._replace(images=tf.where(
                back[:, tf.newaxis, tf.newaxis, tf.newaxis], self.state.best, self.state.images))
            self._settled = tf.where(back, self.state.best_values, values)
        return self._settled

    def previews(self) -> list[np.ndarray]:
        """The best images so far, deprocessed: no network pass (off the hot path)."""
        return deprocess(self.state.best.numpy(), self.crop)

    def patterns(self) -> list[np.ndarray]:
        """The current images, deprocessed for display."""
        self._settle()
        return deprocess(self.state.images.numpy(), self.crop)

    def evaluate(self) -> tuple[np.ndarray, tuple[float, float]]:
        """Each filter's value on its current image, and the images' range in model units."""
        values = self._settle().numpy()
        images = self.state.images.numpy()
        return values, (float(images.min()), float(images.max()))


def visualize_reference(loaded: LoadedModel, layer: LayerPath, indices: list[int], settings: FilterSettings,
                        progress: Progress | None = None,
                        should_cancel: ShouldCancel | None = None) -> FilterResult:
    """Reference patterns of the filters ``indices`` of ``layer`` (see ``visualize_filters``)."""
    target = find_target(loaded, layer, "channel")
    target.check(indices)
    settings.check_counts()
    started = time.perf_counter()
    (height, width), size_note = ascent_size(loaded, target.path, settings)
    ascent = ascent_step(loaded, target.path, settings, height, width)
    crop = settings.crop_pixels(min(height, width))
    rng = np.random.default_rng(settings.seed)
    model_range = model_input_range(loaded, settings.preset)
    scale = step_scale(model_range)
    learning_rate = settings.learning_rate * scale
    result = FilterResult(target.path, {}, {}, {}, settings, 0.0, (height, width), size_note,
                          model_range=model_range, step_scale=scale,
                          optimized=optimized(resolve_layer(loaded.keras_model, target.path)))

    def start(chunk: list[int]) -> ReferenceBatch:
        images = tf.constant(start_images(loaded, len(chunk), height, width, settings, rng))
        return ReferenceBatch(ascent, images, tf.constant(chunk, tf.int32), learning_rate, crop)

    return run_batches(result, indices, settings.batch_for(height, width), start, progress,
                       should_cancel, started, settings.batch_for(height, width, first=True))
