"""Grad-CAM benchmark: compiled forward pass vs reference Grad-CAM vs ConvViz.

Run by hand: ``python bench/gradcam.py``. Targets: ConvViz/forward <= 1.25 and
reference/ConvViz >= 3. Then every method of issue 11 on Xception 299 as a multiple of one
compiled forward pass: Score-CAM's default (32 highest-variance maps) <= 40 on
block14_sepconv2_act, the faithfulness metrics well under the number of images they
evaluate, the demo's metrics < 2 s (``--methods-only`` runs just this table, ``--methods
rise,gradcam`` only these methods in it; ``--all-maps`` adds Score-CAM on all 2048 maps);
the LRP methods <= 3 forward passes each (``--lrp-only`` runs just those); RISE (its
default: 4000 masks at 299 px, in batches) < 4000 forward passes; ROAD's imputations (part
of the metrics) are timed on their own. Ends with one JSON line.

Beside the ratios, the GFLOP per CPU second and per second of the forward pass and of
Grad-CAM (FLOPs counted per layer from the Keras graph, ``flopcount.py``; Grad-CAM is a
forward pass plus a backward pass through the head only) as a share of a large float32
matmul's measured in the same run (``flops.py``), with the bfloat16 matmul and where
depthwise convolutions sit.

oneDNN (on by default): the reference, the notebooks' code, runs eagerly, and eagerly a
tape's backward pass goes through every layer it recorded, down to the input, computing
each Conv2D's input AND kernel gradients (TensorFlow's Conv2D gradient returns both;
``watch_accessed_variables=False`` with ``tape.watch(input)`` does not avoid it eagerly, and
the notebook's tape cannot watch the layer output before the head consumes it). The demo
model has a 1x1 stride-2 conv on 8 channels, whose oneDNN kernel gradient corrupts the heap
(oneDNN issue 6035). So the reference runs unchanged in its own process (``--reference
CASE``): with this process's settings first and, if it dies, again with oneDNN off; the
table says which. ConvViz's compiled tape prunes the kernel gradients, so it runs here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import benchlib
import flops
import numpy as np

import convviz_gui.engine  # noqa: F401  (TensorFlow environment before TF loads)
from convviz_gui.engine.cam import make_cam
from convviz_gui.engine.images import load_image
from convviz_gui.engine.models import demo_image_path, load_application, load_demo

CASES = {"xception": "Xception 299 px", "demo": "demo mini-Xception 64 px"}


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


def load_case(name: str) -> tuple[object, np.ndarray, str]:
    """(loaded model, batch, layer) of a case, identical in every process (seeded weights)."""
    import keras

    if name == "xception":
        keras.utils.set_random_seed(0)
        loaded = load_application("Xception", weights="none")
        elephant_stand_in = load_image(benchlib.SHARED_IMAGES / "chelsea.png")
        return loaded, loaded.prepare(elephant_stand_in), "block14_sepconv2_act"
    loaded = load_demo()
    return loaded, loaded.prepare(load_image(demo_image_path())), loaded.default_cam_layer().name


def reference_main(name: str, class_index: int, runs: int) -> None:
    """Child process: median time and heatmap of the reference on one case, as JSON."""
    loaded, batch, layer = load_case(name)
    model = loaded.keras_model
    seconds = benchlib.median_seconds(lambda: reference_gradcam(model, batch, layer, class_index),
                                      runs)
    heatmap = np.nan_to_num(reference_gradcam(model, batch, layer, class_index))
    print(json.dumps({"reference_s": seconds, "heatmap": heatmap.tolist(),
                      "onednn": benchlib.onednn_enabled()}))


def run_reference(name: str, class_index: int, runs: int) -> dict:
    """The reference in a fresh process; rerun with oneDNN off if it dies with it on."""
    args = ["--reference", name, "--class-index", str(class_index), "--runs", str(runs)]
    code, measured = benchlib.run_json(Path(__file__), args)
    if measured is None:
        code_off, measured = benchlib.run_json(Path(__file__), args, {"TF_ENABLE_ONEDNN_OPTS": "0"})
        if measured is None:
            raise SystemExit(f"The reference Grad-CAM failed on {name} (exit {code}, {code_off}).")
    measured["crashed_exit"] = code
    return measured


def compiled_forward(model):
    """One compiled forward pass (tf.function), the floor every method is compared with."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)
    return tf.function(lambda batch: model(batch, training=False), input_signature=[spec])


def bench_case(name: str, runs: int, precisions: list[str]) -> dict:
    """Times of the three methods and the agreement of the two heatmaps; ConvViz's Grad-CAM
    again in each reduced precision of ``precisions`` (e.g. ``auto`` where it picks bfloat16)."""
    import tensorflow as tf

    from convviz_gui.engine.precision import using

    loaded, batch, layer = load_case(name)
    forward = compiled_forward(loaded.keras_model)
    tensor = tf.constant(batch)
    class_index = int(np.argmax(forward(tensor).numpy()[0]))

    def ours():  # the notebook explains the probability (ConvViz's default is the logit)
        return make_cam(loaded, (layer,), "Grad-CAM", "probability")(batch, class_index)

    forward_s = benchlib.median_seconds(lambda: forward(tensor).numpy(), runs)
    ours_s = benchlib.median_seconds(ours, runs)
    reference = run_reference(name, class_index, runs)
    ours_heatmap = ours().heatmap
    difference = float(np.abs(ours_heatmap - np.asarray(reference["heatmap"])).max())
    counted = flops.model_flops(loaded.keras_model)
    reduced = {}
    for described, precision in flops.other_precisions(precisions).items():
        with using(precision):
            reduced[described] = {
                "precision": precision.name, "seconds": benchlib.median_seconds(ours, runs),
                "rates": flops.rates(counted["total"], ours, runs),
                "max_abs_difference": float(np.abs(ours().heatmap - ours_heatmap).max())}
    return {"layer": layer, "reduced": reduced, "forward_s": forward_s,
            "reference_s": reference["reference_s"],
            "forward_gflop": counted["total"] / 1e9,
            "depthwise_share": counted["depthwise"] / counted["total"],
            "forward_rates": flops.rates(counted["total"], lambda: forward(tensor).numpy(), runs),
            "gradcam_rates": flops.rates(counted["total"], ours, runs),
            "convviz_s": ours_s, "max_abs_difference": difference,
            "reference_onednn": reference["onednn"], "crashed_exit": reference["crashed_exit"]}


LRP_METHODS = ("LRP", "LRP-epsilon", "LRP-alpha-beta", "LRP-gamma")
LRP_GOAL = 3.0  # forward passes per LRP map (issue 23)
SLOW_RUNS = 1  # batched methods take seconds: one timed run after the compiling one


def bench_methods(runs: int, all_maps: bool, only: tuple[str, ...] = ()) -> dict:
    """Every method (or the ``only`` ones, by any name) on Xception 299 (random weights) at
    block14_sepconv2_act, as a multiple of one compiled forward pass; Score-CAM's default
    (32 maps) and, on request, all 2048 maps; the faithfulness metrics' cost, ROAD's
    imputations alone; the demo's metrics time."""
    import tensorflow as tf

    from convviz_gui.engine.cam import CAM_METHODS, ClassScore, MethodOptions, method_class
    from convviz_gui.engine.cam.base import Steps
    from convviz_gui.engine.cam.metrics import faithfulness
    from convviz_gui.engine.cam.metrics_road import LEVELS, road_images

    loaded, batch, layer = load_case("xception")
    forward = compiled_forward(loaded.keras_model)
    tensor = tf.constant(batch)
    forward_s = benchlib.median_seconds(lambda: forward(tensor).numpy(), runs)
    class_index = int(np.argmax(forward(tensor).numpy()[0]))
    target = ClassScore(class_index)
    rows, ratios = [("(a) compiled forward pass, batch 1 (s)", f"{forward_s:.4f}", "")], {}
    chosen = {method_class(name).name for name in only} or set(CAM_METHODS)
    variants = [(name, name, MethodOptions()) for name in CAM_METHODS if name in chosen]
    if all_maps:
        variants.append(("Score-CAM (all maps)", "Score-CAM", MethodOptions(top_n=0)))
    for title, method, options in variants:
        explainer = make_cam(loaded, (layer,), method, options=options)
        slow = explainer.long
        seconds = benchlib.median_seconds(lambda e=explainer: e.explain(batch, target),
                                          SLOW_RUNS if slow else runs)
        ratios[title] = seconds / forward_s
        goal = ""
        if method == "Score-CAM" and title == method:
            goal = f"<= 40  {benchlib.verdict(ratios[title] <= 40)}"
        elif method == "Grad-CAM":
            goal = f"<= 1.25  {benchlib.verdict(ratios[title] <= 1.25)}"
        elif method in LRP_METHODS:
            goal = f"<= {LRP_GOAL:g}  {benchlib.verdict(ratios[title] <= LRP_GOAL)}"
        elif method == "RISE":  # batches beat one forward pass per mask
            masks = explainer.mask_count(*batch.shape[1:3])
            title = f"RISE ({masks} masks)"
            ratios[title] = ratios.pop(method)
            goal = f"< {masks}  {benchlib.verdict(ratios[title] < masks)}"
        rows.append((f"{title} / forward ({seconds:.2f} s)", f"{ratios[title]:.1f}", goal))
    cam = make_cam(loaded, (layer,), "Grad-CAM").explain(batch, target)
    measured = faithfulness(loaded, batch, cam, target, "logit")
    metrics_s = benchlib.median_seconds(lambda: faithfulness(loaded, batch, cam, target, "logit"),
                                        SLOW_RUNS)
    metrics_ratio = metrics_s / forward_s
    rows.append((f"metrics / forward ({measured.images} images, {metrics_s:.2f} s)",
                 f"{metrics_ratio:.1f}",
                 f"< {measured.images}  {benchlib.verdict(metrics_ratio < measured.images)}"))
    height, width = batch.shape[1:3]
    importance = cam.upsampled(width, height)
    road_s = benchlib.median_seconds(
        lambda: road_images(batch[0], importance, LEVELS, Steps()), SLOW_RUNS)
    rows.append((f"  of which ROAD's imputations, {2 * (len(LEVELS) - 1)} sparse solves (s)",
                 f"{road_s:.2f}", ""))
    demo, demo_batch, demo_layer = load_case("demo")
    demo_cam = make_cam(demo, (demo_layer,), "Grad-CAM").explain(demo_batch, ClassScore(3))
    demo_s = benchlib.median_seconds(
        lambda: faithfulness(demo, demo_batch, demo_cam, ClassScore(3), "logit"), runs)
    demo_forward = compiled_forward(demo.keras_model)
    demo_tensor = tf.constant(demo_batch)
    demo_ratio = demo_s / benchlib.median_seconds(lambda: demo_forward(demo_tensor).numpy(), runs)
    rows.append(("demo metrics, Grad-CAM map (s)", f"{demo_s:.3f}",
                 f"< 2 s  {benchlib.verdict(demo_s < 2)}"))
    rows.append(("demo metrics / demo forward", f"{demo_ratio:.1f}", f"< {measured.images}  "
                 f"{benchlib.verdict(demo_ratio < measured.images)}"))
    benchlib.print_table(f"Every method, Xception 299 random weights, {layer} (slow methods: "
                         f"{SLOW_RUNS} run after compiling; others median of {runs})", rows)
    figures = {f"method_over_forward[{name}]": ratio for name, ratio in ratios.items()}
    figures.update({"scorecam_over_forward": ratios.get("Score-CAM"),
                    "metrics_over_forward": metrics_ratio, "metrics_images": measured.images,
                    "road_imputation_s": road_s,
                    "demo_metrics_s": demo_s, "demo_metrics_over_forward": demo_ratio})
    return figures


def bench_lrp(runs: int) -> dict:
    """The LRP methods on Xception 299 (random weights) as multiples of one compiled forward
    pass, with Saliency (one plain forward and backward pass to the input) as the floor of
    any method that propagates back to the pixels. Each run times the forward pass and every
    method in turn and each keeps its fastest run: on a shared machine the load changes
    between runs, and the fastest is the one least disturbed."""
    import time

    import tensorflow as tf

    from convviz_gui.engine.cam import ClassScore

    loaded, batch, _ = load_case("xception")
    forward = compiled_forward(loaded.keras_model)
    tensor = tf.constant(batch)
    target = ClassScore(int(np.argmax(forward(tensor).numpy()[0])))
    calls = {"forward": lambda: forward(tensor).numpy()}
    for method in ("Saliency", *LRP_METHODS):
        explainer = make_cam(loaded, None, method)
        explainer.explain(batch, target)  # traced and compiled once, not timed
        calls[method] = lambda e=explainer: e.explain(batch, target)
    fastest = dict.fromkeys(calls, float("inf"))
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            fastest[name] = min(fastest[name], time.perf_counter() - start)
    forward_s = fastest.pop("forward")
    rows, figures = [("(a) compiled forward pass, batch 1 (s)", f"{forward_s:.4f}", "")], {}
    for method, seconds in fastest.items():
        ratio = seconds / forward_s
        figures[f"method_over_forward[{method}]"] = ratio
        goal = f"<= {LRP_GOAL:g}  {benchlib.verdict(ratio <= LRP_GOAL)}" if method in LRP_METHODS \
            else "(floor: one backward pass)"
        rows.append((f"{method} / forward ({seconds:.3f} s)", f"{ratio:.2f}", goal))
    benchlib.print_table(f"LRP, Xception 299 random weights (fastest of {runs}, interleaved)",
                         rows)
    return figures


def precision_rows(measured: dict, limits: dict) -> list[tuple[str, str, str]]:
    """Rows of ConvViz's Grad-CAM in each reduced precision it ran in: time and speedup over
    float32, GFLOP/s as a share of the same precision's matmul, heatmap difference."""
    rows = []
    for described, found in measured["reduced"].items():
        speedup = measured["convviz_s"] / found["seconds"]
        rows += [(f"(c) ConvViz Grad-CAM in {described} (s)", f"{found['seconds']:.4f}",
                  f"{speedup:.2f}x float32's; heatmap within {found['max_abs_difference']:.1e}"),
                 (f"  {found['precision']} (GFLOP/CPU-s / GFLOP/s)",
                  f"{found['rates']['per_cpu']:.1f} / {found['rates']['gflops']:.1f}",
                  flops.share(found["rates"], limits, found["precision"]))]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--methods-only", action="store_true",
                        help="only the every-method table (no reference comparison)")
    parser.add_argument("--lrp-only", action="store_true",
                        help="only the LRP methods as multiples of one forward pass")
    parser.add_argument("--methods", default="",
                        help="comma-separated methods of the every-method table (default: all)")
    parser.add_argument("--precision", default="auto",
                        help="comma-separated precisions ConvViz's Grad-CAM also runs in, beside "
                             "float32 (default auto: bfloat16 where the hardware has it)")
    parser.add_argument("--all-maps", action="store_true",
                        help="also time Score-CAM on all 2048 maps (minutes)")
    parser.add_argument("--reference", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--class-index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        reference_main(args.reference, args.class_index, args.runs)
        return
    onednn = benchlib.onednn_enabled()
    figures: dict = {"onednn": onednn}
    if args.lrp_only:
        figures.update(bench_lrp(args.runs))
        benchlib.print_json(figures)
        return
    limits = flops.machine_limits()
    peak = limits["matmul_float32"]["per_cpu"]
    figures["limits"] = limits
    for name, title in ({} if args.methods_only else CASES).items():
        measured = bench_case(name, args.runs, args.precision.split(","))
        forward_rates, gradcam_rates = measured["forward_rates"], measured["gradcam_rates"]
        c_over_a = measured["convviz_s"] / measured["forward_s"]
        b_over_c = measured["reference_s"] / measured["convviz_s"]
        if measured["crashed_exit"]:
            how = f"died (exit {measured['crashed_exit']}); rerun with oneDNN off"
        else:
            how = f"oneDNN {'on' if measured['reference_onednn'] else 'off'}"
        benchlib.print_table(
            f"Grad-CAM, {title}, layer {measured['layer']} (median of {args.runs}; "
            f"oneDNN {'on' if onednn else 'off'})", [
                ("(a) compiled forward pass (s)", f"{measured['forward_s']:.4f}", ""),
                ("(b) reference Grad-CAM, model built per call (s)",
                 f"{measured['reference_s']:.4f}", how),
                ("(c) ConvViz Grad-CAM, engine API (s)", f"{measured['convviz_s']:.4f}", ""),
                ("c/a  gradcam_over_forward", f"{c_over_a:.2f}",
                 f"<= 1.25  {benchlib.verdict(c_over_a <= 1.25)}"),
                ("b/c  reference_over_gradcam", f"{b_over_c:.2f}",
                 f">= 3     {benchlib.verdict(b_over_c >= 3)}"),
                ("max |ConvViz - reference| heatmap", f"{measured['max_abs_difference']:.2e}", "~0"),
                (f"forward: {measured['forward_gflop']:.2f} GFLOP, {measured['depthwise_share']:.1%} "
                 "depthwise (GFLOP/CPU-s / GFLOP/s)",
                 f"{forward_rates['per_cpu']:.1f} / {forward_rates['gflops']:.1f}",
                 flops.share(forward_rates, limits)),
                ("ConvViz Grad-CAM (GFLOP/CPU-s / GFLOP/s)",
                 f"{gradcam_rates['per_cpu']:.1f} / {gradcam_rates['gflops']:.1f}",
                 flops.share(gradcam_rates, limits)),
                *precision_rows(measured, limits),
            ])
        prefix = "" if name == "xception" else f"{name}_"  # the JSON keeps its Xception keys
        figures.update({f"{prefix}gradcam_over_forward": c_over_a,
                        f"{prefix}reference_over_gradcam": b_over_c,
                        f"{prefix}reference_died": bool(measured["crashed_exit"]),
                        f"{prefix}forward_gflops": forward_rates,
                        f"{prefix}forward_share_of_peak_per_cpu": forward_rates["per_cpu"] / peak,
                        f"{prefix}gradcam_gflops": gradcam_rates,
                        f"{prefix}reduced": measured["reduced"]})
    benchlib.print_table("The machine's limits, measured in this run", flops.limit_rows(limits))
    print("Depthwise convolutions (most of Xception's layers, few of its FLOPs) do 2*9 FLOPs "
          "per value moved: memory-bound, far below the matmul peak.")
    only = tuple(name for name in args.methods.split(",") if name.strip())
    figures.update(bench_methods(args.runs, args.all_maps, only))
    benchlib.print_json(figures)


if __name__ == "__main__":
    main()
