"""Filter-visualization benchmark: the reference one-filter-at-a-time loop vs ConvViz, and
how close ConvViz comes to the machine's limit.

Three cases, 30 steps, learning rate 10, 200 px, random weights: Xception block3_sepconv1,
filters 0-15 (0-63 with ``--full``), VGG16 block4_conv1 and ResNet50V2 conv4_block1_2_conv,
filters 0-7. Run by hand:
``python bench/filters.py [--full] [--sweep] [--cases xception,vgg16,resnet50v2] [--no-clear]``.
Targets (Xception): ConvViz >= 1.6x faster per filter than the reference and its first
preview in < 2 s (compile included). Ends with one JSON line.

Beside the times: the GFLOP/s ConvViz achieves (FLOPs counted per layer from the Keras
graph, ``flops.py``: forward + input gradient), as a share of a large float32 matmul's
GFLOP/s measured in the same run; the bfloat16 matmul, the memory bandwidth, and one
depthwise and one pointwise convolution at Xception's shapes, which show where the
depthwise convolutions sit (``DEPTHWISE_NOTE``).

The same run times ConvViz's clear style (Olah et al. 2017; ``--style clear``) at its
default 256 Adam steps on the Xception filters, in a third fresh process (skipped with
``--no-clear``), and reports its seconds per filter against the reference loop's, with the
high-frequency share of both styles' patterns and the range of their optimized inputs.

Each side runs in its own fresh process (``--side reference|convviz``), which times its
own work after the model is built and prints JSON, so neither shares memory or compiled
functions with the other; a case's two sides run one right after the other (the machine's
load changes less between them). The reference is the loop of techniques.md run as a user
runs it: plain Keras (``Xception(weights=None, include_top=False)``), TensorFlow defaults
(oneDNN on), one filter at a time. ConvViz is called as ``convviz filters
app:Xception:none --layer block3_sepconv1 --filters 0-15 --steps 30 --size 200`` calls the
engine, and its first preview is timed through ``visualize_filters``' progress callback.

oneDNN: both sides differentiate inside a tf.function with respect to the image only, so
the convolution kernel gradients that the tape builds are pruned and never run (they are
what corrupts the heap, oneDNN issue 6035); the reference runs unchanged. Neither model
has a 1x1 strided convolution on fewer than 16 channels anyway.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import benchlib
import flops
import numpy as np

IMG_SIZE = 200
DEPTHWISE_NOTE = (
    "Xception's depthwise convolutions do 2*9 FLOPs per value they read and write (a few "
    "FLOP/byte, below the ridge of FLOP/s over GB/s above): memory-bound, they run far below "
    "the matmul peak whatever the batch, and they are the share of Xception's step time "
    "that its FLOP count hides. Plain convolutions (VGG16) reuse each value over "
    "9*cin*cout MACs and are compute-bound.")


@dataclass(frozen=True)
class Case:
    """A model and layer the two sides optimize filters of."""

    title: str
    application_name: str
    layer: str
    filters: int
    target: float | None  # the speedup the issue asks for (None: report only)

    @property
    def spec(self) -> str:
        """The model as ConvViz opens it (random weights)."""
        return f"app:{self.application_name}:none"

    def application(self, **options):
        """The plain Keras model, random weights, no top."""
        import keras

        return getattr(keras.applications, self.application_name)(weights=None, include_top=False,
                                                                   **options)

    def indices(self, full: bool) -> list[int]:
        """The filters optimized (64 with ``--full``)."""
        return list(range(64 if full else self.filters))


CASES = {"xception": Case("Xception", "Xception", "block3_sepconv1", 16, 1.6),
         "vgg16": Case("VGG16", "VGG16", "block4_conv1", 8, None),
         "resnet50v2": Case("ResNet50V2", "ResNet50V2", "conv4_block1_2_conv", 8, None)}


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


def reference_side(case: Case, indices: list[int]) -> dict:
    """Child process: the reference loop on a plain Keras model, timed after the build."""
    model = case.application()
    started, cpu = time.perf_counter(), time.process_time()
    patterns = reference_patterns(model, case.layer, indices)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    assert len(patterns) == len(indices) and patterns[0].shape == (150, 150, 3)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "pattern_shape": list(patterns[0].shape)}


def run_convviz(loaded, layer: str, indices: list[int], batch_size: int | None,
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
    result = visualize_filters(loaded, (layer,), indices, settings, progress=progress)
    return time.perf_counter() - started, first_preview[0], result


def convviz_side(case: Case, indices: list[int], sweep: bool, style: str = "reference",
                 precision: str = "float32") -> dict:
    """Child process: the engine as the CLI calls it (``--precision``), timed after the
    model is opened."""
    from convviz_gui.engine.featurevis.measures import high_frequency_share
    from convviz_gui.engine.featurevis.reference import ascent_step
    from convviz_gui.engine.featurevis.settings import FilterSettings
    from convviz_gui.engine.models import open_model
    from convviz_gui.engine.precision import resolve, using

    loaded = open_model(case.spec)
    cpu = time.process_time()
    with benchlib.RssSampler() as memory, using(resolve(precision)) as chosen:
        seconds, first_preview, result = run_convviz(loaded, case.layer, indices, None, style)
    cpu_seconds = time.process_time() - cpu  # (the RSS sampler's thread sleeps: ~0)
    assert len(result.patterns) == len(indices)
    height, width = result.size_used
    figures = {"seconds": seconds, "cpu_seconds": cpu_seconds, "first_preview_s": first_preview,
               "precision": chosen.name, "precision_described": chosen.describe(),
               "steps": result.settings.steps,
               "batch": result.settings.batch_for(height, width), "size_used": [height, width],
               "first_batch": result.settings.batch_for(height, width, first=True),
               "size_note": result.size_note,
               "pattern_shape": list(next(iter(result.patterns.values())).shape),
               "rss_growth_mib": memory.growth_mib, "input_range": result.input_range,
               "model_range": result.model_range,
               "high_frequency_share": float(np.mean([high_frequency_share(pattern)
                                                      for pattern in result.patterns.values()]))}
    if style == "reference":
        step = ascent_step(loaded, (case.layer,), FilterSettings(size=IMG_SIZE), height, width)
        figures["xla"] = getattr(step, "uses_xla", False)  # (an engine before XLA: off)
        figures["flops"] = step_flops(case, figures["batch"])
    if sweep and style == "reference":
        figures["sweep"] = {size: run_convviz(loaded, case.layer, indices[:max(size, 4)], size)[:2]
                            for size in (1, 2, 4, 8, 16) if size <= len(indices)}
    return figures


def run_side(side: str, case: str, args: argparse.Namespace, precision: str = "float32") -> dict:
    """One side in a fresh process (ConvViz's at ``precision``); exits if it fails."""
    options = ["--side", side, "--case", case, "--precision", precision] + ["--full"] * args.full \
        + ["--sweep"] * (args.sweep and side == "convviz" and precision == "float32")
    code, measured = benchlib.run_json(Path(__file__), options)
    if measured is None:
        raise SystemExit(f"The {side} side of {case} failed (exit {code}).")
    return measured


def step_flops(case: Case, batch: int) -> tuple[dict, dict]:
    """FLOPs of one image's ascent step (forward + input gradient) at 200 px: (the
    reference loop's, whole target layer; ConvViz's, only the batch's filters of the
    target, as its chosen-channel shortcut runs them), by kind. In the ConvViz process."""
    from convviz_gui.engine.taps import build_sized_tap_model

    model = case.application()
    layer = model.get_layer(case.layer)
    tap = build_sized_tap_model(model, (case.layer,), IMG_SIZE, IMG_SIZE, layer_inputs=True)
    before = flops.model_flops(tap)
    in_shape = tuple(tap.outputs[0].shape)
    out_shape = tuple(layer.compute_output_shape(in_shape))
    whole = flops.layer_flops(layer, in_shape, out_shape)
    chosen = flops.target_flops(layer, in_shape, out_shape, batch)
    kinds = ("dense", "depthwise")
    reference = {kind: flops.STEP_FACTOR * (before[kind] + whole.get(kind, 0.0)) for kind in kinds}
    ours = {kind: flops.STEP_FACTOR * (before[kind] + chosen[kind]) for kind in kinds}
    return reference, ours


def case_rows(case: Case, count: int, reference: dict, ours: dict, limits: dict) -> tuple[list, dict]:
    """Table rows and JSON figures of one case: times, speedup, GFLOP/s and share of peak."""
    steps = ours["steps"]
    speedup = reference["seconds"] / ours["seconds"]
    cpu_speedup = reference["cpu_seconds"] / ours["cpu_seconds"]
    reference_flops, our_flops = ours["flops"]

    our_rates = side_rates(our_flops, ours, count, steps)
    reference_rates = side_rates(reference_flops, reference, count, steps)
    depthwise_share = our_flops["depthwise"] / sum(our_flops.values())
    height, width = ours["size_used"]
    rows = [
        (f"reference, one filter at a time, {IMG_SIZE} px (s/filter)",
         f"{reference['seconds'] / count:.3f}", f"{reference['cpu_seconds'] / count:.3f} CPU-s/filter"),
        (f"ConvViz, batches of {ours.get('first_batch', ours['batch'])} then {ours['batch']}, "
         f"{height}x{width} px, XLA {'on' if ours['xla'] else 'off'} (s/filter)",
         f"{ours['seconds'] / count:.3f}",
         f"{ours['cpu_seconds'] / count:.3f} CPU-s/filter {ours['size_note'][:40]}"),
        ("filters_speedup_vs_reference", f"{speedup:.2f}",
         (f">= {case.target}   {benchlib.verdict(speedup >= case.target)}; " if case.target else "")
         + f"in CPU seconds {cpu_speedup:.2f}"),
        ("first_preview_s (compile included)", f"{ours['first_preview_s']:.2f}",
         f"< 2     {benchlib.verdict(ours['first_preview_s'] < 2)}" if case.target else ""),
        (f"ConvViz step: {sum(our_flops.values()) / 1e9:.2f} GFLOP/image, {depthwise_share:.1%} "
         "depthwise (GFLOP/CPU-s / GFLOP/s)", f"{our_rates['per_cpu']:.1f} / {our_rates['gflops']:.1f}",
         flops.share(our_rates, limits)),
        (f"reference step: {sum(reference_flops.values()) / 1e9:.2f} GFLOP/image",
         f"{reference_rates['per_cpu']:.1f} / {reference_rates['gflops']:.1f}",
         flops.share(reference_rates, limits)),
        ("reference / ConvViz process: peak RSS (MiB)",
         f"{reference['peak_rss_mib']:.0f} / {ours['peak_rss_mib']:.0f}",
         f"run growth {ours['rss_growth_mib']:.0f} MiB"),
    ]
    for batch, (seconds, preview) in ours.get("sweep", {}).items():
        filters = max(int(batch), 4)
        rows.append((f"  sweep: batches of {batch} (s/filter, first preview s)",
                     f"{seconds / filters:.3f}", f"{preview:.2f}"))
    peak = limits["matmul_float32"]
    figures = {"speedup_vs_reference": speedup, "cpu_speedup_vs_reference": cpu_speedup,
               "first_preview_s": ours["first_preview_s"],
               "reference_s_per_filter": reference["seconds"] / count,
               "convviz_s_per_filter": ours["seconds"] / count, "batch": ours["batch"],
               "xla": ours["xla"], "convviz_gflops": our_rates, "reference_gflops": reference_rates,
               "convviz_share_of_peak_per_cpu": our_rates["per_cpu"] / peak["per_cpu"],
               "convviz_share_of_peak_wall": our_rates["gflops"] / peak["gflops"],
               "depthwise_flop_share": depthwise_share, "onednn": [reference["onednn"], ours["onednn"]]}
    return rows, figures


def side_rates(flop_per_image: dict, side: dict, count: int, steps: int) -> dict:
    """GFLOP per wall second and per CPU second of a side that optimized ``count`` filters."""
    flop = sum(flop_per_image.values()) * count * steps
    return {"gflops": flop / side["seconds"] / 1e9, "per_cpu": flop / side["cpu_seconds"] / 1e9}


def reduced_rows(count: int, reference: dict, float32: dict, reduced: dict, limits: dict
                 ) -> tuple[list, dict]:
    """Rows and JSON figures of ConvViz's side run in a reduced precision: its time against
    the reference loop and against float32, and its GFLOP/s as a share of the same type's
    matmul."""
    described, name = reduced["precision_described"], reduced["precision"]
    speedup = reference["seconds"] / reduced["seconds"]
    over_float32 = float32["seconds"] / reduced["seconds"]
    rates = side_rates(float32["flops"][1], reduced, count, float32["steps"])
    rows = [(f"ConvViz in {described} (s/filter)", f"{reduced['seconds'] / count:.3f}",
             f"{reduced['cpu_seconds'] / count:.3f} CPU-s/filter"),
            (f"  {name}: speedup vs reference / vs float32", f"{speedup:.2f}",
             f"{over_float32:.2f}x float32's; first preview {reduced['first_preview_s']:.2f} s"),
            (f"  {name} step (GFLOP/CPU-s / GFLOP/s)",
             f"{rates['per_cpu']:.1f} / {rates['gflops']:.1f}", flops.share(rates, limits, name))]
    return rows, {"speedup_vs_reference": speedup, "speedup_vs_float32": over_float32,
                  "s_per_filter": reduced["seconds"] / count, "gflops": rates}


def clear_rows(count: int, reference: dict, ours: dict, clear: dict) -> tuple[list, dict]:
    """The clear style against the reference loop and the reference style (Xception)."""
    rows = [
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
    ]
    figures = {"clear_s_per_filter": clear["seconds"] / count, "clear_steps": clear["steps"],
               "clear_vs_reference_time": clear["seconds"] / reference["seconds"],
               "high_frequency_share": {"reference": ours["high_frequency_share"],
                                        "clear": clear["high_frequency_share"]},
               "input_range": {"reference": ours["input_range"], "clear": clear["input_range"],
                               "model": clear["model_range"]}}
    return rows, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="64 filters instead of 16 (Xception)")
    parser.add_argument("--sweep", action="store_true", help="also time batch sizes 1..16")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: xception,vgg16,resnet50v2")
    parser.add_argument("--no-clear", action="store_true", help="skip the clear style's run")
    parser.add_argument("--side", choices=("reference", "convviz", "clear", "limits"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=CASES, default="xception", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="auto",
                        help="comma-separated precisions ConvViz also runs in, beside float32 "
                             "(default auto: bfloat16 where the hardware has it)")
    args = parser.parse_args()
    if args.side:
        case = CASES[args.case]
        indices = case.indices(args.full)
        if args.side == "limits":  # with ConvViz's TensorFlow settings (oneDNN on)
            import convviz_gui.engine  # noqa: F401
            from convviz_gui.engine.precision import resolve

            measured = flops.machine_limits()
            measured["auto"] = resolve("auto").name
        elif args.side == "reference":
            measured = reference_side(case, indices)
        else:
            measured = convviz_side(case, indices, args.sweep,
                                    "clear" if args.side == "clear" else "reference",
                                    args.precision)
        measured.update(onednn=benchlib.onednn_enabled(), peak_rss_mib=benchlib.peak_rss_mib())
        print(json.dumps(measured))
        return
    # No TensorFlow and no engine in this process: each side's environment is its own
    # (the engine turns oneDNN on for its process; the reference keeps TensorFlow's defaults).
    limits = run_side("limits", "xception", args)
    figures: dict = {"limits": limits}
    for name in args.cases.split(","):
        case = CASES[name]
        count = len(case.indices(args.full))
        reference, ours = run_side("reference", name, args), run_side("convviz", name, args)
        rows, found = case_rows(case, count, reference, ours, limits)
        for requested in args.precision.split(","):
            if (limits["auto"] if requested == "auto" else requested) == "float32":
                rows.append((f"--precision {requested}", "float32", "the rows above"))
                continue
            reduced = run_side("convviz", name, args, requested)
            more_rows, more = reduced_rows(count, reference, ours, reduced, limits)
            rows += more_rows
            found[f"precision[{reduced['precision_described']}]"] = more
        if name == "xception" and not args.no_clear:
            more_rows, more = clear_rows(count, reference, ours, run_side("clear", name, args))
            rows += more_rows
            found.update(more)
        onednn = "/".join("on" if side["onednn"] else "off" for side in (reference, ours))
        benchlib.print_table(f"Filters, {case.title} {case.layer}, {count} filters, 30 steps "
                             f"(oneDNN reference/ConvViz: {onednn})", rows)
        figures[name] = found
    benchlib.print_table("The machine's limits, measured in this run", flops.limit_rows(limits))
    print(DEPTHWISE_NOTE)
    benchlib.print_json({"filters_speedup_vs_reference": figures.get("xception", {}).get(
        "speedup_vs_reference"), **figures})


if __name__ == "__main__":
    main()
