"""Headless command-line interface over the engine: ``convviz COMMAND ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import convviz_gui.engine  # noqa: F401  (sets TensorFlow environment before it loads)
from convviz_gui import __version__
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import PRESETS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"convviz: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``convviz`` argument parser."""
    parser = _Parser(prog="convviz", description="Explain a Keras convnet from the command line.")
    parser.add_argument("--version", action="version", version=f"convviz {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help_text: str, image: bool) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("model", help="model file, 'demo', or app:NAME[:imagenet|none]")
        if image:
            sub.add_argument("image", help="image file (PNG, JPEG, BMP, TIFF, WebP, GIF...)")
            sub.add_argument("--preprocess", choices=list(PRESETS), help="override preprocessing")
        sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        sub.add_argument("--trust-model-code", action="store_true",
                         help="allow Lambda layers (runs code from the model file)")
        return sub

    command("inspect", "list the layers of a model", image=False)
    predict = command("predict", "top-k predictions for an image", image=True)
    predict.add_argument("--top", type=int, default=5)
    acts = command("activations", "channel grid of one layer", image=True)
    acts.add_argument("--layer", required=True)
    acts.add_argument("--cmap", default="viridis")
    _output_options(acts)
    filters = command("filters", "gradient-ascent patterns of a layer's filters", image=False)
    filters.add_argument("--layer", required=True)
    filters.add_argument("--filters", default="0-63", help="e.g. 0-63 or 0,4,8-15")
    filters.add_argument("--steps", type=int, default=30)
    filters.add_argument("--lr", type=float, default=10.0)
    filters.add_argument("--size", type=int, default=200)
    filters.add_argument("--batch-size", type=int, default=None,
                         help="filters optimized together (default: chosen from the image size)")
    _output_options(filters)
    gradcam = command("gradcam", "class activation heatmap", image=True)
    gradcam.add_argument("--class", dest="class_", help="class index or label (default: top)")
    gradcam.add_argument("--layer", help="target layer (default: last spatial layer)")
    gradcam.add_argument("--method", default="Grad-CAM")
    gradcam.add_argument("--alpha", type=float, default=0.4)
    gradcam.add_argument("--cmap", default="jet")
    gradcam.add_argument("--heatmap-npy", type=Path, help="save the raw heatmap as .npy")
    _output_options(gradcam)
    return parser


def _output_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--out", type=Path, help="save the figure (.png, .svg or .pdf)")
    sub.add_argument("--dpi", type=int, default=150)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (2 on any error)."""
    args = build_parser().parse_args(argv)
    try:
        payload, text = _run(args)
    except ConvVizError as exc:
        print(f"convviz: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convviz: error: interrupted", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"convviz: error: unexpected {type(exc).__name__}: {first[:300]}", file=sys.stderr)
        return 2
    print(json.dumps(payload) if args.json else text)
    return 0


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from convviz_gui.engine import models

    loaded = models.open_model(args.model, trust_model_code=args.trust_model_code)
    if getattr(args, "preprocess", None):
        loaded.preset = args.preprocess
    handler = {"inspect": _inspect, "predict": _predict, "activations": _activations,
               "filters": _filters, "gradcam": _gradcam}[args.command]
    return handler(loaded, args)


def _layer(loaded: Any, name: str) -> tuple[str, ...]:
    from convviz_gui.engine.layers import find_layer

    info = find_layer(loaded.layer_tree, name)
    if info is None:
        raise ConvVizError(f"No layer named '{name}' in {loaded.name}; see 'convviz inspect'.")
    if not info.spatial:
        raise ConvVizError(f"{name} has output {info.output_shape}, not a spatial feature map.")
    return info.path


def _save(figure: Any, args: argparse.Namespace) -> str:
    from convviz_gui.engine.render import save_figure

    if args.out is None:
        return ""
    return f"\nsaved {save_figure(figure, args.out, args.dpi)}"


def _inspect(loaded: Any, args: argparse.Namespace) -> tuple[dict, str]:
    from convviz_gui.engine.layers import iter_layers

    summary = loaded.summary()
    lines = [f"{loaded.name}: input {summary['input_shape']}, output {summary['output_shape']} "
             f"({summary['output_kind']}, {summary['classes']} classes), "
             f"{summary['params']:,} parameters, preprocessing {loaded.preset}"]
    for node in iter_layers(loaded.layer_tree):
        indent = "  " * (len(node.path) - 1)
        mark = "*" if node.spatial and not node.is_container else " "
        lines.append(f"{mark} {indent}{node.name:<34} {node.class_name:<24} "
                     f"{str(node.output_shape):<24} {node.params:>10,}")
    lines.append(f"(* spatial output; default CAM layer: {summary['default_cam_layer']})")
    lines.extend(summary["notes"])
    return summary, "\n".join(lines)


def _load_image(path: str) -> Any:
    from convviz_gui.engine.images import load_image

    return load_image(path)


def _predict(loaded: Any, args: argparse.Namespace) -> tuple[dict, str]:
    from convviz_gui.engine.cam import predict

    image = _load_image(args.image)
    predictions = predict(loaded, loaded.prepare(image), args.top)
    payload = {"model": loaded.name, "image": image.name,
               "predictions": [p.to_dict() for p in predictions]}
    text = "\n".join(f"{p.score:8.4f}  {p.index:>4}  {p.label}" for p in predictions)
    return payload, text


def _activations(loaded: Any, args: argparse.Namespace) -> tuple[dict, str]:
    from convviz_gui.engine.activations import compute_activations
    from convviz_gui.engine.render import activation_grid_figure

    path = _layer(loaded, args.layer)
    image = _load_image(args.image)
    acts = compute_activations(loaded, loaded.prepare(image), [path])[path]
    stats = acts.stats()
    payload = {"layer": acts.name, "shape": [1, *acts.values.shape],
               "channels": [{"index": s.index, "mean": s.mean, "max": s.max, "blank": s.blank}
                            for s in stats]}
    blank = sum(s.blank for s in stats)
    text = f"{acts.name}: shape {payload['shape']}, {blank} blank channels of {len(stats)}"
    text += _save(activation_grid_figure(acts, args.cmap), args)
    return payload, text


def _filters(loaded: Any, args: argparse.Namespace) -> tuple[dict, str]:
    from convviz_gui.engine.filters import FilterSettings, parse_filter_range, visualize_filters
    from convviz_gui.engine.render import filter_grid_figure

    path = _layer(loaded, args.layer)
    settings = FilterSettings(steps=args.steps, learning_rate=args.lr, size=args.size,
                              batch_size=args.batch_size)
    indices = parse_filter_range(args.filters)
    show_progress = not args.json and sys.stderr.isatty()

    def report(progress: Any) -> None:
        if show_progress:
            print(f"\r{progress.fraction:6.1%}", end="", file=sys.stderr, flush=True)

    result = visualize_filters(loaded, path, indices, settings, progress=report)
    if show_progress:
        print(file=sys.stderr)
    text = (f"{'/'.join(path)}: {len(result.patterns)} filters in {result.seconds:.1f} s "
            f"({result.seconds / len(result.patterns):.2f} s/filter)")
    text += _save(filter_grid_figure(result), args)
    return result.to_dict(), text


def _gradcam(loaded: Any, args: argparse.Namespace) -> tuple[dict, str]:
    import numpy as np

    from convviz_gui.engine.cam import make_cam, predict, predicted_mask, resolve_class
    from convviz_gui.engine.render import gradcam_figure

    image = _load_image(args.image)
    batch = loaded.prepare(image)
    predictions = predict(loaded, batch, 5)
    class_index = resolve_class(loaded, args.class_, predictions)
    layer = _layer(loaded, args.layer) if args.layer else None
    result = make_cam(loaded, layer, args.method)(batch, class_index)
    payload = result.to_dict(image.size)
    if args.heatmap_npy:
        try:
            np.save(args.heatmap_npy, result.heatmap)
        except OSError as exc:
            raise ConvVizError(f"Cannot write {args.heatmap_npy}: {exc.strerror or exc}.") from exc
    mask = predicted_mask(loaded, batch) if loaded.output_kind == "segmentation" else None
    text = (f"{result.method} for '{result.label}' ({result.score:.4f}) at {payload['layer']}: "
            f"heatmap {payload['heatmap_shape']}, peak at x={payload['peak_xy'][0]} "
            f"y={payload['peak_xy'][1]} of {image.size[0]}x{image.size[1]}")
    figure = gradcam_figure(image.rgb, result, args.alpha, args.cmap, predictions, mask)
    text += _save(figure, args)
    return payload, text


if __name__ == "__main__":
    raise SystemExit(main())
