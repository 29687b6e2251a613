"""Texts fitted to the room the layout gives them: the layout places the axes, each fitter
shrinks or shortens its texts to the room found, then, when a fitted text is one the layout
places, the layout places the axes again around it. It runs at every draw, so a resized
window or an export at another size re-fits them. Widths are measured from the font's
outlines (no renderer needed)."""

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

Fitter = Callable[[Figure], bool]  # True when it changed a text that the layout places


class FittingLayout(ConstrainedLayoutEngine):
    """Constrained layout that runs ``fitters`` (each given the figure, its axes placed)
    and places the axes again when one of them changed a text the layout places."""

    def __init__(self, fitters: Sequence[Fitter]) -> None:
        super().__init__()
        self.fitters = list(fitters)

    def execute(self, fig: Figure) -> None:
        super().execute(fig)
        changed = [fit(fig) for fit in self.fitters]  # every fitter runs
        if any(changed):
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
        widest = max(text_width(line, font) for line in lines)
        if chars == 1 or widest <= width:
            return lines
        chars = max(1, min(chars - 1, int(chars * width / widest)))


class ParagraphFitter:
    """Fits ``text`` (``full`` once fitted) to ``ax``: wrapped to the width of ``ax``, in
    the largest font from ``fontsize`` down to ``min_fontsize`` whose lines fit the height
    of ``ax``; at ``min_fontsize``, the lines that fit, the last one ending in "[…]". A
    text outside the layout (``text.get_in_layout()`` False) needs no second layout."""

    def __init__(self, text: Text, full: str, ax: Axes, fontsize: float, min_fontsize: float) -> None:
        self.text, self.full, self.ax = text, full, ax
        self.fontsize, self.min_fontsize = fontsize, min_fontsize
        self.fitted_to: tuple[float, float] | None = None  # the room (points) last fitted to

    def __call__(self, figure: Figure) -> bool:
        room = (points(figure, self.ax.bbox.width), points(figure, self.ax.bbox.height))
        if room == self.fitted_to:
            return False
        self.fitted_to = room
        size, lines = self.fit(*room)
        self.text.set_fontsize(size)
        self.text.set_text("\n".join(lines))
        return self.text.get_in_layout()

    def fit(self, width: float, height: float) -> tuple[float, list[str]]:
        """(font size, lines) of the text fitted to ``width`` x ``height`` points."""
        font = self.text.get_fontproperties().copy()
        size = self.fontsize
        while True:
            font.set_size(size)
            lines = wrap_to_width(self.full, font, width)
            if len(lines) * size * LINE_HEIGHT <= height or size <= self.min_fontsize:
                break
            size = max(self.min_fontsize, size - 0.5)
        room = max(1, int(height / (size * LINE_HEIGHT)))
        chars = sum(len(line) + 1 for line in lines[:room])
        while len(lines) > room and chars > len(PLACEHOLDER) + 1:
            lines = wrap_to_width(textwrap.shorten(self.full, chars, placeholder=PLACEHOLDER), font, width)
            chars -= 4
        return size, lines


def fit_tick_labels(ax: Axes, count: int, fontsize: float, min_fontsize: float = 4.0) -> bool:
    """The tick labels of an image axes of ``count`` x ``count`` cells, the x ones upright,
    in the largest font up to ``fontsize`` whose lines are narrower than a cell, so that
    neighbouring labels never touch. Returns whether their size changed."""
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    ax.apply_aspect()  # the cells' size as drawn
    pitch = points(figure, min(ax.bbox.width, ax.bbox.height)) / max(count, 1)
    size = max(min_fontsize, min(fontsize, pitch / LINE_HEIGHT))
    labels = ax.get_xticklabels() + ax.get_yticklabels()
    if all(label.get_fontsize() == size for label in labels):
        return False
    ax.tick_params(axis="both", labelsize=size)
    return True
