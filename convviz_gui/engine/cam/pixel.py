"""Pixel attributions: gradients with respect to the input, maps at input resolution.

A colour image's per-channel attribution is reduced to one map per pixel: the largest
absolute channel for gradient maps (Simonyan 2014, Sec. 3.1), the channel sum for
Integrated Gradients (its completeness axiom is a sum).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps, batch_size_for
from convviz_gui.engine.cam.baselines import BASELINES, baseline
from convviz_gui.engine.cam.gradient import GradCAM
from convviz_gui.engine.cam.options import Option
from convviz_gui.engine.cam.scoring import input_spec, read_out, score_graph, weights_spec
from convviz_gui.engine.layers import iter_layers, resolve_layer
from convviz_gui.engine.model_cache import cached

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


def _is_relu(layer: Any) -> bool:
    if type(layer).__name__ == "ReLU":
        return True
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", "") == "relu"


def guided_substitutes(loaded: LoadedModel) -> dict:
    """Every ReLU of the model (ReLU and Activation layers, and layers with
    ``activation="relu"``) followed, in a rebuilt graph only, by a gate whose gradient is
    ReLU(upstream): with the ReLU's own (forward > 0) mask this is guided backpropagation."""
    import keras
    import tensorflow as tf

    class GuidedGate(keras.layers.Layer):
        """Identity forward; lets only positive gradients back (Springenberg 2015, Eq. 2c)."""

        def call(self, inputs: Any) -> Any:
            @tf.custom_gradient
            def gate(x: Any) -> Any:
                return tf.identity(x), lambda upstream: tf.nn.relu(upstream)

            return gate(inputs)

    def gated(gate: Any) -> Any:
        return lambda layer: lambda *args, **kwargs: gate(layer(*args, **kwargs))

    model = loaded.keras_model
    return {node.path: gated(GuidedGate(name="guided_" + "_".join(node.path)))
            for node in iter_layers(loaded.layer_tree)
            if not node.is_container and _is_relu(resolve_layer(model, node.path))}


def input_gradients(loaded: LoadedModel, score: str, guided: bool = False) -> Any:
    """Compiled ``(batch, weights) -> (d score / d input, explained, probabilities)``."""

    def build() -> Any:
        import tensorflow as tf

        graph, finish = score_graph(loaded, (), score, guided_substitutes(loaded) if guided else None)

        @tf.function(input_signature=[input_spec(loaded), weights_spec(loaded)])
        def function(batch: Any, weights: Any) -> Any:
            with tf.GradientTape(watch_accessed_variables=False) as tape:  # no weight gradients
                tape.watch(batch)
                explained = graph(batch, training=False)
                explained = explained[0] if isinstance(explained, (list, tuple)) else explained
                scores = read_out(explained, weights)
            return tape.gradient(scores, batch), explained, finish(explained)

        return function.get_concrete_function()

    return cached(loaded, ("input_gradients", score, guided), build)


def gradients_of(explainer: Explainer, images: np.ndarray, weights: np.ndarray, steps: Steps,
                 guided: bool = False) -> tuple[np.ndarray, tuple | None]:
    """Input gradients of many images in batches; the outputs of the first image too."""
    import tensorflow as tf

    function = input_gradients(explainer.loaded, explainer.score, guided)
    read = tf.constant(weights)
    grads, clean = [], None
    for part in steps.batches(len(images), batch_size_for(explainer.loaded, explainer.options),
                              f"{explainer.name}: gradients"):
        found, explained, probabilities = function(tf.constant(images[part]), read)
        grads.append(found.numpy())
        clean = clean or (explained.numpy()[:1], probabilities.numpy()[:1])
    return np.concatenate(grads), clean


def channel_max_abs(grads: np.ndarray) -> np.ndarray:
    """(H, W) largest absolute value over channels of one (H, W, C) gradient."""
    return np.abs(grads).max(axis=-1)


class Saliency(Explainer):
    """Vanilla gradient saliency (Simonyan et al. 2014, Sec. 3.1): M_ij = max_c |dy/dx_ijc|."""

    name = "Saliency"
    key = "saliency"
    uses_layer = False
    resolution = "input"
    summary = "absolute gradient of the score per pixel (Simonyan 2014)"
    reduced_precision_ok = False  # bfloat16: Pearson r 0.970 with float32 on the demo

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        grads, clean = gradients_of(self, batch, weights, steps)
        return Attribution(channel_max_abs(grads[0]), clean)


class SmoothGrad(Explainer):
    """SmoothGrad (Smilkov et al. 2017, Eq. 3): the gradient averaged over ``samples`` copies
    of the image with Gaussian noise of standard deviation ``noise`` x (max - min) of the
    input, then max_c |.| as for saliency. The noise is seeded: the same map every run."""

    name = "SmoothGrad"
    key = "smoothgrad"
    uses_layer = False
    resolution = "input"
    long = True
    summary = "gradients averaged over noisy copies of the image (Smilkov 2017)"
    reduced_precision_ok = False  # bfloat16: Pearson r 0.975 with float32 on the demo
    declared_options = (
        Option("samples", "Samples", "noisy copies of the image averaged", 25, minimum=1,
               maximum=500),
        Option("noise", "Noise", "noise standard deviation, a fraction of the input's range "
               "(0.1-0.2 in the paper)", 0.15, minimum=0.0, maximum=1.0, step=0.05),
    )

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        sigma = self.options.noise * float(np.ptp(batch) or 1.0)
        noise = np.random.default_rng(0).normal(0.0, sigma, (self.options.samples, *batch.shape[1:]))
        grads, _ = gradients_of(self, (batch + noise).astype(np.float32), weights, steps)
        return Attribution(channel_max_abs(grads.mean(axis=0)))


class IntegratedGradients(Explainer):
    """Integrated Gradients (Sundararajan et al. 2017, Eq. 3): (x - x') times the mean gradient
    on the straight path from the baseline x' (black or blurred) to x, at ``steps`` midpoints;
    summed over channels. Signed: drawn around zero by default (red raises the score, blue
    lowers it), or its positive part only (option ``sign``)."""

    name = "Integrated Gradients"
    key = "integrated-gradients"
    uses_layer = False
    resolution = "input"
    long = True
    summary = "gradients integrated from a black or blurred baseline (Sundararajan 2017)"
    sign_default = "signed"
    declared_options = (
        Option("steps", "Steps", "points on the path from the baseline", 32, minimum=2,
               maximum=1024),
        Option("baseline", "Baseline", "the image the path starts from", "black",
               choices=BASELINES),
    )

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        start = baseline(self.options.baseline, self.loaded, batch, self.preset)
        alphas = ((np.arange(self.options.steps) + 0.5) / self.options.steps).astype(np.float32)
        path = start + alphas[:, None, None, None] * (batch - start)
        grads, _ = gradients_of(self, path, weights, steps)
        return Attribution(((batch[0] - start[0]) * grads.mean(axis=0)).sum(axis=-1))


class GuidedBackprop(Explainer):
    """Guided Backpropagation (Springenberg et al. 2015, Fig. 1): gradients through every ReLU
    only where both its input and the incoming gradient are positive; max_c |.| per pixel.
    Computed in a rebuilt graph (``guided_substitutes``): the user's model is unchanged."""

    name = "Guided Backprop"
    key = "guided-backprop"
    uses_layer = False
    resolution = "input"
    summary = "gradients through positive ReLU paths only: fine edges (Springenberg 2015)"
    reduced_precision_ok = False  # bfloat16: Pearson r 0.978 (VGG16), 0.970 (ResNet50V2)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        grads, clean = gradients_of(self, batch, weights, steps, guided=True)
        return Attribution(channel_max_abs(grads[0]), clean)


class GuidedGradCAM(Explainer):
    """Guided Grad-CAM (Selvaraju et al. 2017, Sec. 3.2): Guided Backpropagation times the
    Grad-CAM map of the layer upsampled (bilinear) to the input: fine and class-specific."""

    name = "Guided Grad-CAM"
    key = "guided-gradcam"
    resolution = "input"
    summary = "guided backpropagation times the Grad-CAM map (Selvaraju 2017)"
    reduced_precision_ok = False  # bfloat16: r 0.980 (VGG16), 0.967 (ResNet50V2)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        import tensorflow as tf

        cam = GradCAM(self.loaded, self.layer, self.score, self.options, self.preset)
        coarse = cam.attribute(batch, weights, steps)
        grads, _ = gradients_of(self, batch, weights, steps, guided=True)
        size = batch.shape[1:3]
        up = tf.image.resize(np.asarray(coarse.raw, np.float32)[..., None], size, "bilinear")
        return Attribution(channel_max_abs(grads[0]) * up.numpy()[..., 0], coarse.clean)
