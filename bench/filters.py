"""Filter-visualization benchmark: the reference one-filter-at-a-time loop vs ConvViz.

Xception block3_sepconv1, 30 steps, learning rate 10, 200 px, filters 0-15 (0-63 with
``--full``). Run by hand: ``python bench/filters.py [--full] [--sweep]``. Targets: ConvViz
>= 1.6x faster per filter than the reference and its first preview in < 2 s (compile
included). Ends with one JSON line.

The same run times ConvViz's clear style (Olah et al. 2017; ``--style clear``) at its
default 256 Adam steps on the same filters, in a third fresh process, and reports its
seconds per filter against the reference loop's, with the high-frequency share of both
styles' patterns and the range of their optimized inputs.

Each side runs in its own fresh process (``--side reference|convviz``), which times its
own work after the model is built and prints JSON, so neither shares memory or compiled
functions with the other. The reference is the loop of techniques.md run as a user runs it:
plain Keras (``Xception(weights=None, include_top=False)``), TensorFlow defaults (oneDNN
on), one filter at a time. ConvViz is called as ``convviz filters app:Xception:none --layer
block3_sepconv1 --filters 0-15 --steps 30 --size 200`` calls the engine, and its first
preview is timed through ``visualize_filters``' progress callback.

oneDNN: both sides differentiate inside a tf.function with respect to the image only, so
the convolution kernel gradients that the tape builds are pruned and never run (they are
what corrupts the heap, oneDNN issue 6035); the reference runs unchanged. Xception has no
1x1 strided convolution on fewer than 16 channels anyway.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import benchlib
import numpy as np

LAYER = "block3_sepconv1"
IMG_SIZE = 200


def reference_patterns(model, layer_name: str, filter_indices: list[int]) -> list[np.ndarray]:
    """The book's loop: one filter after another, ``filter_index`` a Python int."""
    import keras
    import tensorflow as tf

    layer = model.get_layer(name=layer_name)
    feature_extractor = keras.Model(inputs=model.inputs[0], outputs=layer.output)

    def compute_loss(image, filter_index):
        activation = feature_extractor(image)
        filter_activation = activation[:, 2:-2, 2:-2, filter_index]
        return tf.reduce_mean(filter_activation)

    @tf.function
    def gradient_ascent_step(image, filter_index, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = compute_loss(image, filter_index)
        grads = tape.gradient(loss, image)
        grads = tf.math.l2_normalize(grads)
        image += learning_rate * grads
        return image

    def generate_filter_pattern(filter_index):
        iterations = 30
        learning_rate = 10.0
        image = tf.random.uniform(minval=0.4, maxval=0.6, shape=(1, IMG_SIZE, IMG_SIZE, 3))
        for _ in range(iterations):
            image = gradient_ascent_step(image, filter_index, learning_rate)
        return image[0].numpy()

    def deprocess_image(image):
        image -= image.mean()
        image /= image.std()
        image *= 64
        image += 128
        image = np.clip(image, 0, 255).astype("uint8")
        return image[25:-25, 25:-25, :]

    return [deprocess_image(generate_filter_pattern(index)) for index in filter_indices]


def reference_side(indices: list[int]) -> dict:
    """Child process: the reference loop on a plain Keras Xception, timed after the build."""
    import keras

    model = keras.applications.Xception(weights=None, include_top=False)
    started = time.perf_counter()
    patterns = reference_patterns(model, LAYER, indices)
    seconds = time.perf_counter() - started
    assert len(patterns) == len(indices) and patterns[0].shape == (150, 150, 3)
    return {"seconds": seconds, "pattern_shape": list(patterns[0].shape)}


def run_convviz(loaded, indices: list[int], batch_size: int | None,
                style: str = "reference") -> tuple[float, float, object]:
    """(seconds, seconds to the first preview, result) of the engine's batched ascent in
    ``style`` at its default steps."""
    from convviz_gui.engine.featurevis import visualize_filters
    from convviz_gui.engine.featurevis.settings import FilterSettings

    first_preview: list[float] = []
    started = time.perf_counter()

    def progress(update) -> None:
        if update.previews and not first_preview:
            first_preview.append(time.perf_counter() - started)

    settings = FilterSettings.for_style(style, size=IMG_SIZE, batch_size=batch_size)
    result = visualize_filters(loaded, (LAYER,), indices, settings, progress=progress)
    return time.perf_counter() - started, first_preview[0], result


def convviz_side(indices: list[int], sweep: bool, style: str = "reference") -> dict:
    """Child process: the engine as the CLI calls it, timed after the model is opened."""
    from convviz_gui.engine.featurevis.measures import high_frequency_share
    from convviz_gui.engine.models import open_model

    loaded = open_model("app:Xception:none")
    with benchlib.RssSampler() as memory:
        seconds, first_preview, result = run_convviz(loaded, indices, None, style)
    assert len(result.patterns) == len(indices)
    height, width = getattr(result, "size_used", (None, None))
    figures = {"seconds": seconds, "first_preview_s": first_preview, "steps": result.settings.steps,
               "batch": result.settings.batch_for(height or IMG_SIZE, width or IMG_SIZE),
               "size_used": [height, width], "size_note": getattr(result, "size_note", ""),
               "pattern_shape": list(next(iter(result.patterns.values())).shape),
               "rss_growth_mib": memory.growth_mib, "input_range": result.input_range,
               "model_range": result.model_range,
               "high_frequency_share": float(np.mean([high_frequency_share(pattern)
                                                      for pattern in result.patterns.values()]))}
    if sweep and style == "reference":
        figures["sweep"] = {size: run_convviz(loaded, indices, size)[:2]
                            for size in (1, 2, 4, 8, 16, 32)}
    return figures


def run_side(side: str, args: argparse.Namespace) -> dict:
    """One side in a fresh process; exits if it fails."""
    options = ["--side", side] + ["--full"] * args.full + ["--sweep"] * (args.sweep and side == "convviz")
    code, measured = benchlib.run_json(Path(__file__), options)
    if measured is None:
        raise SystemExit(f"The {side} side failed (exit {code}).")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="filters 0-63 instead of 0-15")
    parser.add_argument("--sweep", action="store_true", help="also time batch sizes 1..32")
    parser.add_argument("--side", choices=("reference", "convviz", "clear"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    indices = list(range(64 if args.full else 16))
    if args.side:
        if args.side == "reference":
            measured = reference_side(indices)
        else:
            style = "clear" if args.side == "clear" else "reference"
            measured = convviz_side(indices, args.sweep, style)
        measured.update(onednn=benchlib.onednn_enabled(), peak_rss_mib=benchlib.peak_rss_mib())
        print(json.dumps(measured))
        return
    reference, ours, clear = (run_side(side, args) for side in ("reference", "convviz", "clear"))
    count = len(indices)
    speedup = reference["seconds"] / ours["seconds"]
    height, width = ours["size_used"]
    size = f"{height}x{width} px" if height else "unknown size"
    rows = [
        (f"reference, one filter at a time, {IMG_SIZE} px (s/filter)",
         f"{reference['seconds'] / count:.3f}", ""),
        (f"ConvViz, batches of {ours['batch']}, {size}, first call (s/filter)",
         f"{ours['seconds'] / count:.3f}", ours["size_note"][:60]),
        ("filters_speedup_vs_reference", f"{speedup:.2f}",
         f">= 1.6   {benchlib.verdict(speedup >= 1.6)}"),
        ("first_preview_s (compile included)", f"{ours['first_preview_s']:.2f}",
         f"< 2     {benchlib.verdict(ours['first_preview_s'] < 2)}"),
        (f"ConvViz clear style, {clear['steps']} Adam steps, batches of {clear['batch']} (s/filter)",
         f"{clear['seconds'] / count:.3f}",
         f"{clear['seconds'] / reference['seconds']:.1f}x the reference loop's time"),
        ("clear style: first preview (s, compile included)", f"{clear['first_preview_s']:.2f}", ""),
        ("high-frequency share of the patterns: reference / clear",
         f"{ours['high_frequency_share']:.3f} / {clear['high_frequency_share']:.3f}",
         f"ratio {clear['high_frequency_share'] / ours['high_frequency_share']:.2f} (<= 0.6)"),
        ("optimized inputs: reference / clear (model range "
         f"[{clear['model_range'][0]:.3g}, {clear['model_range'][1]:.3g}])",
         "[{:.3g}, {:.3g}] / [{:.3g}, {:.3g}]".format(*ours["input_range"], *clear["input_range"]),
         ""),
        ("reference process: peak RSS (MiB)", f"{reference['peak_rss_mib']:.0f}", ""),
        ("ConvViz process: peak RSS (MiB)", f"{ours['peak_rss_mib']:.0f}", ""),
        ("ConvViz run: peak RSS growth (MiB)", f"{ours['rss_growth_mib']:.0f}", ""),
    ]
    for batch, (seconds, preview) in ours.get("sweep", {}).items():
        rows.append((f"  sweep: batches of {batch} (s/filter, first preview s)",
                     f"{seconds / count:.3f}", f"{preview:.2f}"))
    onednn = "/".join("on" if side["onednn"] else "off" for side in (reference, ours))
    benchlib.print_table(f"Filters, Xception {LAYER}, {count} filters, 30 steps "
                         f"(oneDNN reference/ConvViz: {onednn})", rows)
    benchlib.print_json({"filters_speedup_vs_reference": speedup,
                         "first_preview_s": ours["first_preview_s"],
                         "reference_s_per_filter": reference["seconds"] / count,
                         "convviz_s_per_filter": ours["seconds"] / count,
                         "clear_s_per_filter": clear["seconds"] / count,
                         "clear_steps": clear["steps"],
                         "clear_vs_reference_time": clear["seconds"] / reference["seconds"],
                         "high_frequency_share": {"reference": ours["high_frequency_share"],
                                                  "clear": clear["high_frequency_share"]},
                         "input_range": {"reference": ours["input_range"],
                                         "clear": clear["input_range"],
                                         "model": clear["model_range"]},
                         "convviz_size": ours["size_used"], "onednn": ours["onednn"],
                         "reference_peak_rss_mib": reference["peak_rss_mib"],
                         "convviz_peak_rss_mib": ours["peak_rss_mib"]})


if __name__ == "__main__":
    main()
