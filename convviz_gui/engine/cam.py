"""Class activation maps: one base class, one small subclass per method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath, find_layer
from convviz_gui.engine.normalize import unit_range


@dataclass(frozen=True)
class Prediction:
    """One class of the model's answer."""

    index: int
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready prediction."""
        return {"index": self.index, "label": self.label, "score": round(self.score, 6)}


@dataclass(frozen=True)
class CamResult:
    """A heatmap in [0, 1] at the layer's resolution, with what it explains."""

    heatmap: np.ndarray  # (h, w) float32
    class_index: int
    label: str
    score: float
    layer: LayerPath
    method: str

    # Longest side the heatmap is upsampled to when looking for the peak (as images.DISPLAY_MAX_SIDE):
    # a 40 MP photo's peak is found at this size and scaled, never in a full-size float map.
    PEAK_MAX_SIDE: ClassVar[int] = 2048

    def upsampled(self, width: int, height: int) -> np.ndarray:
        """The heatmap resized (bilinear) to an image size; all-zero stays all-zero."""
        resized = Image.fromarray(self.heatmap.astype(np.float32), mode="F").resize(
            (width, height), Image.Resampling.BILINEAR
        )
        return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)

    def peak_xy(self, width: int, height: int) -> tuple[int, int]:
        """(x, y) of the heatmap maximum in an image of that size; sizes above
        ``PEAK_MAX_SIDE`` are searched at that long side and scaled (pixel centres)."""
        factor = min(1.0, self.PEAK_MAX_SIDE / max(width, height))
        small_width, small_height = max(1, round(width * factor)), max(1, round(height * factor))
        up = self.upsampled(small_width, small_height)
        y, x = np.unravel_index(int(np.argmax(up)), up.shape)
        return (min(width - 1, int((x + 0.5) * width / small_width)),
                min(height - 1, int((y + 0.5) * height / small_height)))

    def to_dict(self, image_size: tuple[int, int]) -> dict[str, Any]:
        """JSON-ready summary; ``peak_xy`` in the coordinates of ``image_size`` (w, h)."""
        return {
            "class_index": self.class_index,
            "label": self.label,
            "score": round(self.score, 6),
            "layer": "/".join(self.layer),
            "method": self.method,
            "heatmap_shape": list(self.heatmap.shape),
            "peak_xy": list(self.peak_xy(*image_size)),
        }


def class_score(outputs: Any, class_index: Any, kind: str) -> Any:
    """The scalar (per image) that a CAM explains.

    Classification: the output for the class. Segmentation: the mean probability of
    the class over the pixels predicted as that class, or over the whole image if none.
    """
    import tensorflow as tf

    if kind != "segmentation":
        return tf.gather(outputs, class_index, axis=-1)
    probability = tf.gather(outputs, class_index, axis=-1)  # (B, H, W)
    predicted = tf.cast(tf.equal(tf.argmax(outputs, axis=-1, output_type=tf.int32), class_index),
                        probability.dtype)
    count = tf.reduce_sum(predicted, axis=[1, 2])
    masked = tf.reduce_sum(probability * predicted, axis=[1, 2]) / tf.maximum(count, 1.0)
    return tf.where(count > 0, masked, tf.reduce_mean(probability, axis=[1, 2]))


class BaseCAM:
    """Gradient-weighted CAM skeleton: subclasses only say how channels are weighted."""

    name: ClassVar[str] = "base"

    def __init__(self, loaded: Any, layer: LayerPath | None = None) -> None:
        if layer is None:
            default = loaded.default_cam_layer()
            if default is None:
                raise ConvVizError(f"{loaded.name} has no layer with spatial output to explain.")
            layer = default.path
        info = find_layer(loaded.layer_tree, "/".join(layer))
        if info is None or not info.spatial:
            raise ConvVizError(f"{'/'.join(layer)} has no spatial output; choose a conv layer.")
        self.loaded = loaded
        self.layer = tuple(info.path)
        self._function = self._compiled()

    def weighted_map(self, features: Any, grads: Any) -> Any:
        """(B, h, w) map from features and gradients (TensorFlow ops); override me."""
        raise NotImplementedError

    def _compiled(self) -> Any:
        key = ("cam", self.name, self.layer)
        function = self.loaded.cache.get(key)
        if function is not None:
            return function
        import tensorflow as tf

        from convviz_gui.engine.taps import build_tap_model

        model = self.loaded.keras_model
        grad_model = build_tap_model(model, [self.layer], with_outputs=True)
        kind = self.loaded.output_kind
        spec = tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)

        @tf.function(input_signature=[spec, tf.TensorSpec((), tf.int32)])
        def function(batch, class_index):
            # No weight gradients (oneDNN, see engine/__init__.py): the features come out of
            # the same call as the outputs, so the input is watched to put them on the tape.
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(batch)
                features, outputs = grad_model(batch, training=False)[:2]
                scores = class_score(outputs, class_index, kind)
            grads = tape.gradient(scores, features)
            return tf.nn.relu(self.weighted_map(features, grads)), scores, outputs

        # The concrete function skips tf.function's per-call signature lookup (~0.5 ms).
        concrete = function.get_concrete_function()
        self.loaded.cache[key] = concrete
        return concrete

    def __call__(self, batch: np.ndarray, class_index: int) -> CamResult:
        """Heatmap for ``class_index`` on the first image of ``batch``."""
        import tensorflow as tf

        if not 0 <= class_index < self.loaded.class_count:
            raise ConvVizError(
                f"Class {class_index} does not exist; the model has {self.loaded.class_count}."
            )
        raw, scores, outputs = self._function(
            tf.constant(batch, tf.float32), tf.constant(class_index, tf.int32)
        )
        if not np.all(np.isfinite(outputs.numpy())):
            raise ConvVizError("The model produced NaN or infinite outputs for this image.")
        return CamResult(
            heatmap=unit_range(raw.numpy()[0]),
            class_index=class_index,
            label=self.loaded.labels[class_index],
            score=float(scores.numpy()[0]),
            layer=self.layer,
            method=self.name,
        )


class GradCAM(BaseCAM):
    """Grad-CAM: channel weights are the spatial mean of the gradients (reference)."""

    name = "Grad-CAM"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: positive gradients weighted by second/third-order terms."""

    name = "Grad-CAM++"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        grads_2, grads_3 = grads**2, grads**3
        feature_sum = tf.reduce_sum(features, axis=[1, 2], keepdims=True)
        denominator = 2.0 * grads_2 + feature_sum * grads_3
        denominator = tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
        alphas = grads_2 / denominator
        weights = tf.reduce_sum(alphas * tf.nn.relu(grads), axis=[1, 2], keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class HiResCAM(BaseCAM):
    """HiResCAM: gradients times features element-wise, faithful to the score."""

    name = "HiResCAM"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_sum(features * grads, axis=-1)


CAM_METHODS: dict[str, type[BaseCAM]] = {
    cls.name: cls for cls in (GradCAM, GradCAMPlusPlus, HiResCAM)
}


def make_cam(loaded: Any, layer: LayerPath | None = None, method: str = "Grad-CAM") -> BaseCAM:
    """A CAM explainer by method name."""
    if method not in CAM_METHODS:
        raise ConvVizError(f"Unknown CAM method '{method}'. Choose one of {', '.join(CAM_METHODS)}.")
    return CAM_METHODS[method](loaded, layer)


def predict(loaded: Any, batch: np.ndarray, top: int = 5) -> list[Prediction]:
    """Top-k classes; segmentation models rank classes by their share of pixels."""
    from convviz_gui.engine.taps import compiled_taps

    outputs = compiled_taps(loaded, [], with_outputs=True)(np.asarray(batch, np.float32))[0]
    values = outputs.numpy()[0]
    if not np.all(np.isfinite(values)):
        raise ConvVizError("The model produced NaN or infinite outputs for this image.")
    if loaded.output_kind == "segmentation":
        predicted = values.argmax(axis=-1)
        scores = np.bincount(predicted.ravel(), minlength=values.shape[-1]) / predicted.size
    else:
        scores = values.reshape(-1)
    order = np.argsort(-scores, kind="stable")[: max(1, top)]
    return [Prediction(int(i), loaded.labels[int(i)], float(scores[i])) for i in order]


def predicted_mask(loaded: Any, batch: np.ndarray) -> np.ndarray:
    """Per-pixel argmax class map of a segmentation model, (H, W) int."""
    from convviz_gui.engine.taps import compiled_taps

    outputs = compiled_taps(loaded, [], with_outputs=True)(np.asarray(batch, np.float32))[0]
    return outputs.numpy()[0].argmax(axis=-1)


def resolve_class(loaded: Any, value: str | int | None, predictions: list[Prediction]) -> int:
    """Class index from an index, a label (case-insensitive) or None (top prediction)."""
    if value is None or value == "":
        return predictions[0].index
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    lowered = [label.lower() for label in loaded.labels]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    raise ConvVizError(f"'{text}' is not a class of this model (e.g. {loaded.labels[0]}).")
