"""The one figure builder: a result and a style in, a matplotlib ``Figure`` out.

The window shows these figures, File > Export saves them, and the CLI's ``--out``
saves them, all at the figure's own size: the same view gives the same pixels.

Each figure module registers the view of its result type with ``@draws``, next to its
builder; ``figure_for`` imports every module of this package once, so that a new
operation's figure is one decorated function in one place.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from matplotlib.figure import Figure

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.ops.export import FigureStyle

View = Callable[[Any, FigureStyle, str], Figure]  # (result, style, colour map) -> figure
ViewT = TypeVar("ViewT", bound=View)


@dataclass(frozen=True)
class Registered:
    """How one result type is drawn: its view, and its colour map when the style has none."""

    view: View
    cmap: str


_VIEWS: dict[type, Registered] = {}


def draws(result_type: type, cmap: str = "viridis") -> Callable[[ViewT], ViewT]:
    """Register the decorated ``view(result, style, cmap)`` as the figure of ``result_type``
    (``cmap``: its default colour map)."""

    def register(view: ViewT) -> ViewT:
        if result_type in _VIEWS:
            raise ValueError(f"{result_type.__name__} already has a figure.")
        _VIEWS[result_type] = Registered(view, cmap)
        return view

    return register


def registered_views() -> dict[type, Registered]:
    """Every result type that has a figure (each figure module imported first)."""
    _import_figure_modules()
    return dict(_VIEWS)


def figure_for(result: Any, style: FigureStyle | None = None) -> Figure:
    """Draw any view's result (with the default style when none is given)."""
    views = registered_views()
    found = next((views[kind] for kind in type(result).__mro__ if kind in views), None)
    if found is None:
        raise ConvVizError("This view has no figure to draw.")
    style = style or FigureStyle()
    return found.view(result, style, style.cmap or found.cmap)


@cache
def _import_figure_modules() -> None:
    """Import each module of this package (their ``@draws`` register the views), once."""
    package = __name__.rpartition(".")[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if not module.ispkg:
            importlib.import_module(f"{package}.{module.name}")
