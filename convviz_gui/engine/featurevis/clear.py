"""The clear style (Olah et al., "Feature Visualization", Distill 2017; Lucid's
``render_vis``): Adam on the Fourier coefficients of a colour-decorrelated image kept in the
model's input range, under random transformations, through the shared batches, progress,
previews and cancel (``batches.run_batches``)."""

from __future__ import annotations

import itertools
import math
import time
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from convviz_gui.engine.featurevis import regularizers
from convviz_gui.engine.featurevis.batches import ascent_size, run_batches
from convviz_gui.engine.featurevis.objectives import Target, diversity, resolve_target, target_values
from convviz_gui.engine.featurevis.parameterization import FourierImage
from convviz_gui.engine.featurevis.preactivation import optimized
from convviz_gui.engine.featurevis.preprocessing import model_input_range, tensor_preprocess
from convviz_gui.engine.featurevis.results import FilterResult, Progress, ShouldCancel, stitch_patterns
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.featurevis.transforms import random_view
from convviz_gui.engine.layers import LayerPath, resolve_layer
from convviz_gui.engine.model_cache import cached

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

VARIANT_MARGIN = 2  # px between the variants of one filter in its tile


class ClearStep:
    """Compiled pieces for one target, image size and batch: the coefficients variable,
    its Adam optimizer, and ``step`` / ``pixels`` / ``evaluate`` functions.

    Kept in ``loaded.cache`` and reset for every batch (one filter job at a time).
    """

    def __init__(self, loaded: LoadedModel, target: Target, settings: FilterSettings, height: int,
                 width: int, batch: int) -> None:
        clear = settings.clear
        self.image = FourierImage(height, width, loaded.channels, clear.decorrelate,
                                  clear.decay_power)
        self.coefficients = keras.Variable(np.zeros(self.image.coefficient_shape(batch), np.float32),
                                           name="fourier_coefficients")
        self.optimizer = keras.optimizers.Adam(settings.learning_rate)
        self.optimizer.build([self.coefficients])
        self._fresh = [variable.numpy() for variable in self.optimizer.variables]
        with_features = clear.diversity > 0 and clear.variants > 1
        values_of = target_values(loaded, target, settings.border, height, width, with_features)
        to_model = tensor_preprocess(loaded, settings.preset)
        sign = -1.0 if clear.negative else 1.0
        indices_spec = tf.TensorSpec((batch,), tf.int32)

        @tf.function(input_signature=[indices_spec, tf.TensorSpec((2,), tf.int32)], autograph=False)
        def step(indices: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
            # Only the coefficients are watched, never the weights (oneDNN issue 6035).
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(self.coefficients.value)
                pixels = self.image.pixels(self.coefficients.value)
                seen = random_view(pixels, seed) if clear.transforms else pixels
                values, features = values_of(to_model(seen), indices)
                gain = sign * values
                # Penalties are weighed against each image's own objective magnitude.
                magnitude = tf.stop_gradient(tf.abs(values))
                penalty = regularizers.penalty(pixels, clear)
                if penalty is not None:
                    gain -= magnitude * penalty
                if with_features:
                    gain -= clear.diversity * magnitude * diversity(features, clear.variants)
                loss = -tf.reduce_sum(gain)  # images are independent: one backward pass
            gradient = tape.gradient(loss, self.coefficients.value)
            self.optimizer.apply_gradients([(gradient, self.coefficients)])
            return values

        @tf.function(autograph=False)
        def pixels() -> tf.Tensor:
            return self.image.pixels(self.coefficients.value)

        @tf.function(input_signature=[indices_spec], autograph=False)
        def evaluate(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            inputs = to_model(self.image.pixels(self.coefficients.value))
            values, _ = values_of(inputs, indices)
            return values, tf.reduce_min(inputs, axis=[1, 2, 3]), tf.reduce_max(inputs, axis=[1, 2, 3])

        self.step, self.pixels, self.evaluate = step, pixels, evaluate
        # Traced now, inside ``cached``: at the active precision (``engine.precision``).
        step.get_concrete_function()
        evaluate.get_concrete_function()

    def reset(self, start: np.ndarray) -> None:
        """New start coefficients and a fresh optimizer state."""
        self.coefficients.assign(start)
        self.optimizer.set_weights(self._fresh)


def _compiled(loaded: LoadedModel, target: Target, settings: FilterSettings, height: int, width: int,
              batch: int) -> ClearStep:
    """The ``ClearStep`` of these settings, target, size and batch, compiled once per model."""
    key = ("clear", target, settings.border, settings.learning_rate, settings.clear, settings.preset,
           height, width, batch)
    return cached(loaded, key, lambda: ClearStep(loaded, target, settings, height, width, batch))


class ClearBatch:
    """One batch of filters (each with its variants), padded to the compiled batch size by
    repeating the last filter."""

    def __init__(self, compiled: ClearStep, chunk: list[int], size: int, settings: FilterSettings,
                 rng: np.random.Generator, number: int, crop: int) -> None:
        self.compiled, self.count, self.crop = compiled, len(chunk), crop
        self.variants = settings.clear.variants
        padded = chunk + [chunk[-1]] * (size - len(chunk))
        self.indices = tf.constant(np.repeat(padded, self.variants), tf.int32)
        compiled.reset(compiled.image.start(len(padded) * self.variants, rng))
        self.seeds = ((settings.seed, number * settings.steps + step) for step in itertools.count(1))
        self.start_losses = self._per_filter(compiled.evaluate(self.indices)[0])

    def _per_filter(self, values: Any) -> np.ndarray:
        """A filter's value: the mean over its variants (padding dropped)."""
        return np.asarray(values).reshape(-1, self.variants).mean(axis=1)[: self.count]

    def step(self) -> np.ndarray:
        return self._per_filter(self.compiled.step(self.indices, tf.constant(next(self.seeds), tf.int32)))

    def patterns(self) -> list[np.ndarray]:
        images = np.clip(np.rint(self.compiled.pixels().numpy()), 0, 255).astype(np.uint8)
        if images.shape[-1] == 1:
            images = images[..., 0]  # grayscale models: (h, w)
        if self.crop:
            images = images[:, self.crop : -self.crop, self.crop : -self.crop]
        columns = math.ceil(math.sqrt(self.variants))
        return [images[first] if self.variants == 1 else
                stitch_patterns(list(images[first : first + self.variants]), columns, VARIANT_MARGIN)
                for first in range(0, self.count * self.variants, self.variants)]

    def previews(self) -> list[np.ndarray]:
        """The images so far (the pixels need no network pass)."""
        return self.patterns()

    def evaluate(self) -> tuple[np.ndarray, tuple[float, float]]:
        values, low, high = (np.asarray(part) for part in self.compiled.evaluate(self.indices))
        kept = self.count * self.variants
        return self._per_filter(values), (float(low[:kept].min()), float(high[:kept].max()))


def visualize_clear(
    loaded: LoadedModel,
    layer: LayerPath | None,
    indices: list[int],
    settings: FilterSettings,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> FilterResult:
    """Clear-style patterns of ``indices`` (channels, units or classes, as the objective
    says) of ``layer`` (ignored for ``class``: the model's output layer)."""
    clear = settings.clear
    target = resolve_target(loaded, layer, clear, indices)
    settings.check_counts()
    started = time.perf_counter()
    (height, width), size_note = ascent_size(loaded, target.path, settings)
    per_batch = settings.batch_size or max(1, settings.batch_for(height, width) // clear.variants)
    per_batch = min(per_batch, len(indices))
    compiled = _compiled(loaded, target, settings, height, width, per_batch * clear.variants)
    # As in the reference, the border is cut for display: the optimizer draws lines along
    # the image's edge, where the model always sees it meet the padding.
    crop = settings.crop_pixels(min(height, width))
    rng = np.random.default_rng(settings.seed)
    numbers = itertools.count()
    result = FilterResult(target.path, {}, {}, {}, settings, 0.0, (height, width), size_note,
                          model_range=model_input_range(loaded, settings.preset),
                          optimized=optimized(resolve_layer(loaded.keras_model, target.path),
                                              target.objective))

    def start(chunk: list[int]) -> ClearBatch:
        return ClearBatch(compiled, chunk, per_batch, settings, rng, next(numbers), crop)

    return run_batches(result, indices, per_batch, start, progress, should_cancel, started)
