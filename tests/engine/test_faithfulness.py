"""Faithfulness metrics: deletion/insertion AUC, Average Drop/Increase, ROAD (MoRF, LeRF)."""

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
            # the clean image starts deletion and both ROAD curves and ends insertion: seen once
            assert len(found.deletion) == 17 and found.images == 2 * 17 + 1 + 2 * 10 - 3
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
    assert len(found.fractions) == 33 and found.images == 67 + 20 - 3  # + ROAD, the clean image once
    stages = {p.stage for p in seen}
    assert [p.done for p in seen if p.stage == "ROAD: imputing removed pixels"] == list(range(1, 21))
    assert [p.done for p in seen if p.stage == "Faithfulness"] == [16, 32, 48, 64, 80, 84]
    assert len(stages) == 2  # the imputations, then the model's batches of 16 (16-32 allowed)
    with pytest.raises(ExplanationCancelled):
        faithfulness(squares, image[None], cam, ClassScore(1), "logit", MethodOptions(),
                     progress=seen.append, cancelled=lambda: True)
    figure = gradcam_figure(image.astype(np.uint8), cam, metrics=found)
    legends = [[text.get_text() for text in ax.get_legend().get_texts()] for ax in figure.axes[3:]]
    assert len(figure.axes) == 5 and legends[0][0].startswith("deletion AUC")
    assert legends[1] == [f"MoRF AUC {found.road_morf_auc:.3f} (lower better)",
                          f"LeRF AUC {found.road_lerf_auc:.3f} (higher better)"]


def test_cli_metrics_json(capsys, tmp_path):
    out = tmp_path / "cam.png"
    assert cli(["gradcam", "demo", str(demo_image_path()), "--metrics", "--json",
                "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["metrics"]) == {"deletion_auc", "insertion_auc", "average_drop",
                                    "average_increase", "road_morf_auc", "road_lerf_auc"}
    assert all(0 <= value <= 1 for value in data["metrics"].values())
    assert data["metrics"]["deletion_auc"] < data["metrics"]["insertion_auc"]
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert cli(["gradcam", "demo", str(demo_image_path()), "--json"]) == 0
    assert "metrics" not in json.loads(capsys.readouterr().out)


def test_road_orders_a_random_map_below_grad_cam(squares, held_out):
    """MoRF (lower is better) and LeRF (higher is better) both prefer Grad-CAM's map of the
    square to a random map of the same size: imputing the square first kills the score."""
    explainer = make_cam(squares, None, "Grad-CAM")
    rng = np.random.default_rng(1)
    morf, lerf = [], []
    for image in held_out[:6]:
        for class_index in (0, 1):
            cam = explainer(image[None], class_index)
            random = dataclasses.replace(cam, heatmap=rng.random(cam.heatmap.shape).astype(np.float32))
            found, chance = _metrics(squares, image, cam), _metrics(squares, image, random)
            assert found.road_morf[0] == pytest.approx(found.deletion[0], abs=1e-6)  # the image
            assert len(found.road_fractions) == 10 and found.road_fractions[-1] == 0.9
            morf.append((found.road_morf_auc, chance.road_morf_auc))
            lerf.append((found.road_lerf_auc, chance.road_lerf_auc))
    morf, lerf = np.array(morf), np.array(lerf)
    assert np.all((morf >= 0) & (morf <= 1)) and np.all((lerf >= 0) & (lerf <= 1))
    assert np.mean(morf[:, 0] < morf[:, 1]) >= 0.9, morf  # Grad-CAM lower on MoRF
    assert morf[:, 1].mean() - morf[:, 0].mean() > 0.5
    assert np.all(lerf[:, 0] >= lerf[:, 1] - 0.02) and lerf[:, 0].mean() > lerf[:, 1].mean(), lerf


def test_road_imputes_a_linear_ramp_exactly():
    """The neighbours' weighted mean (1/6 direct, 1/12 diagonal) of a linear ramp is the ramp:
    a removed block inside the image is imputed to the ramp's values; a removed border pixel
    is the mean of the five neighbours it has (weights renormalized); the noise scatters the
    imputed pixels only, by its standard deviation."""
    from convviz_gui.engine.cam.metrics_road import impute

    rows, cols = np.mgrid[:24, :32].astype(np.float32)
    ramp = np.stack([0.5 * rows + 2 * cols, 3 - cols, 0.25 * rows], axis=-1)
    removed = np.zeros((24, 32), bool)
    removed[5:12, 8:20] = True  # a block: solved together
    filled = impute(ramp, removed)
    np.testing.assert_allclose(filled, ramp, atol=1e-4)
    assert not np.shares_memory(filled, ramp)
    border = np.zeros((24, 32), bool)
    border[12, 31] = True  # the right edge: (11, 30) and (13, 30) diagonal, three direct
    direct = ramp[11, 31] + ramp[13, 31] + ramp[12, 30]
    expected = (direct / 6 + (ramp[11, 30] + ramp[13, 30]) / 12) / (3 / 6 + 2 / 12)
    np.testing.assert_allclose(impute(ramp, border)[12, 31], expected, atol=1e-4)
    noisy = impute(ramp, removed, noise=0.5, rng=np.random.default_rng(0))
    scatter = (noisy - ramp)[removed]
    assert 0.4 < scatter.std() < 0.6 and np.all(noisy[~removed] == ramp[~removed])
