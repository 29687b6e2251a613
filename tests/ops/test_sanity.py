"""The sanity check (Adebayo et al. 2018, cascading randomization): Grad-CAM decorrelates, a
method that ignores the weights (an edge detector) does not; the user's model is untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam.base import Attribution, Explainer, ExplanationCancelled, Steps
from convviz_gui.engine.cam.registry import unregister
from convviz_gui.engine.models import demo_image_path
from convviz_gui.figures.registry import figure_for
from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.context import OpContext, Workspace
from convviz_gui.ops.explain import Explain, ExplainSpec
from convviz_gui.ops.export import ExportFigure, FigureStyle
from convviz_gui.ops.registry import run, to_json
from convviz_gui.ops.sanity import SPEARMAN_THRESHOLD, Sanity

from ..squares import make_images, trained_model


@pytest.fixture(scope="module")
def edge_method():
    """An edge detector on the image as a registered method: its map ignores the weights."""

    class EdgeMagnitude(Explainer):
        """The gradient magnitude of the image's mean channel (no model involved)."""

        name = "Edges"
        key = "test-edges"
        uses_layer = False
        resolution = "input"

        def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
            rows, columns = np.gradient(batch[0].mean(axis=-1))
            return Attribution(np.hypot(rows, columns))

    yield EdgeMagnitude
    unregister(EdgeMagnitude)


@pytest.fixture(scope="module")
def squares_files(tmp_path_factory):
    """The trained red/blue squares model (``tests/squares.py``, shared with the other tests
    of the session) as a .keras file, and an image with both squares."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("squares")
    model_path, image_path = folder / "squares.keras", folder / "both.png"
    trained_model().save(model_path)
    images, _, _ = make_images(1, seed=5, both=True)
    Image.fromarray(images[0]).save(image_path)
    return str(model_path), str(image_path)


def _cli_json(capsys, *arguments: str) -> dict:
    assert cli(["sanity", *arguments, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_gradcam_decorrelates_and_an_edge_detector_does_not(squares_files, edge_method, capsys,
                                                            tmp_path):
    model, image = squares_files
    gradcam = _cli_json(capsys, model, image, "--class", "1", "--out", str(tmp_path / "s.png"))
    assert gradcam["method"] == "Grad-CAM" and gradcam["class_index"] == 1
    assert gradcam["model"] == model and gradcam["image"] == image
    layers = [step["layer"] for step in gradcam["steps"]]  # from the output down:
    assert layers[:2] == ["present", "last_conv"] and len(layers) == 4  # the 2 first convs'
    assert all(name.startswith("conv2d") for name in layers[2:])  # names depend on the session
    assert gradcam["grouped"] is False and gradcam["weighted_layers"] == 4
    assert gradcam["verdict_step"] == 1  # 2 of the 4 weighted layers: a third, rounded up
    spearman = [step["spearman"] for step in gradcam["steps"]]
    assert max(spearman[1:]) < SPEARMAN_THRESHOLD
    # The sigmoid head alone already changes the map: its logit read-out (a linear twin
    # holding a copy of the head's weights) is rebuilt on the randomized weights.
    assert spearman[0] < 0.9
    assert gradcam["passed"] is True and gradcam["verdict"].startswith("Grad-CAM passed")
    assert f"below the threshold {SPEARMAN_THRESHOLD}" in gradcam["verdict"]
    assert all(-1 <= step["ssim"] <= 1 for step in gradcam["steps"]) and gradcam["seconds"] > 0
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    edges = _cli_json(capsys, model, image, "--method", "test-edges")
    assert edges["layer"] == "input"
    assert min(step["spearman"] for step in edges["steps"]) > 0.99
    assert min(step["ssim"] for step in edges["steps"]) > 0.99
    assert edges["passed"] is False and edges["verdict"].startswith("Edges failed")
    assert "is still 1.00" in edges["verdict"]


def test_the_demo_in_blocks_and_the_users_model_unchanged(tmp_path):
    context = OpContext(Workspace())
    demo, image = ModelRef("demo"), ImageRef(str(demo_image_path()))
    loaded = context.workspace.model(demo)
    before = [weights.copy() for weights in loaded.keras_model.get_weights()]
    gradcam = run(Explain(demo, image), context).cam
    seen = []
    context._report = seen.append
    result = run(Sanity(demo, image, ExplainSpec("gradcam", class_="happy")), context)
    assert context.workspace.model(demo) is loaded  # the engine's cached model...
    after = loaded.keras_model.get_weights()
    assert len(after) == len(before)
    assert all(np.array_equal(old, new) for old, new in zip(before, after))  # ...is untouched
    again = run(Explain(demo, image), context).cam
    np.testing.assert_array_equal(again.raw, gradcam.raw)
    assert result.original.label == "happy" and result.original.where == "conv2d_7"
    np.testing.assert_allclose(result.original.raw, gradcam.raw, rtol=1e-5, atol=1e-6)
    assert result.weighted_layers == 29 and result.grouped and len(result.steps) == 12
    assert result.steps[0].layer == "conv2d_7" and result.steps[-1].randomized == 29
    assert result.steps[result.verdict_step].randomized >= 10 > \
        result.steps[result.verdict_step - 1].randomized
    assert "randomized in 12 steps" in result.notes[0]
    assert result.passed and result.steps[result.verdict_step].spearman < SPEARMAN_THRESHOLD
    fractions = [update.fraction for update in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    summary = to_json(result)
    assert set(summary) >= {"model", "image", "method", "class", "steps", "passed", "verdict",
                            "seconds"}
    assert set(summary["steps"][0]) >= {"layer", "spearman", "ssim"}

    figure = figure_for(result)
    maps = [ax for ax in figure.axes if ax.images][2:]
    assert len(maps) == 12 and maps[0].get_title().startswith("conv2d_7\nρ ")
    curves = next(ax for ax in figure.axes if ax.lines)
    spearman_line = curves.lines[0]
    np.testing.assert_allclose(spearman_line.get_ydata(), [s.spearman for s in result.steps])
    assert "passed" in figure.get_supxlabel() and "threshold 0.5" in figure.get_supxlabel()
    for suffix in ("png", "svg", "pdf"):
        path = tmp_path / f"sanity.{suffix}"
        run(ExportFigure(result, str(path), FigureStyle()), context)
        assert path.stat().st_size > 1000

    seen.clear()
    context._is_cancelled = lambda: len(seen) > 3  # Cancel pressed during the third step
    with pytest.raises(ExplanationCancelled):
        run(Sanity(demo, image), context)
    assert seen[-1].stage.startswith("Randomized down to") and seen[-1].fraction < 0.5


def test_similarity_of_maps():
    from convviz_gui.engine.errors import ConvVizError
    from convviz_gui.engine.randomization import map_similarity

    rng = np.random.default_rng(0)
    first = rng.random((7, 7))
    assert map_similarity(first, -first, (64, 64)) == pytest.approx((1.0, 1.0))  # absolute
    spearman, ssim = map_similarity(first, rng.random((7, 7)), (64, 64))
    assert abs(spearman) < 0.5 and ssim < 0.5
    assert map_similarity(first, np.zeros((7, 7)), (64, 64))[0] == 0.0
    with pytest.raises(ConvVizError, match="same everywhere"):
        map_similarity(np.ones((7, 7)), first, (64, 64))


def test_bad_input_is_one_sentence(capsys, squares_files):
    model, image = squares_files
    assert cli(["sanity", model, image, "--method", "nope"]) == 2
    assert capsys.readouterr().err.count("convviz: error:") == 1
    assert cli(["sanity", model, image, "--layer", "present"]) == 2
    assert "not a spatial feature map" in capsys.readouterr().err
