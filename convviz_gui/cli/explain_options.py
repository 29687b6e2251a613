"""The explanation options shared by ``gradcam``, ``compare`` and ``report``: the score and
a flag for every option the methods declare (``engine.cam.options``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_explain_options(sub: argparse.ArgumentParser, unnormalized: bool = True) -> None:
    """Options shared by ``gradcam``, ``compare`` and ``report``: the score, and a flag for
    every option the methods declare (``engine.cam.options``), with its help and range."""
    from convviz_gui.engine.cam.options import declared_options

    sub.add_argument("--score", choices=["logit", "probability"], default="logit",
                     help="explain the score before the output's softmax/sigmoid (logit, the "
                          "papers' definition; default) or after it (probability)")
    for option, owners in declared_options():
        special = "" if option.minimum is None else f"{option.minimum:g}"
        checked = {"choices": list(option.choices)} if option.choices else \
            {"type": _option_value(option)}
        sub.add_argument(option.flag, default=option.default,
                         help=option.describe(owners, special).replace("%", "%%"), **checked)
    if not unnormalized:
        return
    sub.add_argument("--unnormalized", action="store_true",
                     help="maps in units of the explained score instead of scaled to [0, 1]")


def _option_value(option: Any) -> Callable[[str], Any]:
    """The argparse ``type`` of a declared number option: converted, then range-checked
    (a bad value is one ``convviz: error: argument --FLAG: ...`` line)."""

    def parse(text: str) -> Any:
        try:
            value = option.kind(text)
        except ValueError:
            value = text
        problem = option.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def method_options(args: argparse.Namespace) -> Any:
    """The ``MethodOptions`` of the declared options' flags."""
    from convviz_gui.engine.cam.options import MethodOptions, declared_options

    return MethodOptions(**{option.name: getattr(args, option.name)
                            for option, _ in declared_options()})

