"""Markers on images ("+" at a heatmap's peak, at a channel's maximum) that stay whole when
the point lies on the image's edge: drawn over the axes' frame, yet hidden when a zoom or a
pan leaves the point out of view, with the texts around the image kept clear of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import patheffects, rcParams
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import BboxBase

POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class CrossStyle:
    """A "+" of ``size`` points, lines ``width`` points wide, in ``color``, outlined in
    ``outline`` (None: no outline) by a stroke ``outline_width`` points wide."""

    size: float = 14.0
    color: str = "white"
    width: float = 2.0
    outline: str | None = "black"

    @property
    def outline_width(self) -> float:
        return self.size / 3.5 if self.outline else self.width

    @property
    def reach(self) -> float:
        """How far (points) the marker reaches from its point, its outline included."""
        return self.size / 2 + self.outline_width / 2

    @property
    def title_pad(self) -> float:
        """A title's ``pad`` above an axes that clears a marker on its top edge."""
        return max(rcParams["axes.titlepad"], self.reach + 2.0)  # the title's descenders too

    @property
    def label_pad(self) -> float:
        """An x label's ``labelpad`` (or a caption's offset, in points) under an axes without
        ticks that clears a marker on its bottom edge."""
        return max(rcParams["axes.labelpad"], self.reach + 1.0)


PEAK = CrossStyle()  # a heatmap's peak: white, outlined in black


class GrownBox(BboxBase):
    """The bounding box of an axes (in display pixels) grown by ``points`` on every side,
    computed when read, so that it follows the layout, the canvas size and the dpi."""

    def __init__(self, ax: Axes, points: float) -> None:
        super().__init__()
        self._ax, self._points = ax, points

    def get_points(self) -> np.ndarray:
        """[[x0, y0], [x1, y1]] of the grown box, in display pixels."""
        figure = self._ax.get_figure(root=True)
        pad = self._points * (figure.dpi / POINTS_PER_INCH if figure is not None else 1.0)
        x0, y0, x1, y1 = self._ax.bbox.extents
        return np.array([[x0 - pad, y0 - pad], [x1 + pad, y1 + pad]])


def mark_whole(ax: Axes, x: float, y: float, style: CrossStyle = PEAK) -> Line2D:
    """A "+" at data point (x, y) of an image axes, whole even when the point lies on the
    image's edge: it is clipped to the axes grown by the marker's reach, not to the axes (a
    point zoomed or panned out of view stays hidden). Give the axes' title
    ``pad=style.title_pad`` and its x label ``labelpad=style.label_pad`` so that no text
    covers the part that sticks out. Returns the marker's artist."""
    effects = ([patheffects.withStroke(linewidth=style.outline_width, foreground=style.outline)]
               if style.outline else [])
    (marker,) = ax.plot([x], [y], linestyle="none", marker="+", color=style.color,
                        markersize=style.size, markeredgewidth=style.width, path_effects=effects,
                        scalex=False, scaley=False)
    marker.set_clip_path(None)  # the axes clip what they draw to their own frame
    marker.set_clip_box(GrownBox(ax, style.reach))
    return marker
