"""What every ``convviz`` command shares: the ``Command`` declaration, the model and image
arguments, the figure output, and the progress line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convviz_gui.engine.images import FIT_MODES, PRESETS
from convviz_gui.engine.precision import PRECISIONS
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.model import ModelSummary

Output = tuple[dict[str, Any], str]  # (the --json payload, the text printed otherwise)


@dataclass(frozen=True)
class Command:
    """One ``convviz`` subcommand: its name and help line, ``arguments(parser)`` declaring
    its arguments, and ``run(args, context)`` computing its output."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, OpContext], Output]
    progress: bool = False  # a percentage line on stderr (a terminal, no --json)


def add_model_arguments(sub: argparse.ArgumentParser, image: bool) -> None:
    """The arguments every model command starts with: the model, the image (with
    ``image``) and how it is fitted, ``--json``, and how the model is opened."""
    sub.add_argument("model", help="model file, 'demo', or app:NAME[:imagenet|none]")
    if image:
        sub.add_argument("image", help="image file (PNG, JPEG, BMP, TIFF, WebP, GIF...)")
        sub.add_argument("--preprocess", choices=list(PRESETS), help="override preprocessing")
        sub.add_argument("--fit", choices=list(FIT_MODES), default="stretch",
                         help="how the image meets the model's input size (default: stretch)")
    sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_model_options(sub)


def add_model_options(sub: argparse.ArgumentParser) -> None:
    """How the model is opened: the code it runs, consent, which output is explained, and
    the precision its passes run in."""
    sub.add_argument("--trust-model-code", action="store_true",
                     help="allow running code: Lambda layers in the model file, --model-code")
    sub.add_argument("--model-code", action="append", default=[], metavar="FILE.py|MODULE",
                     help="Python file or importable module defining the model's custom layers, "
                          "functions or model class; repeatable; remembered next to the model")
    sub.add_argument("--output", default="",
                     help="the output explained, by name or index, for a model with several "
                          "(default: the remembered one, else the classifier head)")
    sub.add_argument("--precision", choices=PRECISIONS, default="auto",
                     help="the type the model's passes run in: auto (bfloat16 on processors "
                          "and GPUs that have it, float16 on older GPUs, else float32), "
                          "float32, bfloat16 or float16; scores and maps stay float32 "
                          "(default: auto)")


def add_output_options(sub: argparse.ArgumentParser) -> None:
    """``--out`` and ``--dpi``: the figure saved to a file."""
    sub.add_argument("--out", type=Path, help="save the figure (.png, .svg or .pdf)")
    sub.add_argument("--dpi", type=int, default=150)


def model_ref(args: argparse.Namespace) -> ModelRef:
    """The model to open, with its code files made absolute (the engine may run elsewhere)."""
    from convviz_gui.engine.model_code import is_code_file

    code = tuple(os.path.abspath(entry) if is_code_file(entry) else entry  # noqa: PTH100 (no symlinks followed)
                 for entry in args.model_code)
    return ModelRef(args.model, args.trust_model_code, args.output, code)


def opened_model(args: argparse.Namespace, context: OpContext) -> ModelSummary:
    """Open the command's model (the first step of every command but ``report``)."""
    from convviz_gui.ops.model import OpenModel
    from convviz_gui.ops.registry import run

    return run(OpenModel(model_ref(args)), context)


def image_ref(args: argparse.Namespace) -> ImageRef:
    """The command's image and how it is fitted."""
    return ImageRef(args.image, args.fit)


def layer_path(name: str) -> tuple[str, ...]:
    """A layer's slash path (``block/conv``) as a path tuple."""
    return tuple(part for part in name.split("/") if part) or (name,)


def save_out(result: Any, args: argparse.Namespace, context: OpContext,
             style: FigureStyle | None = None) -> str:
    """``--out``: the figure saved by the same operation as the window's File > Export;
    returns the line saying so ("" without ``--out``)."""
    from convviz_gui.ops.export import ExportFigure
    from convviz_gui.ops.registry import run

    if args.out is None:
        return ""
    saved = run(ExportFigure(result, str(args.out), style or FigureStyle(), args.dpi), context)
    return f"\nsaved {saved.paths[0]}"


def progress_printer(args: argparse.Namespace, shows_progress: bool) -> Callable[[Any], None] | None:
    """Progress on stderr (a percentage line) when it is a terminal and no JSON is asked;
    None otherwise (nobody listens: long operations skip their previews)."""
    if args.json or not sys.stderr.isatty() or not shows_progress:
        return None

    def report(progress: Any) -> None:
        if hasattr(progress, "fraction"):
            print(f"\r{progress.fraction:6.1%}", end="", file=sys.stderr, flush=True)

    return report


def end_progress(args: argparse.Namespace) -> None:
    """End the progress line (batched explanations print one)."""
    if not args.json and sys.stderr.isatty():
        print("\r" + " " * 8 + "\r", end="", file=sys.stderr, flush=True)
