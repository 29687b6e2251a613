"""Filter visualization by gradient ascent (reference algorithm, many filters per batch).

The "clear" style (``featurevis``) runs through the same batches, progress and cancel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.settings import CLEAR_LEARNING_RATE, CLEAR_STEPS, ClearSettings
from convviz_gui.engine.layers import LayerPath
from convviz_gui.engine.normalize import display_uint8
from convviz_gui.engine.taps import InputSizeError, build_sized_tap_model

# grey: the book's "grey image with noise" in pixels, U[0.4, 0.6] of the 0-255 range
# (102-153), through the model's preprocessing: the book's U[0.4, 0.6] for a [0, 1] model,
# U[-0.2, 0.2] for a [-1, 1] one, and a visible, unclipped noise for caffe/0-255 models.
# reference and centered are the book's start in model units (U[0.4, 0.6] and
# (U - 0.5) * 0.25), whatever the preprocessing: a flat image on caffe or raw 0-255 models.
START_MODES = ("grey", "reference", "centered")
GREY_BAND = (0.4, 0.6)  # of the pixel range
# A filter whose value moved less than this (relative) over the whole ascent never moved.
STILL = 1e-5
STYLES = ("reference", "clear")
# Pixels optimized per batch when the batch size is automatic. Measured on a 2-core CPU
# (bench/filters.py --sweep, Xception block3_sepconv1 at 200 px, Eigen kernels): 0.91 s
# per filter alone, 0.65 in pairs, 0.76 by 4, 0.88 by 16 (bigger batches fall out of
# the CPU caches), and the first preview comes later the bigger the batch.
AUTO_BATCH_PIXELS = 2 * 200 * 200
MAX_AUTO_BATCH = 16


@dataclass(frozen=True)
class FilterSettings:
    """Gradient-ascent settings; defaults are the reference ones."""

    steps: int = 30
    learning_rate: float = 10.0
    size: int = 200
    border: int = 2
    crop: int | None = None  # pixels cut from every side; None = size // 8 (25 at 200 px)
    start: str = "grey"  # one of START_MODES
    batch_size: int | None = None  # None: automatic, from the image size
    preview_every: int = 5
    seed: int = 0
    style: str = "reference"  # reference: this module; clear: featurevis (Olah et al. 2017)
    clear: ClearSettings = ClearSettings()  # options of the clear style
    preset: str | None = None  # the preprocessing preset of the pixels; None: the model's

    @classmethod
    def for_style(cls, style: str, **changes: Any) -> FilterSettings:
        """The style's defaults (clear: 256 Adam steps at Lucid's 0.05), then ``changes``."""
        if style not in STYLES:
            raise ConvVizError(f"Unknown style '{style}'; use one of {', '.join(STYLES)}.")
        defaults = {"steps": CLEAR_STEPS, "learning_rate": CLEAR_LEARNING_RATE} if style == "clear" else {}
        return cls(style=style, **{**defaults, **changes})

    def crop_pixels(self, size: int) -> int:
        """Border cut from the deprocessed pattern."""
        return self.crop if self.crop is not None else size // 8

    def batch_for(self, height: int, width: int) -> int:
        """Filters optimized together: the set size, or as many as fit the pixel budget."""
        if self.batch_size is not None:
            return self.batch_size
        return max(1, min(MAX_AUTO_BATCH, AUTO_BATCH_PIXELS // (height * width)))


@dataclass
class FilterProgress:
    """Reported after every ascent step."""

    step: int
    steps: int
    filters_done: int
    filters_total: int
    batch: int = 0  # filters being optimized in this batch
    previews: dict[int, np.ndarray] = field(default_factory=dict)  # filter index -> uint8 image

    @property
    def fraction(self) -> float:
        """Overall completion in [0, 1]."""
        batch_share = self.step / self.steps if self.steps else 1.0
        done = self.filters_done + batch_share * self.batch
        return min(1.0, done / self.filters_total) if self.filters_total else 1.0

    def __str__(self) -> str:
        """The same fraction as the progress bar, then where the ascent is: "Filters 15%:
        filters 1-2 of 8, step 162/256"."""
        first = self.filters_done + 1
        which = f"filter {first}" if self.batch <= 1 else f"filters {first}-{first + self.batch - 1}"
        return (f"Filters {int(self.fraction * 100)}%: {which} of {self.filters_total}, "
                f"step {self.step}/{self.steps}")


@dataclass
class FilterResult:
    """Patterns (uint8, cropped) with each filter's final loss."""

    layer: LayerPath
    patterns: dict[int, np.ndarray]
    losses: dict[int, float]
    start_losses: dict[int, float]
    settings: FilterSettings
    seconds: float
    size_used: tuple[int, int]  # (height, width) of the optimized images
    size_note: str = ""  # why size_used is not the chosen size; "" when it is
    cancelled: bool = False
    partial: set[int] = field(default_factory=set)  # filters cut short by a cancel
    input_range: tuple[float, float] | None = None  # min, max of the optimized inputs (model units)
    model_range: tuple[float, float] | None = None  # what the preset makes of pixels in [0, 255]
    optimized: str = "layer output"  # or the pre-activation, when a ReLU is bypassed
    step_scale: float = 1.0  # reference style: learning rate multiplier (``step_scale``)
    dead: dict[int, str] = field(default_factory=dict)  # filter -> why it never moved

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: per filter the target's final and start value (``loss``,
        ``start_loss``) and whether it is dead (with the reason), what was optimized, and
        the range of the optimized inputs beside the model's own."""
        summary: dict[str, Any] = {
            "layer": "/".join(self.layer),
            "style": self.settings.style,
            "optimized": self.optimized,
            "filters": [{"index": i, "loss": self.losses[i], "start_loss": self.start_losses.get(i),
                         "dead": i in self.dead,
                         **({"reason": self.dead[i]} if i in self.dead else {})}
                        for i in sorted(self.losses)],
            "size": list(self.size_used),
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
        }
        if self.settings.style == "clear":
            summary["objective"] = self.settings.clear.objective
            summary["negative"] = self.settings.clear.negative
        if self.input_range is not None:
            summary["input_range"] = list(self.input_range)
        if self.model_range is not None:
            summary["model_range"] = list(self.model_range)
        if self.size_note:
            summary["size_note"] = self.size_note
        if self.step_scale != 1.0:
            summary["learning_rate_used"] = self.settings.learning_rate * self.step_scale
        return summary

    def dead_label(self, index: int) -> str:
        """The short note on a dead filter's tile ("" when it is alive)."""
        if index not in self.dead:
            return ""
        # A value of 1e-36 (a kernel decayed to nothing) is zero too.
        return "dead: never activated" if self.losses[index] <= 1e-6 else "dead: constant"

    def keep(self, chunk: list[int], patterns: list[np.ndarray], losses: Any,
             input_range: tuple[float, float], partial: bool,
             seen: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Store a batch's patterns, final losses and input range; with ``seen`` (each
        filter's lowest and highest value over the ascent) a filter that never moved is
        marked dead."""
        self.patterns.update(zip(chunk, patterns))
        self.losses.update(zip(chunk, (float(value) for value in np.asarray(losses))))
        if seen is not None and not partial:
            low, high = seen
            still = (high - low) <= STILL * np.maximum(1.0, np.abs(high))
            self.dead.update((index, f"its value stayed {self.losses[index]:.4g} for all "
                                     f"{self.settings.steps} steps: the image does not change it "
                                     "(zero gradient)")
                             for index, dead in zip(chunk, still) if dead)
        if self.input_range is not None:
            input_range = (min(self.input_range[0], input_range[0]),
                           max(self.input_range[1], input_range[1]))
        self.input_range = input_range
        if partial:
            self.partial.update(chunk)


def parse_filter_range(text: str) -> list[int]:
    """Parse ``0-63``, ``5`` or ``0-7,12,20-23`` into a list of indices."""
    indices: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                low, high = (int(value) for value in part.split("-", 1))
                if high < low:
                    raise ValueError
                indices.extend(range(low, high + 1))
            else:
                indices.append(int(part))
    except ValueError as exc:
        raise ConvVizError(f"'{text}' is not a filter range such as 0-63 or 0,4,8-15.") from exc
    if not indices or min(indices) < 0:
        raise ConvVizError(f"'{text}' selects no valid filter indices.")
    return list(dict.fromkeys(indices))


_CHANNEL_WISE = ("Conv2D", "SeparableConv2D")
_ELEMENTWISE_ACTIVATIONS = ("linear", "relu", "relu6", "elu", "selu", "gelu", "silu", "swish",
                            "sigmoid", "tanh", "hard_sigmoid", "hard_silu", "leaky_relu",
                            "softplus", "softsign", "mish", "exponential")


def _computes_chosen_channels(layer: Any) -> bool:
    """Whether the target layer's chosen channels can be computed alone from its input."""
    activation = getattr(getattr(layer, "activation", None), "__name__", "")
    return (
        type(layer).__name__ in _CHANNEL_WISE
        and getattr(layer, "data_format", "channels_last") == "channels_last"
        and getattr(layer, "groups", 1) == 1
        and not getattr(layer, "lora_enabled", False)
        and getattr(layer, "quantization_mode", None) is None
        and getattr(layer, "compute_dtype", "float32") == "float32"  # not mixed precision
        and activation in _ELEMENTWISE_ACTIVATIONS
    )


def _chosen_channels(layer: Any, inputs: Any, filter_indices: Any, activate: bool = True) -> Any:
    """(B, h, w): image b's own filter ``filter_indices[b]`` of a Conv2D/SeparableConv2D,
    after the layer's activation unless ``activate`` is False.

    Only the chosen filters' kernels are applied, instead of every filter of the layer.
    """
    import tensorflow as tf

    padding = layer.padding.upper()
    if type(layer).__name__ == "SeparableConv2D":
        inputs = tf.nn.depthwise_conv2d(inputs, layer.depthwise_kernel.value,
                                        (1, *layer.strides, 1), padding,
                                        dilations=layer.dilation_rate)
        kernel, strides, dilations, padding = layer.pointwise_kernel.value, 1, 1, "VALID"
    else:
        kernel, strides, dilations = layer.kernel.value, layer.strides, layer.dilation_rate
    chosen = tf.nn.convolution(inputs, tf.gather(kernel, filter_indices, axis=3),
                               strides=strides, padding=padding, dilations=dilations)
    own = tf.eye(tf.shape(filter_indices)[0], dtype=chosen.dtype)[:, tf.newaxis, tf.newaxis, :]
    values = tf.reduce_sum(chosen * own, axis=-1)  # (B, h, w, B) -> each image's own filter
    if layer.use_bias:
        values += tf.gather(layer.bias.value, filter_indices)[:, tf.newaxis, tf.newaxis]
    return layer.activation(values) if activate else values


def filter_losses(loaded: Any, path: LayerPath, border: int, restrict: bool = True,
                  size: tuple[int, int] | None = None) -> Callable:
    """``(images, filter_indices) -> losses``: mean of each image's own filter, border cut;
    before the layer's ReLU when it has one (``preactivation.bypass_for``).

    Only the layers up to the target run, on images of ``size`` (height, width; default
    the model's own input size). With ``restrict`` a Conv2D/SeparableConv2D target
    computes only the chosen filters (same numbers, less work); other layers run whole.
    """
    import tensorflow as tf

    from convviz_gui.engine.featurevis.preactivation import bypass_for, head
    from convviz_gui.engine.layers import resolve_layer

    layer = resolve_layer(loaded.keras_model, path)
    restrict = restrict and _computes_chosen_channels(layer)
    activate = bypass_for(layer) is None
    height, width = size or loaded.input_shape[:2]
    extractor = (build_sized_tap_model(loaded.keras_model, path, height, width, layer_inputs=True)
                 if restrict else head(loaded, path, height, width))

    def losses(images, filter_indices):
        if restrict:
            activation = _chosen_channels(layer, extractor(images, training=False), filter_indices,
                                          activate)
            return tf.reduce_mean(_cut_border(activation, border), axis=[1, 2])
        full = _cut_border(extractor(images, training=False), border)
        # Channel means, then a one-hot pick of each image's own filter.
        channel_means = tf.reduce_mean(full, axis=[1, 2])
        pick = tf.one_hot(filter_indices, tf.shape(channel_means)[-1], dtype=channel_means.dtype)
        return tf.reduce_sum(channel_means * pick, axis=-1)

    return losses


def _cut_border(activation: Any, border: int) -> Any:
    """The activation without ``border`` pixels on every side (when it is big enough)."""
    if border and activation.shape[1] is not None and activation.shape[1] > 2 * border:
        return activation[:, border:-border, border:-border]
    return activation


def _ascent_step(
    loaded: Any, path: LayerPath, settings: FilterSettings, height: int, width: int
) -> Callable:
    """A compiled ``(images, filter_indices) -> (directions, losses)`` step for this layer:
    each image's L2-normalized gradient (the book's ascent direction) and its loss.

    Traced for one fixed image size, so that every shape (and the border cut) is static.
    """
    key = ("ascent", path, settings.border, height, width)
    step = loaded.cache.get(key)
    if step is not None:
        return step
    import tensorflow as tf

    losses_of = filter_losses(loaded, path, settings.border, size=(height, width))
    spec = tf.TensorSpec((None, height, width, loaded.channels), tf.float32)

    @tf.function(
        input_signature=[spec, tf.TensorSpec((None,), tf.int32)],
        autograph=False,
    )
    def step(images, filter_indices):
        # Only the image is watched, never the weights: no tape records a kernel gradient.
        # oneDNN issue 6035: the kernel gradient of 1x1 strided convolutions with fewer
        # than 16 input channels corrupts the heap.
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            losses = losses_of(images, filter_indices)
            total = tf.reduce_sum(losses)  # images are independent: one backward pass
        grads = tape.gradient(total, images)
        return tf.math.l2_normalize(grads, axis=[1, 2, 3]), losses

    @tf.function(input_signature=[spec, tf.TensorSpec((None,), tf.int32)], autograph=False)
    def evaluate(images, filter_indices):
        return losses_of(images, filter_indices)

    step.evaluate = evaluate
    loaded.cache[key] = step
    return step


def start_images(loaded: Any, count: int, height: int, width: int, settings: FilterSettings,
                 rng: np.random.Generator) -> np.ndarray:
    """The reference style's start images in model units (``settings.start``, see
    ``START_MODES``): by default grey pixels with noise through the model's preprocessing."""
    from convviz_gui.engine.featurevis.preprocessing import preprocess_pixels

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


def ascent_size(loaded: Any, layer: LayerPath, settings: FilterSettings) -> tuple[tuple[int, int], str]:
    """(height, width) the filters of ``layer`` are optimized at, and a note when it is not
    ``settings.size``: the model's own size when a layer up to ``layer`` needs it.
    """
    chosen = (settings.size, settings.size)
    key = ("ascent_size", layer, chosen)
    if key not in loaded.cache:
        own = loaded.input_shape[:2]
        try:
            if own != chosen:
                build_sized_tap_model(loaded.keras_model, layer, *chosen)
            loaded.cache[key] = chosen, ""
        except InputSizeError as error:
            if None in own:  # a dynamic input has no size of its own to fall back on
                raise
            loaded.cache[key] = own, (
                f"{error.target} needs the model's own {own[0]}x{own[1]} input ({error.cause}); "
                f"optimized at {own[0]}x{own[1]} instead of {chosen[0]}x{chosen[1]}."
            )
    return loaded.cache[key]


def visualize_filters(
    loaded: Any,
    layer: LayerPath,
    indices: list[int],
    settings: FilterSettings = FilterSettings(),
    progress: Callable[[FilterProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> FilterResult:
    """Optimize an input image per filter to maximize its mean activation.

    Filters are optimized a batch at a time (``settings.batch_for``). ``progress`` is called
    after every step (with previews every ``preview_every`` steps and at the end of a
    batch); ``should_cancel`` is checked before every step. ``settings.style == "clear"``
    runs the clear style instead (``featurevis.ascent``), through the same batches.
    """
    if settings.style not in STYLES:
        raise ConvVizError(f"Unknown style '{settings.style}'; use one of {', '.join(STYLES)}.")
    if settings.style == "clear":
        from convviz_gui.engine.featurevis.ascent import visualize_clear

        return visualize_clear(loaded, layer, indices, settings, progress, should_cancel)
    from convviz_gui.engine.featurevis.preactivation import optimized
    from convviz_gui.engine.featurevis.preprocessing import model_input_range
    from convviz_gui.engine.layers import find_layer, resolve_layer

    info = find_layer(loaded.layer_tree, "/".join(layer))
    if info is None or not info.spatial:
        raise ConvVizError(f"{'/'.join(layer)} is not a layer with spatial output.")
    if not indices:
        raise ConvVizError("Choose at least one filter.")
    if max(indices) >= (info.channels or 0):
        raise ConvVizError(
            f"{info.name} has {info.channels} filters (0-{info.channels - 1}); "
            f"filter {max(indices)} does not exist."
        )
    check_counts(settings)
    import tensorflow as tf

    started = time.perf_counter()
    (height, width), size_note = ascent_size(loaded, layer, settings)
    step = _ascent_step(loaded, layer, settings, height, width)
    crop = settings.crop_pixels(min(height, width))
    rng = np.random.default_rng(settings.seed)
    model_range = model_input_range(loaded, settings.preset)
    scale = step_scale(model_range)
    learning_rate = settings.learning_rate * scale
    result = FilterResult(layer, {}, {}, {}, settings, 0.0, (height, width), size_note,
                          model_range=model_range, step_scale=scale,
                          optimized=optimized(resolve_layer(loaded.keras_model, layer)))

    def start(chunk: list[int]) -> _ReferenceBatch:
        images = tf.constant(start_images(loaded, len(chunk), height, width, settings, rng))
        return _ReferenceBatch(step, images, tf.constant(chunk, tf.int32), learning_rate, crop)

    return run_batches(result, indices, settings.batch_for(height, width), start, progress,
                       should_cancel, started)


def step_scale(model_range: tuple[float, float]) -> float:
    """What the reference learning rate is multiplied by: the book's 10 is for inputs in
    [-1, 1] (Xception); a model whose pixels span more (caffe, raw 0-255: 255 units) takes
    steps as large in pixels, else 30 steps would not move its image visibly. Models in
    [-1, 1] or [0, 1] keep the book's rate."""
    return max(1.0, (model_range[1] - model_range[0]) / 2.0)


def check_counts(settings: FilterSettings) -> None:
    """Steps and an explicit batch size must be positive."""
    if settings.steps < 1 or (settings.batch_size is not None and settings.batch_size < 1):
        raise ConvVizError("Steps and batch size must be at least 1.")


class AscentBatch(Protocol):
    """The images of one batch of filters being optimized (one style's state)."""

    start_losses: np.ndarray | None  # each filter's target on its start image, once known

    def step(self) -> np.ndarray:
        """One optimization step; returns each filter's target as the step saw it."""

    def patterns(self) -> list[np.ndarray]:
        """Each filter's image for display (uint8)."""

    def evaluate(self) -> tuple[np.ndarray, tuple[float, float]]:
        """Each filter's target on its current image, and the images' range in model units."""


class _ReferenceBatch:
    """Reference ascent: the images themselves, moved along the normalized gradient.

    The book takes every step (``image += lr * normalize(grad)``). A step that lowers the
    filter's value (a step too long for the network's curvature: seen on EfficientNet,
    MobileNetV3 and NASNet, whose values fell from 0.1 to -700) is taken back and taken again
    from the best image at half the length, per image: backtracking on the step length
    (Nocedal and Wright 2006, Alg. 3.1, with the plain decrease test). While steps raise the
    value this is the book's loop exactly, and no image ends below its start.
    """

    def __init__(self, step: Callable, images: Any, chosen: Any, learning_rate: float, crop: int):
        self._step, self.images, self.chosen, self.crop = step, images, chosen, crop
        self.rates = np.full(len(chosen), learning_rate, np.float32)
        self.start_losses: np.ndarray | None = None
        self._best: Any = None  # the best image so far, its ascent direction and its value
        self._best_direction: Any = None
        self._best_losses: np.ndarray | None = None
        self._settled = False

    def step(self) -> np.ndarray:
        import tensorflow as tf

        direction, losses = self._step(self.images, self.chosen)
        values = losses.numpy()  # of ``self.images``: the previous step's result
        if self.start_losses is None:  # the first step's loss is the start image's
            self.start_losses = self._best_losses = values
        better = values >= self._best_losses
        keep = tf.constant(better.reshape(-1, 1, 1, 1))
        self._best = self.images if self._best is None else tf.where(keep, self.images, self._best)
        self._best_direction = direction if self._best_direction is None else \
            tf.where(keep, direction, self._best_direction)
        self._best_losses = np.where(better, values, self._best_losses)
        self.rates = np.where(better, self.rates, self.rates / 2).astype(np.float32)
        self.images = self._best + tf.constant(self.rates)[:, None, None, None] * self._best_direction
        self._settled = False
        return self._best_losses

    def _settle(self) -> None:
        """Undo the last step too where it lowered the value (no later step checks it)."""
        if self._settled or self._best is None:
            return
        import tensorflow as tf

        values = self._step.evaluate(self.images, self.chosen).numpy()
        back = tf.constant((values < self._best_losses).reshape(-1, 1, 1, 1))
        self.images = tf.where(back, self._best, self.images)
        self._settled = True

    def patterns(self) -> list[np.ndarray]:
        self._settle()
        return deprocess(self.images.numpy(), self.crop)

    def evaluate(self) -> tuple[np.ndarray, tuple[float, float]]:
        self._settle()
        images = self.images.numpy()
        return (self._step.evaluate(self.images, self.chosen).numpy(),
                (float(images.min()), float(images.max())))


def run_batches(
    result: FilterResult,
    indices: list[int],
    batch_size: int,
    start: Callable[[list[int]], AscentBatch],
    progress: Callable[[FilterProgress], None] | None,
    should_cancel: Callable[[], bool] | None,
    started: float,
) -> FilterResult:
    """Optimize ``indices`` ``batch_size`` filters at a time (``start`` makes a batch) for
    ``result.settings.steps`` steps each, with progress, previews and cancel. A filter
    whose value never moved (start, every step and end) is marked dead."""
    settings = result.settings
    for first in range(0, len(indices), batch_size):
        chunk = indices[first : first + batch_size]
        batch = start(chunk)
        low = high = None
        for step_number in range(1, settings.steps + 1):
            if should_cancel is not None and should_cancel():
                result.keep(chunk, batch.patterns(), *batch.evaluate(), partial=True)
                result.cancelled = True
                result.seconds = time.perf_counter() - started
                return result
            values = batch.step()
            low = values if low is None else np.minimum(low, values)
            high = values if high is None else np.maximum(high, values)
            if step_number == 1:
                result.start_losses.update(zip(chunk, map(float, batch.start_losses)))
            if progress is not None:
                last = step_number == settings.steps
                previews = {}
                if last or step_number % max(1, settings.preview_every) == 0:
                    previews = dict(zip(chunk, batch.patterns()))
                progress(FilterProgress(step_number, settings.steps, len(result.patterns),
                                        len(indices), len(chunk), previews))
        final, input_range = batch.evaluate()
        low, high = np.minimum(low, batch.start_losses), np.maximum(high, batch.start_losses)
        result.keep(chunk, batch.patterns(), final, input_range, partial=False,
                    seen=(np.minimum(low, final), np.maximum(high, final)))
    result.seconds = time.perf_counter() - started
    return result


def stitch_patterns(patterns: list[np.ndarray], columns: int = 8, margin: int = 5) -> np.ndarray:
    """Reference filter grid: patterns side by side with ``margin`` px black gaps."""
    if not patterns:
        raise ConvVizError("There are no filter patterns to show.")
    height, width = patterns[0].shape[:2]
    channels = patterns[0].shape[2] if patterns[0].ndim == 3 else 1
    columns = max(1, min(columns, len(patterns)))
    rows = -(-len(patterns) // columns)
    grid = np.zeros(
        (rows * height + (rows - 1) * margin, columns * width + (columns - 1) * margin, channels),
        dtype=np.uint8,
    )
    for slot, pattern in enumerate(patterns):
        row, col = divmod(slot, columns)
        top, left = row * (height + margin), col * (width + margin)
        grid[top : top + height, left : left + width] = pattern.reshape(height, width, channels)
    return grid[..., 0] if channels == 1 else grid
