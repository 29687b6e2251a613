"""Faithfulness metrics: deletion/insertion AUC, Average Drop/Increase."""

import dataclasses
import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam import ClassScore, Counterfactual, MethodOptions, make_cam
from convviz_gui.engine.cam.metrics import faithfulness
from convviz_gui.engine.models import demo_image_path
from convviz_gui.figures.cam import gradcam_figure

from ..squares import make_images


@pytest.fixture(scope="module")
def held_out():
    images, _, _ = make_images(12, seed=321, both=True)
    return images.astype(np.float32)


def _metrics(squares, image, cam, target=None, **options):
    return faithfulness(squares, image[None], cam, target or ClassScore(cam.class_index), "logit",
                        MethodOptions(**options))


def test_a_faithful_map_inserts_better_than_it_deletes(squares, held_out):
    explainer = make_cam(squares, None, "Grad-CAM")
    for image in held_out:
        for class_index in (0, 1):
            found = _metrics(squares, image, explainer(image[None], class_index))
            assert 0 <= found.deletion_auc < found.insertion_auc <= 1
            assert found.deletion[0] == pytest.approx(found.insertion[-1], abs=1e-6)  # the image
            assert len(found.deletion) == 17 and found.images == 2 * 17 + 1
            assert 0 <= found.average_drop <= 1 and found.average_increase in (0.0, 1.0)


def test_a_random_map_does_not_beat_grad_cam_on_deletion(squares, held_out):
    explainer = make_cam(squares, None, "Grad-CAM")
    rng = np.random.default_rng(0)
    worse = []
    for image in held_out:
        cam = explainer(image[None], 0)
        random = dataclasses.replace(cam, heatmap=rng.random(cam.heatmap.shape).astype(np.float32))
        worse.append(_metrics(squares, image, random).deletion_auc
                     >= _metrics(squares, image, cam).deletion_auc)
    assert np.mean(worse) >= 0.9, f"random map worse on deletion for {np.mean(worse):.0%} of images"


def test_counterfactual_metrics_read_the_other_side(squares, held_out):
    image = held_out[0]
    against = make_cam(squares, None, "Grad-CAM").explain(image[None], Counterfactual(0))
    found = _metrics(squares, image, against, Counterfactual(0))
    assert found.deletion[0] == pytest.approx(1 - against.score, abs=1e-6)


def test_steps_batches_progress_and_cancel(squares, held_out):
    from convviz_gui.engine.cam import ExplanationCancelled

    image = held_out[0]
    cam = make_cam(squares, None, "Grad-CAM")(image[None], 1)
    seen = []
    found = faithfulness(squares, image[None], cam, ClassScore(1), "logit",
                         MethodOptions(metric_steps=32, batch_size=16), progress=seen.append)
    assert len(found.fractions) == 33 and found.images == 67
    assert [p.done for p in seen] == [16, 32, 48, 64, 67]  # batches of 16 (16-32 allowed)
    with pytest.raises(ExplanationCancelled):
        faithfulness(squares, image[None], cam, ClassScore(1), "logit", MethodOptions(),
                     progress=seen.append, cancelled=lambda: True)
    figure = gradcam_figure(image.astype(np.uint8), cam, metrics=found)
    assert len(figure.axes) == 4 and "deletion AUC" in figure.axes[3].get_legend().get_texts()[0].get_text()


def test_cli_metrics_json(capsys, tmp_path):
    out = tmp_path / "cam.png"
    assert cli(["gradcam", "demo", str(demo_image_path()), "--metrics", "--json",
                "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["metrics"]) == {"deletion_auc", "insertion_auc", "average_drop",
                                    "average_increase"}
    assert all(0 <= value <= 1 for value in data["metrics"].values())
    assert data["metrics"]["deletion_auc"] < data["metrics"]["insertion_auc"]
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert cli(["gradcam", "demo", str(demo_image_path()), "--json"]) == 0
    assert "metrics" not in json.loads(capsys.readouterr().out)
