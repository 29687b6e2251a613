"""Texts fitted to the room the layout gives them: the layout places the axes, each fitter
shrinks or shortens its texts to the room found, then the layout places the axes again
around the fitted texts. It runs at every draw, so a resized window or an export at another
size re-fits them. Widths are measured from the font's outlines (no renderer needed)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.textpath import text_to_path

from convviz_gui.figures.text import shorten

POINTS_PER_INCH = 72.0
LINE_HEIGHT = 1.3  # the height of a line of text, in font sizes (line spacing and a gap)
MIN_CHARS = 4  # a name is never shortened below this many characters
PLACEHOLDER = " […]"  # the end of a text cut short

Fitter = Callable[[Figure], None]


class FittingLayout(ConstrainedLayoutEngine):
    """Constrained layout that runs ``fitters`` (each given the figure, its axes placed)
    and then places the axes again."""

    def __init__(self, fitters: Sequence[Fitter]) -> None:
        super().__init__()
        self.fitters = list(fitters)

    def execute(self, fig: Figure) -> None:
        super().execute(fig)
        for fit in self.fitters:
            fit(fig)
        super().execute(fig)


def points(figure: Figure, pixels: float) -> float:
    """``pixels`` of the figure's canvas in points."""
    return pixels * POINTS_PER_INCH / figure.dpi


def text_width(text: str, font: FontProperties) -> float:
    """The width of the widest line of ``text`` in ``font``, in points."""
    return max(text_to_path.get_text_width_height_descent(line, font, ismath=False)[0]
               for line in text.split("\n"))


def shorten_to_width(text: str, font: FontProperties, width: float, limit: int) -> str:
    """``text`` shortened in the middle (at most ``limit`` characters, at least
    ``MIN_CHARS``) until it is at most ``width`` points wide in ``font``."""
    for chars in range(min(limit, len(text)), MIN_CHARS, -1):
        short = shorten(text, chars)
        if text_width(short, font) <= width:
            return short
    return shorten(text, MIN_CHARS)


def wrap_to_width(text: str, font: FontProperties, width: float) -> list[str]:
    """``text`` wrapped into lines at most ``width`` points wide in ``font`` (a word longer
    than a line is broken)."""
    chars = max(1, int(len(text) * width / max(text_width(text, font), 1e-6)))
    while True:
        lines = textwrap.wrap(text, chars) or [""]
        if chars == 1 or max(text_width(line, font) for line in lines) <= width:
            return lines
        chars -= 1


def fit_paragraph(text: Text, full: str, ax: Axes, fontsize: float, min_fontsize: float) -> None:
    """Set ``text`` to ``full`` wrapped to the width of ``ax``, in the largest font from
    ``fontsize`` down to ``min_fontsize`` whose lines fit the height of ``ax``; at
    ``min_fontsize``, the lines that fit, the last one ending in "[…]"."""
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    width, height = points(figure, ax.bbox.width), points(figure, ax.bbox.height)
    font = text.get_fontproperties().copy()
    size = fontsize
    while True:
        font.set_size(size)
        lines = wrap_to_width(full, font, width)
        if len(lines) * size * LINE_HEIGHT <= height or size <= min_fontsize:
            break
        size = max(min_fontsize, size - 0.5)
    room = max(1, int(height / (size * LINE_HEIGHT)))
    if len(lines) > room:
        chars = sum(len(line) + 1 for line in lines[:room])
        while len(lines) > room and chars > len(PLACEHOLDER) + 1:
            lines = wrap_to_width(textwrap.shorten(full, chars, placeholder=PLACEHOLDER), font, width)
            chars -= 4
    text.set_fontsize(size)
    text.set_text("\n".join(lines))


def fit_tick_labels(ax: Axes, count: int, fontsize: float, min_fontsize: float = 4.0) -> None:
    """The tick labels of an image axes of ``count`` x ``count`` cells, the x ones upright,
    in the largest font up to ``fontsize`` whose lines are narrower than a cell, so that
    neighbouring labels never touch."""
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    ax.apply_aspect()  # the cells' size as drawn
    pitch = points(figure, min(ax.bbox.width, ax.bbox.height)) / max(count, 1)
    size = max(min_fontsize, min(fontsize, pitch / LINE_HEIGHT))
    ax.tick_params(axis="both", labelsize=size)
