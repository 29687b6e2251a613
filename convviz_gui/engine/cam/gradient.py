"""Gradient-weighted CAMs: one compiled forward+backward pass, a different channel weighting.

Notation: A^k the k-th feature map of the layer, g^k = dy/dA^k the gradient of the explained
score y there, (i, j) a position. Every map is ReLU(...) of what ``weighted_map`` returns.
"""

from __future__ import annotations

from typing import Any

from convviz_gui.engine.cam.compiled import CompiledExplainer
from convviz_gui.engine.cam.scoring import input_spec, read_out, score_graph, weights_spec
from convviz_gui.engine.model_cache import cached


class GradientCAM(CompiledExplainer):
    """Skeleton of the gradient CAMs: subclasses only say how channels are weighted."""

    def weighted_map(self, features: Any, grads: Any) -> Any:
        """(B, h, w) map from features and gradients (TensorFlow ops); override me."""
        raise NotImplementedError

    def _compiled(self) -> Any:
        def build() -> Any:
            import tensorflow as tf

            graph, finish = score_graph(self.loaded, (self.layer,), self.score)

            @tf.function(input_signature=[input_spec(self.loaded),
                                          weights_spec(self.loaded, per_image=True)])
            def function(batch: Any, weights: Any) -> Any:
                # No weight gradients (oneDNN, see engine/__init__.py): the features come out of
                # the same call as the outputs, so the input is watched to put them on the tape.
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(batch)
                    features, explained = graph(batch, training=False)[:2]
                    scores = read_out(explained, weights)
                grads = tape.gradient(scores, features)
                return tf.nn.relu(self.weighted_map(features, grads)), explained, finish(explained)

            # The concrete function skips tf.function's per-call signature lookup (~0.5 ms).
            return function.get_concrete_function()

        return cached(self.loaded, ("cam", self.name, self.layer, self.score), build)


class GradCAM(GradientCAM):
    """Grad-CAM (Selvaraju et al. 2017, Eqs. 1-2): alpha_k = mean_ij g^k_ij,
    map = ReLU(sum_k alpha_k A^k). The reference notebook's method."""

    name = "Grad-CAM"
    key = "gradcam"
    summary = "mean gradient per channel (Selvaraju 2017)"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class GradCAMPlusPlus(GradientCAM):
    """Grad-CAM++ (Chattopadhay et al. 2018, Eqs. 10 and 19): alpha^k_ij =
    g^2 / (2 g^2 + sum_ab A^k_ab g^3), w_k = sum_ij alpha^k_ij ReLU(g^k_ij), with the
    higher derivatives of the exponential of the (pre-softmax) score, as in the paper."""

    name = "Grad-CAM++"
    key = "gradcam++"
    summary = "positive gradients weighted per position: several objects (Chattopadhay 2018)"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        grads_2, grads_3 = grads**2, grads**3
        feature_sum = tf.reduce_sum(features, axis=[1, 2], keepdims=True)
        denominator = 2.0 * grads_2 + feature_sum * grads_3
        denominator = tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
        alphas = grads_2 / denominator
        weights = tf.reduce_sum(alphas * tf.nn.relu(grads), axis=[1, 2], keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class HiResCAM(GradientCAM):
    """HiResCAM (Draelos and Carin 2020, Eq. 5): map = sum_k g^k * A^k element-wise,
    provably faithful to the score when the layer is followed by a linear head."""

    name = "HiResCAM"
    key = "hirescam"
    summary = "gradient times feature map at each position, faithful to the score (Draelos 2020)"
    reduced_precision_ok = False  # bfloat16: Pearson r 0.978 with float32 on VGG16 (< 0.98)

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_sum(features * grads, axis=-1)


class XGradCAM(GradientCAM):
    """XGrad-CAM (Fu et al. 2020, Eq. 9): w_k = sum_ij (A^k_ij / sum_ab A^k_ab) g^k_ij,
    the weights that best satisfy their sensitivity and conservation axioms."""

    name = "XGrad-CAM"
    key = "xgradcam"
    summary = "gradients averaged with the feature map's own weights (Fu 2020)"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        total = tf.reduce_sum(features, axis=[1, 2], keepdims=True)
        share = features / tf.where(total != 0.0, total, tf.ones_like(total))
        weights = tf.reduce_sum(share * grads, axis=[1, 2], keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class LayerCAM(GradientCAM):
    """Layer-CAM (Jiang et al. 2021, Eqs. 5-6): map = sum_k ReLU(g^k_ij) A^k_ij, a weight per
    position, so shallow layers give fine-grained maps."""

    name = "Layer-CAM"
    key = "layercam"
    summary = "positive gradient per position: fine maps from shallow layers (Jiang 2021)"

    def weighted_map(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_sum(features * tf.nn.relu(grads), axis=-1)
