"""A table of text that fits its axes at any canvas size: each column as wide as its widest
text (its header's included), the font shrunk only when the texts at their size would not
fit the table's width; recomputed at every draw, so a resized window re-fits it."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.table import Table
from matplotlib.transforms import Bbox

FIT_MARGIN = 0.97  # the shrunk texts fill at most this share of the width (glyph rounding)
FIT_STEPS = 4  # shrinking steps at most


class FittedTable(Table):
    """Headers over rows of text in ``bbox`` (axes fraction) of ``ax``, at ``fontsize``
    points or smaller (never below ``min_fontsize``) when the texts would overlap; the first
    column is aligned left, the others right."""

    def __init__(self, ax: Axes, headers: Sequence[str], rows: Sequence[Sequence[str]],
                 bbox: Bbox, fontsize: float, min_fontsize: float = 4.0) -> None:
        super().__init__(ax, bbox=bbox)
        self.fontsize, self.min_fontsize = fontsize, min_fontsize
        self.room = bbox.width  # axes fraction the columns share
        for row, texts in enumerate([headers, *rows]):
            for column, text in enumerate(texts):
                self.add_cell(row, column, width=1.0, height=1.0, text=text,
                              loc="left" if column == 0 else "right")
        self.auto_set_font_size(False)
        ax.add_table(self)

    def draw(self, renderer: RendererBase) -> None:
        """Fit the columns and the font to the axes' current size, then draw."""
        self.fit(renderer)
        super().draw(renderer)

    def fit(self, renderer: RendererBase) -> None:
        """Each column as wide as its widest text (the table then scales the columns to its
        width) at ``fontsize``, or at the font shrunk until the texts fit the width."""
        fontsize = self.fontsize
        for _ in range(FIT_STEPS):  # text widths are not quite proportional to the font size
            self.set_fontsize(fontsize)
            widths = self.column_widths(renderer)
            needed = sum(widths.values())
            if needed <= self.room or fontsize <= self.min_fontsize:
                break
            fontsize = max(self.min_fontsize, fontsize * self.room / needed * FIT_MARGIN)
        for (_, column), cell in self.get_celld().items():
            cell.set_width(widths[column])

    def column_widths(self, renderer: RendererBase) -> dict[int, float]:
        """{column: the width its widest text needs with its padding, in axes fraction}."""
        widths: dict[int, float] = {}
        for (_, column), cell in self.get_celld().items():
            widths[column] = max(widths.get(column, 0.0), cell.get_required_width(renderer))
        return widths
