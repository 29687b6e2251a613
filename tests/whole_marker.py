"""Checks that a "+" marker on an image (``figures.markers.mark_whole``) is drawn whole: not
clipped to its axes, nothing of it cut by its clip box or the figure's edge, and no text of
its axes (title, x label, caption) over it."""

from __future__ import annotations

from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox


def marker_box(line: Line2D, renderer) -> Bbox:
    """The marker's extent in display pixels, its lines' width included."""
    reach = (line.get_markersize() + line.get_markeredgewidth()) / 2 * renderer.points_to_pixels(1.0)
    (x,), (y,) = line.get_xydata()[:, 0], line.get_xydata()[:, 1]
    cx, cy = line.get_transform().transform((x, y))
    return Bbox.from_extents(cx - reach, cy - reach, cx + reach, cy + reach)


def assert_drawn_whole(line: Line2D, renderer) -> Bbox:
    """Assert that the marker is drawn whole and uncovered; returns its extent."""
    ax, figure = line.axes, line.get_figure(root=True)
    box = marker_box(line, renderer)
    if line.get_clip_on():
        clip = line.get_clip_box()
        assert line.get_clip_path() is None and clip is not None  # not the axes' frame
        slack = 0.5  # pixels of rounding
        assert clip.x0 - slack <= box.x0 and box.x1 <= clip.x1 + slack
        assert clip.y0 - slack <= box.y0 and box.y1 <= clip.y1 + slack
    assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1
    assert figure.bbox.y0 <= box.y0 and box.y1 <= figure.bbox.y1
    texts = [ax.title, ax.xaxis.label, *ax.texts]
    for text in texts:
        if text.get_visible() and text.get_text():
            assert not text.get_window_extent(renderer).overlaps(box), text.get_text()
    return box
