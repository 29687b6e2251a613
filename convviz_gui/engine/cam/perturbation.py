"""Perturbation CAMs: no gradients, the score of many changed inputs, run in batches.

Each batch is one compiled call; progress is reported and cancel checked between batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps, batch_size_for
from convviz_gui.engine.cam.options import Option
from convviz_gui.engine.cam.scoring import (
    forward_function,
    input_spec,
    read_out,
    score_graph,
    weights_spec,
)
from convviz_gui.engine.model_cache import cached


def clean_pass(explainer: Explainer, batch: np.ndarray, weights: np.ndarray
               ) -> tuple[np.ndarray | None, float, tuple[np.ndarray, np.ndarray]]:
    """(the explainer layer's feature maps (h, w, K) or None, clean target score, clean
    outputs) from one forward pass."""
    import tensorflow as tf

    layers = (explainer.layer,) if explainer.layer else ()
    forward = forward_function(explainer.loaded, explainer.score, layers)
    taps, scores, explained, probabilities = forward(tf.constant(batch), tf.constant(weights))
    features = taps[0].numpy()[0] if layers else None
    return features, float(scores.numpy()[0]), (explained.numpy(), probabilities.numpy())


def clean_layer_pass(explainer: Explainer, batch: np.ndarray, weights: np.ndarray
                     ) -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray]]:
    """``clean_pass`` for the methods that weigh a layer's feature maps (never None)."""
    features, score, clean = clean_pass(explainer, batch, weights)
    if features is None:
        raise ValueError(f"{explainer.name} weighs a layer's feature maps: it needs a layer.")
    return features, score, clean


def softmax(values: np.ndarray) -> np.ndarray:
    """Softmax of a vector (shifted by its max: no overflow)."""
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


class ScoreCAM(Explainer):
    """Score-CAM (Wang et al. 2020, Alg. 1, Eq. 8): each feature map, upsampled to the input and
    scaled to [0, 1], masks the image (X o H_k); its weight is the softmax over maps of the
    masked images' scores (the baseline score X_b cancels in the softmax), map =
    ReLU(sum_k alpha_k A^k). By default only the ``top_n`` = 32 maps of highest variance are
    scored (the "Faster Score-CAM" variant of tf-keras-vis); ``top_n`` = 0 scores all."""

    name = "Score-CAM"
    key = "scorecam"
    long = True
    summary = "each feature map masks the image; weighted by the masked score (Wang 2020)"
    declared_options = (Option(
        "top_n", "Maps", "score only this many feature maps, those of highest variance "
        "(faster; {special}: every map)", 32, minimum=0, maximum=4096, special="all"),)

    def _masked_scores(self) -> Any:
        def build() -> Any:
            import tensorflow as tf

            graph, _ = score_graph(self.loaded, (), self.score)

            @tf.function(input_signature=[input_spec(self.loaded), tf.TensorSpec((None, None, None)),
                                          weights_spec(self.loaded)])
            def function(image: Any, maps: Any, weights: Any) -> Any:
                size = tf.shape(image)[1:3]
                masks = tf.image.resize(maps[..., None], size, method="bilinear")
                low = tf.reduce_min(masks, axis=[1, 2, 3], keepdims=True)
                span = tf.reduce_max(masks, axis=[1, 2, 3], keepdims=True) - low
                masks = tf.where(span > 0, (masks - low) / tf.where(span > 0, span, 1.0), 0.0)
                explained = graph(image * masks, training=False)
                explained = explained[0] if isinstance(explained, (list, tuple)) else explained
                return read_out(explained, weights)

            return function.get_concrete_function()

        return cached(self.loaded, ("scorecam", self.layer, self.score), build)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        import tensorflow as tf

        features, _, clean = clean_layer_pass(self, batch, weights)
        channels = features.shape[-1]
        top_n = self.options.top_n
        chosen = np.arange(channels)
        if 0 < top_n < channels:
            variance = features.reshape(-1, channels).var(axis=0)
            chosen = np.sort(np.argsort(-variance, kind="stable")[:top_n])
        maps = np.moveaxis(features[..., chosen], -1, 0)  # (n, h, w)
        masked_scores = self._masked_scores()
        image, read = tf.constant(batch), tf.constant(weights)
        scores = [masked_scores(image, tf.constant(maps[part]), read).numpy()
                  for part in steps.batches(len(maps), batch_size_for(self.loaded, self.options),
                                            f"{self.name}: masked images")]
        alphas = softmax(np.concatenate(scores))
        return Attribution(np.maximum(features[..., chosen] @ alphas, 0.0), clean)


class AblationCAM(Explainer):
    """Ablation-CAM (Desai and Ramaswamy 2020, Eq. 3): w_k = (y - y_k) / y, where y_k is the
    score with feature map k set to zero, map = ReLU(sum_k w_k A^k). Many channels are ablated
    per batch; the layers before the target run once (batch 1) and broadcast. Dividing by |y|
    instead of y keeps the weights' sign meaning "the score drops" when y < 0 (a logit)."""

    name = "Ablation-CAM"
    key = "ablationcam"
    long = True
    summary = "each channel zeroed in turn; weighted by the score drop (Desai 2020)"

    def _ablated_scores(self, channels: int, tile: bool) -> Any:
        def build() -> Any:
            import keras
            import tensorflow as tf

            keep = keras.Input((channels,), name="ablation_keep")

            def substitute(layer: Any) -> Any:
                return lambda *args, **kwargs: keras.ops.multiply(
                    layer(*args, **kwargs), keras.ops.reshape(keep, (-1, 1, 1, channels)))

            graph, _ = score_graph(self.loaded, (), self.score, {self.layer: substitute}, [keep])

            @tf.function(input_signature=[input_spec(self.loaded), tf.TensorSpec((None, channels)),
                                          weights_spec(self.loaded)])
            def function(image: Any, masks: Any, weights: Any) -> Any:
                if tile:  # a layer after the target also reads an earlier tensor (concatenation)
                    image = tf.repeat(image, tf.shape(masks)[0], axis=0)
                explained = graph([image, masks], training=False)
                explained = explained[0] if isinstance(explained, (list, tuple)) else explained
                return read_out(explained, weights)

            return function.get_concrete_function()

        return cached(self.loaded, ("ablation", self.layer, self.score, channels, tile), build)

    def _channels_per_batch(self, features: np.ndarray) -> int:
        """Ablated copies per call: the option, else as many as fit ~256 MiB of the layer's
        maps (every call runs the layers before the target once, so bigger is faster)."""
        if self.options.batch_size > 0:
            return self.options.batch_size
        return int(np.clip(2**28 // max(features.nbytes, 1), 8, 512))

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        import tensorflow as tf

        features, clean_score, clean = clean_layer_pass(self, batch, weights)
        channels = features.shape[-1]
        keep = 1.0 - np.eye(channels, dtype=np.float32)
        image, read = tf.constant(batch), tf.constant(weights)
        tile = bool(self.loaded.cache.get(("ablation_tiles", self.layer), False))
        scores = []
        for part in steps.batches(channels, self._channels_per_batch(features),
                                  f"{self.name}: ablated channels"):
            try:
                scores.append(self._ablated_scores(channels, tile)(image, tf.constant(keep[part]),
                                                                   read).numpy())
            except (tf.errors.InvalidArgumentError, ValueError):
                if tile:
                    raise
                tile = self.loaded.cache[("ablation_tiles", self.layer)] = True
                scores.append(self._ablated_scores(channels, tile)(image, tf.constant(keep[part]),
                                                                   read).numpy())
        drops = (clean_score - np.concatenate(scores)) / max(abs(clean_score), 1e-7)
        return Attribution(np.maximum(features @ drops.astype(np.float32), 0.0), clean)
