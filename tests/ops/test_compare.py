"""The compare grid: methods x classes or x layers, one scale per row."""

import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.models import demo_image_path
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.compare import Compare
from convviz_gui.ops.context import OpContext, Workspace
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.export import FigureStyle
from convviz_gui.ops.registry import run

DEMO = (ModelRef("demo"), ImageRef(str(demo_image_path())))


@pytest.fixture(scope="module")
def context():
    return OpContext(Workspace())


def test_methods_by_classes_with_metrics_and_one_scale_per_row(context):
    seen = []
    context._report = seen.append
    request = Compare(*DEMO, methods=("gradcam", "HiResCAM", "saliency"), classes=("happy", "4"))
    result = run(request, context)
    assert result.rows == ("Grad-CAM", "HiResCAM", "Saliency") and result.columns == ("happy", "sad")
    assert [[cam.label for cam, _ in row] for row in result.cells] == [["happy", "sad"]] * 3
    assert all(metrics is not None for row in result.cells for _, metrics in row)
    fractions = [update.fraction for update in seen]
    assert seen[0].total == 600 and fractions == sorted(fractions)  # one bar over the 6 cells
    assert seen[-1].stage == "Saliency for sad" and fractions[-1] == 1.0
    figure = figure_for(result, FigureStyle(normalize=False))
    rows = [figure.axes[i * 2:(i + 1) * 2] for i in range(3)]
    for row, cells in zip(rows, result.cells):
        top = max(float(np.maximum(cam.raw, 0).max()) for cam, _ in cells)
        bar = row[-1].child_axes[0]
        assert bar.get_ylim()[1] == pytest.approx(top)  # one colour scale across the classes
    assert "one colour scale per method row" in figure.texts[0].get_text()


def test_methods_by_layers_and_defaults(context):
    result = run(Compare(*DEMO, methods=("Grad-CAM",), layers=(("add_4",), ("conv2d_7",)),
                         spec=ExplainSpec(metrics=False)), context)
    assert result.axis == "layers" and result.columns == ("add_4", "conv2d_7")
    assert [cam.layer for cam, _ in result.cells[0]] == [("add_4",), ("conv2d_7",)]
    assert result.cells[0][0][1] is None
    top = run(Compare(*DEMO, methods=("Grad-CAM",), spec=ExplainSpec(metrics=False)), context)
    assert top.columns == ("happy", "neutral")  # the top 2
    with pytest.raises(ConvVizError, match="at least one method"):
        run(Compare(*DEMO, methods=()), context)


def test_cli_compare(capsys, tmp_path):
    out = tmp_path / "grid.pdf"
    assert cli(["compare", "demo", str(demo_image_path()), "--methods", "gradcam,scorecam",
                "--classes", "happy,sad", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == ["Grad-CAM", "Score-CAM"] and data["columns"] == ["happy", "sad"]
    assert set(data["cells"][1][0]["metrics"]) == {"deletion_auc", "insertion_auc",
                                                  "average_drop", "average_increase",
                                                  "road_morf_auc", "road_lerf_auc"}
    assert out.read_bytes()[:5] == b"%PDF-"
    assert cli(["compare", "demo", str(demo_image_path()), "--methods", "nope"]) == 2
    assert "Unknown method" in capsys.readouterr().err
