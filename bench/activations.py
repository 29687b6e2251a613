"""Activations benchmark: reference ``activation_model.predict`` vs ConvViz, one process.

Xception (random weights, 299 px), every Conv2D / SeparableConv2D / pooling output.
Run by hand: ``python bench/activations.py``. Targets: ConvViz <= 1.5x one compiled
forward pass; the same image and layer set again from cache in < 5 ms; the all-layer
overview keeps memory bounded; the window's overview shows its first screen of rows (two
chunks of ``CHUNK_ROWS`` layers, compiled on first use) in < 2 s. Ends with one JSON line.

oneDNN (on by default) needs no precaution here: neither the reference nor ConvViz
computes a gradient, so the kernel gradient that corrupts the heap (oneDNN issue 6035)
never runs and everything stays in this process.
"""

from __future__ import annotations

import argparse
import time

import benchlib
import numpy as np

import convviz_gui.engine  # noqa: F401  (TensorFlow environment before TF loads)
from convviz_gui.engine.activations import compute_activations, overview_tiles
from convviz_gui.engine.images import load_image
from convviz_gui.engine.layers import spatial_layers
from convviz_gui.engine.models import load_application
from convviz_gui.ui.overview_view import CHUNK_ROWS

REFERENCE_CLASSES = ("Conv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D",
                     "GlobalAveragePooling2D")


def reference_activation_model(model, layer_names: list[str]):
    """The book's multi-output model, built once; each call runs ``predict``."""
    import keras

    outputs = [model.get_layer(name).output for name in layer_names]
    return keras.Model(inputs=model.inputs[0], outputs=outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import tensorflow as tf

    loaded = load_application("Xception", weights="none")
    model = loaded.keras_model
    names = [layer.name for layer in model.layers
             if type(layer).__name__ in REFERENCE_CLASSES and len(layer.output.shape) == 4]
    paths = [(name,) for name in names]
    photos = [load_image(benchlib.SHARED_IMAGES / name)
              for name in ("chelsea.png", "coffee.png", "astronaut.png")]
    batches = [loaded.prepare(photo) for photo in photos]
    spec = tf.TensorSpec((None, 299, 299, 3), tf.float32)
    forward = tf.function(lambda batch: model(batch, training=False), input_signature=[spec])
    tensor = tf.constant(batches[0])
    forward_s = benchlib.median_seconds(lambda: forward(tensor).numpy(), args.runs)

    reference = reference_activation_model(model, names)
    reference_s = benchlib.median_seconds(lambda: reference.predict(batches[0], verbose=0), args.runs)

    # Memory: the overview (first 8 channels of every layer) vs holding every layer in full.
    overview_tiles(loaded, batches[1], paths)  # compile outside the measured block
    with benchlib.RssSampler() as overview_memory:
        tiles = overview_tiles(loaded, batches[2], paths)
    overview_held = sum(tile.nbytes for _, tile in tiles) / 2**20
    with benchlib.RssSampler() as full_memory:
        full = compute_activations(loaded, batches[2], paths)
    full_held = sum(acts.values.nbytes for acts in full.values()) / 2**20

    # The window's overview: rows of every spatial layer, in fixed chunks as they scroll in.
    rows = [node.path for node in spatial_layers(loaded.layer_tree)]
    chunks = [rows[start:start + CHUNK_ROWS] for start in range(0, len(rows), CHUNK_ROWS)]
    started = time.perf_counter()
    for chunk in chunks[:2]:  # about one screen; compiled here, as on the user's first look
        overview_tiles(loaded, batches[0], chunk)
    first_screen_s = time.perf_counter() - started
    for chunk in chunks[2:]:
        overview_tiles(loaded, batches[0], chunk)
    started = time.perf_counter()
    for chunk in chunks:  # another image: what scrolling through every row costs
        overview_tiles(loaded, batches[1], chunk)
    rows_per_s = len(rows) / (time.perf_counter() - started)

    # A fresh image on every timed call: the cache must not serve these.
    rng = np.random.default_rng(0)
    fresh = iter([batches[0] + rng.normal(0, 1e-3, batches[0].shape).astype(np.float32)
                  for _ in range(args.runs + 1)])
    ours_s = benchlib.median_seconds(lambda: compute_activations(loaded, next(fresh), paths),
                                     args.runs)
    started = time.perf_counter()
    compute_activations(loaded, batches[1], paths)
    first_call_s = time.perf_counter() - started
    cached_s = benchlib.median_seconds(lambda: compute_activations(loaded, batches[1], paths),
                                       args.runs)
    ratio = ours_s / forward_s
    benchlib.print_table(
        f"Activations, Xception 299 px, {len(names)} layers (median of {args.runs})", [
            ("(a) compiled forward pass (s)", f"{forward_s:.4f}", ""),
            ("(b) reference activation_model.predict (s)", f"{reference_s:.4f}", ""),
            ("(c) ConvViz compute_activations, new image (s)", f"{ours_s:.4f}", ""),
            ("c/a  activations_over_forward", f"{ratio:.2f}",
             f"<= 1.5   {benchlib.verdict(ratio <= 1.5)}"),
            ("b/c  reference_over_activations", f"{reference_s / ours_s:.2f}", ""),
            ("first call for another image (s)", f"{first_call_s:.4f}", ""),
            ("same image and layers again, cache (ms)", f"{cached_s * 1000:.3f}",
             f"< 5     {benchlib.verdict(cached_s < 0.005)}"),
            ("all-layer overview: held after the call (MiB)", f"{overview_held:.1f}", "bounded"),
            ("all-layer overview: peak RSS growth (MiB)", f"{overview_memory.growth_mib:.1f}", ""),
            ("every layer in full: held after the call (MiB)", f"{full_held:.1f}", ""),
            ("every layer in full: peak RSS growth (MiB)", f"{full_memory.growth_mib:.1f}", ""),
            (f"overview view: first screen, {2 * CHUNK_ROWS} rows, compiling (s)",
             f"{first_screen_s:.3f}", f"< 2     {benchlib.verdict(first_screen_s < 2)}"),
            (f"overview view: rows per second, {len(rows)} rows in chunks", f"{rows_per_s:.0f}", ""),
            ("peak RSS of the process (MiB)", f"{benchlib.peak_rss_mib():.0f}", ""),
        ])
    benchlib.print_json({"onednn": benchlib.onednn_enabled(), "activations_over_forward": ratio,
                         "reference_over_activations": reference_s / ours_s,
                         "cached_ms": cached_s * 1000,
                         "overview_held_mib": overview_held,
                         "overview_peak_growth_mib": overview_memory.growth_mib,
                         "full_held_mib": full_held, "full_peak_growth_mib": full_memory.growth_mib,
                         "overview_first_screen_s": first_screen_s, "overview_rows_per_s": rows_per_s})


if __name__ == "__main__":
    main()
