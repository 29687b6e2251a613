"""Grad-CAM benchmark: compiled forward pass vs reference Grad-CAM vs ConvViz, one process.

Run by hand: ``python bench/gradcam.py``. Targets: ConvViz/forward <= 1.25 and
reference/ConvViz >= 3. Ends with one JSON line.
"""

from __future__ import annotations

import argparse

import benchlib  # noqa: F401  (sys.path and environment first)
import numpy as np

import convviz_gui.engine  # noqa: F401  (TensorFlow environment before TF loads)
from convviz_gui.engine.cam import make_cam
from convviz_gui.engine.images import load_image
from convviz_gui.engine.models import demo_image_path, load_application, load_demo


def reference_gradcam(model, image_array, last_conv_layer_name, pred_index=None):
    """The notebooks' Grad-CAM: builds the gradient model on every call, runs eagerly."""
    import keras
    import tensorflow as tf

    # model.outputs[0] where the notebook writes model.output: legacy .h5 models give a list.
    grad_model = keras.models.Model(
        model.inputs[0], [model.get_layer(last_conv_layer_name).output, model.outputs[0]]
    )
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(image_array)
        if pred_index is None:
            pred_index = tf.argmax(preds[0])
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = last_conv_layer_output[0] @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    heatmap = tf.maximum(heatmap, 0) / tf.math.reduce_max(heatmap)
    return heatmap.numpy()


def compiled_forward(model):
    """One compiled forward pass (tf.function), the floor every method is compared with."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)
    return tf.function(lambda batch: model(batch, training=False), input_signature=[spec])


def bench_model(loaded, batch: np.ndarray, layer: str, runs: int) -> dict:
    """Times of the three methods and the agreement of the two heatmaps."""
    import tensorflow as tf

    model = loaded.keras_model
    forward = compiled_forward(model)
    tensor = tf.constant(batch)
    class_index = int(np.argmax(forward(tensor).numpy()[0]))
    path = (layer,)

    def ours():
        return make_cam(loaded, path, "Grad-CAM")(batch, class_index)

    forward_s = benchlib.median_seconds(lambda: forward(tensor).numpy(), runs)
    reference_s = benchlib.median_seconds(
        lambda: reference_gradcam(model, batch, layer, class_index), runs)
    ours_s = benchlib.median_seconds(ours, runs)
    reference_map = np.nan_to_num(reference_gradcam(model, batch, layer, class_index))
    difference = float(np.abs(ours().heatmap - reference_map).max())
    return {"forward_s": forward_s, "reference_s": reference_s, "convviz_s": ours_s,
            "max_abs_difference": difference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    xception = load_application("Xception", weights="none")
    elephant_stand_in = load_image(benchlib.SHARED_IMAGES / "chelsea.png")
    demo = load_demo()
    cases = [
        ("Xception 299 px", xception, xception.prepare(elephant_stand_in), "block14_sepconv2_act"),
        ("demo mini-Xception 64 px", demo, demo.prepare(load_image(demo_image_path())),
         demo.default_cam_layer().name),
    ]
    figures: dict = {}
    for title, loaded, batch, layer in cases:
        measured = bench_model(loaded, batch, layer, args.runs)
        c_over_a = measured["convviz_s"] / measured["forward_s"]
        b_over_c = measured["reference_s"] / measured["convviz_s"]
        benchlib.print_table(f"Grad-CAM, {title}, layer {layer} (median of {args.runs})", [
            ("(a) compiled forward pass (s)", f"{measured['forward_s']:.4f}", ""),
            ("(b) reference Grad-CAM, model built per call (s)", f"{measured['reference_s']:.4f}", ""),
            ("(c) ConvViz Grad-CAM, engine API (s)", f"{measured['convviz_s']:.4f}", ""),
            ("c/a  gradcam_over_forward", f"{c_over_a:.2f}",
             f"<= 1.25  {benchlib.verdict(c_over_a <= 1.25)}"),
            ("b/c  reference_over_gradcam", f"{b_over_c:.2f}",
             f">= 3     {benchlib.verdict(b_over_c >= 3)}"),
            ("max |ConvViz - reference| heatmap", f"{measured['max_abs_difference']:.2e}", "~0"),
        ])
        if not figures:  # the JSON carries the Xception (reference) figures
            figures = {"gradcam_over_forward": c_over_a, "reference_over_gradcam": b_over_c}
        else:
            figures.update({"demo_gradcam_over_forward": c_over_a,
                            "demo_reference_over_gradcam": b_over_c})
    benchlib.print_json(figures)


if __name__ == "__main__":
    main()
