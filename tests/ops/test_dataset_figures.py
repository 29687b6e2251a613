"""The Dataset tab's figures at the canvas sizes the window gives them (706x362 at 1366x768,
and 1300x700), on a real scan of the demo model over a folder of its 7 classes, the class
names made long: no text of the Strategies and Mistakes views runs into another."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PIL import Image

from convviz_gui.figures.dataset import MistakesView, StrategiesView
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.export import FigureStyle

pytestmark = pytest.mark.filterwarnings("ignore")
CANVASES = [(706, 362), (1300, 700)]  # the Dataset tab's canvas at 1366x768, and a large one
PER_CLASS = 3
REASON = ("Possible shortcut: 45% of the relevance lies in 5% of the image, at (38, 38) of the "
          "64x64 model input (the centre), in the same place for all images (peaks 3% of the "
          "diagonal apart). In the centre this may be the object itself, if the photos are "
          "centred on it; elsewhere it may be a watermark, a border or a label.")


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """The demo model's scan of a folder of noise images in its 7 class subfolders, the
    class names made long."""
    from convviz_gui.engine.models import load_demo
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.dataset import Dataset
    from convviz_gui.ops.registry import run

    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    for name in load_demo().labels:
        (root / name).mkdir()
        for index in range(PER_CLASS):
            noise = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
            Image.fromarray(noise).save(root / name / f"{index}.png")
    result = run(Dataset(ModelRef("demo"), str(root), top_k=2, batch_size=8, cache=False),
                 OpContext(Workspace()))
    return dataclasses.replace(result, classes=tuple(f"{name}_of_a_long_name" for name in result.classes))


def drawn(view, width: int, height: int) -> tuple[Figure, object]:
    """The view's figure drawn on a ``width`` x ``height`` canvas, and its renderer."""
    figure = figure_for(view, FigureStyle())
    figure.set_size_inches(width / 100, height / 100)
    figure.set_dpi(100)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    return figure, renderer


def assert_apart(boxes: list[Bbox]) -> None:
    for index, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[index + 1:]), (index, box)


@pytest.mark.parametrize(("width", "height"), CANVASES)
def test_the_strategies_title_clears_the_first_clusters_reason(scan, width, height):
    strategy = max(scan.strategies, key=lambda item: len(item.clusters))
    first = dataclasses.replace(strategy.clusters[0], flagged=True, reason=REASON)
    flagged = dataclasses.replace(strategy, clusters=(first, *strategy.clusters[1:]))
    result = dataclasses.replace(scan, strategies=(flagged,))
    figure, renderer = drawn(StrategiesView(result, flagged.class_index), width, height)
    line = figure.axes[0]
    (reason,) = line.texts
    assert reason.get_text().startswith(f"{len(first.members)} images. FLAGGED. Possible shortcut")
    assert reason.get_color() != "black" and reason.get_fontsize() >= 6
    box, title = reason.get_window_extent(renderer), figure._suptitle.get_window_extent(renderer)
    assert not box.overlaps(title)
    assert box.y1 <= line.bbox.y1 + 1 and box.x1 <= figure.bbox.x1  # inside its row, not over the pictures
    assert box.y0 >= figure.axes[1].get_window_extent(renderer).y1
    if width >= 1300:  # a large canvas shows the whole reason
        assert " ".join(reason.get_text().split()).endswith("a border or a label.")


@pytest.mark.parametrize(("width", "height"), CANVASES)
def test_the_matrix_class_names_and_the_mistake_titles_do_not_touch(scan, width, height):
    assert len(scan.classes) == 7 and len(scan.mistakes) >= 8
    figure, renderer = drawn(MistakesView(scan), width, height)
    matrix = figure.axes[0]
    assert matrix.get_label() == "confusion"
    for axis in (matrix.xaxis, matrix.yaxis):
        labels = [tick.label1 for tick in axis.get_major_ticks()]
        assert [label.get_text().split("…")[0] for label in labels] == [name[:5] for name in scan.classes]
        assert_apart([label.get_window_extent(renderer) for label in labels])
        assert min(label.get_fontsize() for label in labels) >= 6
    thumbs = [ax for ax in figure.axes if ax.get_label().startswith("explain|")]
    titles = [ax.title for ax in thumbs]
    assert len(titles) == 8
    assert_apart([title.get_window_extent(renderer) for title in titles])
    for title, item in zip(titles, scan.mistakes):
        true, predicted, score = title.get_text().split("\n")
        assert true[:3] == scan.classes[item.true][:3] and predicted.startswith("→ ")
        assert score == f"{item.score:.2f}"
