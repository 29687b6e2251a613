"""Headless command-line interface over the operations layer: ``convviz COMMAND ...``.

One module per family of commands, each declaring a ``common.Command`` (its arguments and
its run function side by side): ``model`` (inspect, predict), ``activations``, ``filters``,
``explain`` (gradcam, compare; their shared options in ``explain_options``), ``sanity``
(the model-randomization check of a method), ``report``, ``dataset`` and ``kernels``.
``COMMANDS`` lists them in the order ``convviz --help`` shows: a new command is one module
and one entry there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NoReturn

import convviz_gui.engine  # noqa: F401  (sets TensorFlow environment before it loads)
from convviz_gui import __version__
from convviz_gui.cli import activations, dataset, explain, filters, kernels, model, report, sanity
from convviz_gui.cli.common import Command, progress_printer
from convviz_gui.engine.errors import ConvVizError

COMMANDS: tuple[Command, ...] = (
    model.INSPECT,
    model.PREDICT,
    activations.ACTIVATIONS,
    filters.FILTERS,
    explain.GRADCAM,
    explain.COMPARE,
    sanity.SANITY,
    report.REPORT,
    dataset.DATASET,
    kernels.KERNELS,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"convviz: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``convviz`` argument parser: one subcommand per entry of ``COMMANDS``."""
    parser = _Parser(prog="convviz", description="Explain a Keras convnet from the command line.")
    parser.add_argument("--version", action="version", version=f"convviz {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.arguments(commands.add_parser(command.name, help=command.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (2 on any error, 1 when the reader of its
    output went away, as in ``convviz inspect demo | head -1``)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python's recipe (docs of the signal module, "Note on SIGPIPE"): no traceback, and
        # stdout goes to devnull so that its flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    from convviz_gui.engine.models import UnsafeModelError

    args = build_parser().parse_args(argv)
    try:
        payload, text = _run(args)
    except UnsafeModelError as exc:
        print(f"convviz: error: {exc} Add --trust-model-code to run it.", file=sys.stderr)
        return 2
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
    print(json.dumps(payload) if args.json else text, flush=True)
    return 0


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Run the chosen command with a fresh workspace; returns (JSON payload, text). The
    payload says the precision its passes ran in (``"precision"``; an explanation's own,
    when its method keeps float32 under ``auto``)."""
    from convviz_gui.engine.precision import emulation_note
    from convviz_gui.ops.context import OpContext, Workspace

    command = next(command for command in COMMANDS if command.name == args.command)
    context = OpContext(Workspace(), progress_printer(args, command.progress),
                        precision=getattr(args, "precision", "float32"))
    payload, text = command.run(args, context)
    precision = context.resolved_precision()
    note = emulation_note(precision)
    if note:
        print(f"convviz: note: {note}", file=sys.stderr)
    return {"precision": precision.describe(), **payload}, text
