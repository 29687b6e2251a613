"""``convviz filters``: gradient-ascent patterns of a layer's filters (or units, classes)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from convviz_gui.cli.common import (
    Command,
    Output,
    add_model_arguments,
    add_output_options,
    layer_path,
    opened_model,
    save_out,
)
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import PRESETS
from convviz_gui.ops.context import OpContext


def filters_arguments(sub: argparse.ArgumentParser) -> None:
    """``convviz filters MODEL --layer NAME [--filters 0-63] [--style ...] [--out]``."""
    from convviz_gui.engine.featurevis.settings import OBJECTIVES, START_MODES

    add_model_arguments(sub, image=False)
    sub.add_argument("--layer", help="the layer (not needed with --objective class)")
    sub.add_argument("--filters", default="0-63",
                     help="e.g. 0-63 or 0,4,8-15 (units or classes with those objectives)")
    sub.add_argument("--style", choices=("reference", "clear"), default="reference",
                     help="reference: the book's gradient ascent; clear: Lucid-style images in "
                          "the model's input range (Olah et al. 2017)")
    sub.add_argument("--objective", choices=OBJECTIVES, default="channel",
                     help="clear style: a channel, its centre neuron, a unit of a flat layer "
                          "(Dense), or a class logit of the output layer")
    sub.add_argument("--negative", action="store_true", help="clear style: minimize the target")
    sub.add_argument("--steps", type=int, help="default: 30 (reference), 256 (clear)")
    sub.add_argument("--lr", type=float, help="default: 10 (reference), Adam 0.05 (clear)")
    sub.add_argument("--size", type=int,
                     help="pattern size in pixels (default: 200; the model's own with --objective class)")
    sub.add_argument("--batch-size", type=int, default=None,
                     help="filters optimized together (default: chosen from the image size)")
    sub.add_argument("--variants", type=int, default=1, help="clear style: images per filter")
    sub.add_argument("--diversity", type=float, default=0.0,
                     help="clear style: weight against similar variants (try 1)")
    sub.add_argument("--tv", type=float, default=0.0, help="clear style: total-variation weight")
    sub.add_argument("--l2", type=float, default=0.0, help="clear style: L2 weight")
    sub.add_argument("--blur", type=float, default=0.0, help="clear style: blur weight")
    sub.add_argument("--no-transforms", action="store_true",
                     help="clear style: no random pad, jitter, scale and rotation")
    sub.add_argument("--no-decorrelate", action="store_true",
                     help="clear style: optimize RGB directly (no ImageNet colour decorrelation)")
    sub.add_argument("--preprocess", choices=list(PRESETS),
                     help="the preset the grey start (and the clear style's pixels) go through "
                          "(default: the model's)")
    sub.add_argument("--start", choices=START_MODES, default="grey",
                     help="reference style's start: grey (default: pixels 102-153 through the "
                          "preprocessing), or the book's in model units: reference U[0.4, 0.6], "
                          "centered (U - 0.5) * 0.25")
    sub.add_argument("--seed", type=int, default=0, help="random start (default: 0)")
    sub.add_argument("--patterns-dir", type=Path, help="write one PNG per filter, named by its index")
    add_output_options(sub)


def filters(args: argparse.Namespace, context: OpContext) -> Output:
    """Gradient-ascent patterns of the chosen filters (units, classes), their timing and
    dead filters; PNGs with ``--patterns-dir``, the grid with ``--out``."""
    from convviz_gui.engine.featurevis.settings import ClearSettings, FilterSettings
    from convviz_gui.engine.featurevis.targeting import ONE, choose_filters, class_objective_size
    from convviz_gui.ops.filters import Filters
    from convviz_gui.ops.registry import run

    model = opened_model(args, context)
    if args.layer is None and args.objective != "class":
        raise ConvVizError("Choose a layer with --layer (only --objective class needs none).")
    clear = ClearSettings(objective=args.objective, negative=args.negative,
                          decorrelate=not args.no_decorrelate, transforms=not args.no_transforms,
                          total_variation=args.tv, l2=args.l2, blur=args.blur,
                          variants=args.variants, diversity=args.diversity)
    if args.style == "clear" and args.start != "grey":
        raise ConvVizError("--start chooses the reference style's start image; the clear style "
                           "starts from grey pixels.")
    if args.style == "reference" and clear != ClearSettings():
        raise ConvVizError("--objective, --negative, --variants, --diversity, --tv, --l2, --blur, "
                           "--no-transforms and --no-decorrelate need --style clear.")
    size = args.size
    if size is None:
        own = class_objective_size(model.input_shape) if args.objective == "class" else None
        size = own or FilterSettings().size
    chosen = {name: value for name, value in (("steps", args.steps), ("learning_rate", args.lr))
              if value is not None}
    settings = FilterSettings.for_style(args.style, size=size, batch_size=args.batch_size,
                                        seed=args.seed, preset=args.preprocess, start=args.start,
                                        **chosen,
                                        **({"clear": clear} if args.style == "clear" else {}))
    layer = layer_path(args.layer) if args.objective != "class" else ()
    target, indices = choose_filters(model, layer, settings.objective, args.filters)
    request = Filters(model.ref, layer, tuple(indices), settings)
    result = run(request, context)
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    found = result.filters
    note = getattr(found, "size_note", "")
    if note:
        print(f"convviz: note: {note}", file=sys.stderr)
    what = target.counted
    text = (f"{'/'.join(found.layer)}: {len(found.patterns)} {what} in {found.seconds:.1f} s "
            f"({found.seconds / len(found.patterns):.2f} s/{ONE[what]}), "
            f"{args.style} style, {found.optimized} optimized")
    if found.dead:
        text += (f"\n{len(found.dead)} dead (never moved from the start): "
                 f"{', '.join(map(str, sorted(found.dead)))}")
    if found.input_range is not None and found.model_range is not None:
        text += (f"; inputs in [{found.input_range[0]:.3g}, {found.input_range[1]:.3g}], the "
                 f"model's range is [{found.model_range[0]:.3g}, {found.model_range[1]:.3g}]")
    if args.patterns_dir is not None:
        written = write_patterns(found.patterns, args.patterns_dir)
        text += f"\nwrote {len(written)} PNGs to {args.patterns_dir}"
    text += save_out(result, args, context)
    return found.to_dict(), text


def write_patterns(patterns: dict[int, Any], folder: Path) -> list[Path]:
    """``--patterns-dir``: one PNG per filter, ``<index>.png``, as optimized (uint8)."""
    from PIL import Image

    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for index in sorted(patterns):
            path = folder / f"{index}.png"
            Image.fromarray(patterns[index]).save(path)
            written.append(path)
    except OSError as exc:
        raise ConvVizError(f"Cannot write patterns to {folder}: {exc.strerror or exc}.") from exc
    return written



FILTERS = Command("filters", "gradient-ascent patterns of a layer's filters", filters_arguments,
                  filters, progress=True)
