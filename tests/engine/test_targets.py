"""Targets as objects: class, counterfactual, sigmoid unit, regression, segmentation region."""

import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam import (
    ClassScore,
    Counterfactual,
    RegressionOutput,
    SegmentationRegion,
    SigmoidUnit,
    make_cam,
    make_target,
)
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.models import LoadedModel

from ..squares import SIZE, inside, make_images


@pytest.fixture(scope="module")
def both():
    images, _, boxes = make_images(20, seed=11, both=True)
    return images.astype(np.float32), boxes


@pytest.mark.parametrize("method", ["Grad-CAM", "HiResCAM", "Score-CAM", "Occlusion"])
def test_counterfactual_points_away_from_the_class(squares, both, method):
    """Minus the score (Selvaraju 2017, Sec. 5): never the explained square itself."""
    images, boxes = both
    explainer = make_cam(squares, None, method)
    off = 0
    for image, box in zip(images, boxes):
        against = explainer.explain(image[None], Counterfactual(0))
        assert against.target == "against 'red'" and against.explained < 0
        off += not inside(against.peak_xy(SIZE, SIZE), box["red"])
        if method in ("Grad-CAM", "HiResCAM"):  # the map is exactly the other side of zero
            for_red = explainer.explain(image[None], ClassScore(0))
            assert not np.any((for_red.raw > 0) & (against.raw > 0))
    assert off >= 0.9 * len(boxes)


def test_sigmoid_unit_and_regression_output(squares, both, keras):
    images, boxes = both
    unit = make_cam(squares, None, "Grad-CAM").explain(images[:1], SigmoidUnit(1))
    same = make_cam(squares, None, "Grad-CAM")(images[:1], 1)
    assert unit.target == "unit 'blue'" and np.array_equal(unit.heatmap, same.heatmap)
    # A regression model: the trained blue evidence as a linear output (no activation).
    model = squares.keras_model
    pooled = model.get_layer("present").input
    kernel, bias = model.get_layer("present").get_weights()
    linear = keras.layers.Dense(1, name="evidence")
    regression = keras.Model(model.inputs[0], linear(pooled))
    linear.set_weights([kernel[:, 1:], bias[1:]])
    loaded = LoadedModel(keras_model=regression, name="regression", source="test",
                         auto_preset="none", labels=("evidence",))
    assert loaded.output_kind == "score"
    hits = 0
    for image, box in zip(images, boxes):
        result = make_cam(loaded, ("last_conv",), "Grad-CAM").explain(image[None],
                                                                       RegressionOutput(0))
        assert result.score_kind == "output" and result.target == "output 0"
        assert result.explained == pytest.approx(result.score)  # nothing to bypass
        hits += inside(result.peak_xy(SIZE, SIZE), box["blue"])
    assert hits >= 0.9 * len(boxes)


def test_segmentation_regions(segmentation_model):
    image = np.random.default_rng(3).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    explainer = make_cam(segmentation_model, None, "Grad-CAM")
    predicted = explainer.explain(image, SegmentationRegion(1))
    default = explainer.explain(image, ClassScore(1))  # on a segmentation: the same region
    assert np.array_equal(predicted.heatmap, default.heatmap)
    local = make_cam(segmentation_model, None, "HiResCAM")  # position by position
    left = local.explain(image, SegmentationRegion(1, (0.0, 0.0, 0.5, 1.0)))
    right = local.explain(image, SegmentationRegion(1, (0.5, 0.0, 1.0, 1.0)))
    assert left.target.endswith("box 0.00, 0.00, 0.50, 1.00")
    assert not np.array_equal(left.heatmap, right.heatmap)
    width = left.heatmap.shape[1]
    assert left.raw[:, :width // 2].sum() > left.raw[:, width // 2:].sum()
    assert right.raw[:, width // 2:].sum() > right.raw[:, :width // 2].sum()
    with pytest.raises(ConvVizError, match="rectangle inside"):
        explainer.explain(image, SegmentationRegion(1, (0.5, 0.0, 0.4, 1.0)))


def test_make_target_and_its_errors(squares):
    assert make_target("counterfactual", 1) == Counterfactual(1)
    assert make_target("region", 0, (0, 0, 0.5, 0.5)) == SegmentationRegion(0, (0, 0, 0.5, 0.5))
    with pytest.raises(ConvVizError, match="Unknown target"):
        make_target("nonsense", 0)
    with pytest.raises(ConvVizError, match="only used by the region"):
        make_target("class", 0, (0, 0, 1, 1))
    with pytest.raises(ConvVizError, match="segmentation"):
        make_cam(squares).explain(np.zeros((1, SIZE, SIZE, 3), np.float32), SegmentationRegion(0))
    with pytest.raises(ConvVizError, match="does not exist"):
        make_cam(squares).explain(np.zeros((1, SIZE, SIZE, 3), np.float32), ClassScore(2))


def test_cli_targets(capsys, tmp_path, segmentation_model):
    from PIL import Image

    path = tmp_path / "segmenter.keras"
    segmentation_model.keras_model.save(path)
    image = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (80, 100, 3), np.uint8)).save(image)
    assert cli(["gradcam", str(path), str(image), "--class", "1", "--target", "region",
                "--region", "0,0,0.5,0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"].endswith("box 0.00, 0.00, 0.50, 0.50") and data["class_index"] == 1
    assert cli(["gradcam", str(path), str(image), "--target", "counterfactual", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"].startswith("against")
    assert cli(["gradcam", str(path), str(image), "--region", "0,0,2"]) == 2
    assert "four fractions" in capsys.readouterr().err
