"""Filter-visualization benchmark: the reference one-filter-at-a-time loop vs ConvViz.

Xception (include_top=False, random weights), layer block3_sepconv1, 30 steps,
learning rate 10, 200 px; filters 0-15 (0-63 with ``--full``). Run by hand:
``python bench/filters.py [--full] [--sweep]``. Targets: throughput >= 1.6x the
reference and the first preview in < 2 s. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import time

import benchlib
import numpy as np

import convviz_gui.engine  # noqa: F401  (TensorFlow environment before TF loads)
from convviz_gui.engine.filters import FilterSettings, visualize_filters
from convviz_gui.engine.models import load_application

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


def run_convviz(loaded, indices: list[int], batch_size: int | None) -> tuple[float, float, object]:
    """(seconds, seconds to the first preview, result) of the engine's batched ascent."""
    first_preview: list[float] = []
    started = time.perf_counter()

    def progress(update) -> None:
        if update.previews and not first_preview:
            first_preview.append(time.perf_counter() - started)

    result = visualize_filters(loaded, (LAYER,), indices, FilterSettings(batch_size=batch_size),
                               progress=progress)
    return time.perf_counter() - started, first_preview[0], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="filters 0-63 instead of 0-15")
    parser.add_argument("--sweep", action="store_true", help="also time batch sizes 4..32")
    args = parser.parse_args()
    indices = list(range(64 if args.full else 16))
    loaded = load_application("Xception", weights="none", include_top=False)
    model = loaded.keras_model

    started = time.perf_counter()
    reference = reference_patterns(model, LAYER, indices)
    reference_s = time.perf_counter() - started
    rss_after_reference = benchlib.peak_rss_mib()

    batch_size = FilterSettings().batch_for(IMG_SIZE, IMG_SIZE)
    with benchlib.RssSampler() as memory:
        ours_s, first_preview_s, result = run_convviz(loaded, indices, None)  # default settings
    assert len(result.patterns) == len(indices) and reference[0].shape == (150, 150, 3)
    speedup = reference_s / ours_s
    rows = [
        ("reference, one filter at a time (s/filter)", f"{reference_s / len(indices):.3f}", ""),
        (f"ConvViz, batches of {batch_size}, first call (s/filter)",
         f"{ours_s / len(indices):.3f}", ""),
        ("filters_speedup_vs_reference", f"{speedup:.2f}",
         f">= 1.6   {benchlib.verdict(speedup >= 1.6)}"),
        ("first_preview_s (compile included)", f"{first_preview_s:.2f}",
         f"< 2     {benchlib.verdict(first_preview_s < 2)}"),
        ("peak RSS after the reference (MiB)", f"{rss_after_reference:.0f}", ""),
        ("ConvViz run: peak RSS growth (MiB)", f"{memory.growth_mib:.0f}", ""),
        ("peak RSS of the process (MiB)", f"{benchlib.peak_rss_mib():.0f}", ""),
    ]
    if args.sweep:
        for size in (1, 2, 4, 8, 16, 32):
            seconds, preview, _ = run_convviz(loaded, indices, size)
            rows.append((f"  sweep: batches of {size} (s/filter, first preview s)",
                         f"{seconds / len(indices):.3f}", f"{preview:.2f}"))
    benchlib.print_table(f"Filters, Xception {LAYER}, {len(indices)} filters, 30 steps, 200 px",
                         rows)
    benchlib.print_json({"filters_speedup_vs_reference": speedup,
                         "first_preview_s": first_preview_s,
                         "reference_s_per_filter": reference_s / len(indices),
                         "convviz_s_per_filter": ours_s / len(indices),
                         "peak_rss_mib": benchlib.peak_rss_mib()})


if __name__ == "__main__":
    main()
