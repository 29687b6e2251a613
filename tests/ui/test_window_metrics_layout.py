"""The Grad-CAM view with metrics is laid out for the canvas it gets: at 1366x768 (a ~460 px
canvas) and on a tall canvas nothing overlaps or leaves the figure, the deletion/insertion
curves and ROAD's included."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from convviz_gui.engine.models import demo_image_path
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.context import OpContext, Workspace
from convviz_gui.ops.explain import Explain, ExplainSpec, explain
from convviz_gui.ops.export import FigureStyle


@pytest.fixture(scope="module")
def explained():
    return explain(Explain(ModelRef("demo"), ImageRef(str(demo_image_path())), ExplainSpec(metrics=True)),
                   OpContext(Workspace()))


@pytest.mark.parametrize(("width", "height", "tall"), [(460, 430, False), (1000, 720, False),
                                                       (380, 600, True)])
def test_metrics_view_fits_its_canvas(explained, width, height, tall):
    figure = figure_for(explained, FigureStyle(tall=tall))
    figure.set_size_inches(width / 100, height / 100)
    figure.set_dpi(100)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    *panels, deletion, road = figure.axes
    titles = [ax.title.get_window_extent(renderer) for ax in panels]
    for index, box in enumerate(titles):  # the panel titles never run together
        assert not any(box.overlaps(other) for other in titles[index + 1:])
        assert box.x0 >= -1 and box.x1 <= width + 1
    assert deletion.get_title().startswith("faithfulness") and road.get_title().startswith("ROAD")
    texts = []
    for curves in (deletion, road):
        legend = curves.get_legend().get_window_extent(renderer)
        for ax in (deletion, road):  # beside the curves, not on them
            assert not legend.overlaps(ax.get_window_extent(renderer))
        assert legend.x0 >= 0 and legend.x1 <= width and legend.y0 >= 0
        texts += [legend] + [text.get_window_extent(renderer)
                             for text in (curves.title, curves.xaxis.label) if text.get_text()]
    for index, box in enumerate(texts):  # the two axes' titles, labels and legends apart
        assert box.x0 >= -1 and box.x1 <= width + 1
        assert not any(box.overlaps(other) for other in texts[index + 1:])
    title = figure._suptitle.get_window_extent(renderer)
    assert title.x0 >= -1 and title.x1 <= width + 1
    image = panels[0].get_window_extent(renderer)
    assert min(image.width, image.height) > 80  # larger than the 57 px of the old 5-panel row
