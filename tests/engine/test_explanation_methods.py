"""Every method on a model whose answer is known: a red and a blue square."""

import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam import (
    CAM_METHODS,
    ClassScore,
    MethodOptions,
    SegmentationRegion,
    make_cam,
    method_class,
)
from convviz_gui.engine.models import demo_image_path

from ..squares import SIZE, inside, make_images

FAST = MethodOptions(samples=10, steps=16)
CLASS_SPECIFIC_CAMS = ["Grad-CAM", "Grad-CAM++", "HiResCAM", "XGrad-CAM", "Layer-CAM", "Score-CAM",
                       "Ablation-CAM"]


@pytest.fixture(scope="module")
def held_out():
    """20 held-out images, each with a red and a blue square."""
    images, _, boxes = make_images(20, seed=123, both=True)
    return images.astype(np.float32), boxes


def test_the_squares_model_learned_its_task(squares):
    images, labels, _ = make_images(200, seed=99)
    predicted = squares.keras_model.predict(images.astype(np.float32), verbose=0) > 0.5
    assert (predicted == labels.astype(bool)).mean() > 0.97


@pytest.mark.parametrize("method", CLASS_SPECIFIC_CAMS)
def test_cam_peak_lands_on_the_explained_square(squares, held_out, method):
    images, boxes = held_out
    cam = make_cam(squares, None, method, options=FAST)
    assert cam.layer == ("last_conv",)
    hits = 0
    for image, box in zip(images, boxes):
        for class_index, color in enumerate(("red", "blue")):
            result = cam(image[None], class_index)
            assert result.heatmap.shape == (24, 24) and np.isfinite(result.heatmap).all()
            hits += inside(result.peak_xy(SIZE, SIZE), box[color])
    assert hits >= 0.9 * 2 * len(boxes), f"{method}: peak on the right square {hits}/{2 * len(boxes)}"


@pytest.mark.parametrize("method", ["Saliency", "Integrated Gradients", "Occlusion", "LRP",
                                    "LRP-epsilon", "LRP-alpha-beta", "LRP-gamma"])
def test_pixel_attribution_mass_lies_on_the_explained_square(squares, held_out, method):
    images, boxes = held_out
    explainer = make_cam(squares, None, method, options=FAST)
    right = []
    for image, box in zip(images, boxes):
        for class_index, (color, other) in enumerate((("red", "blue"), ("blue", "red"))):
            result = explainer(image[None], class_index)
            assert result.resolution == "input" and result.heatmap.shape == (SIZE, SIZE)
            positive = np.maximum(result.raw, 0)

            def mass(b, positive=positive):
                return positive[b[1]:b[3], b[0]:b[2]].sum()

            right.append(mass(box[color]) > mass(box[other]))
    assert np.mean(right) >= 0.9, f"{method}: more positive mass on the right square {np.mean(right)}"


@pytest.mark.parametrize("method", ["Eigen-CAM", "SmoothGrad", "Guided Grad-CAM", "Guided Backprop"])
def test_other_methods_give_finite_non_empty_maps(squares, held_out, method):
    images, _ = held_out
    result = make_cam(squares, None, method, options=FAST)(images[:1], 0)
    assert np.isfinite(result.raw).all() and result.heatmap.max() == 1.0
    assert result.resolution == ("layer" if method == "Eigen-CAM" else "input")


def _head(squares, keras):
    """(input -> last_conv model, Dense kernel, bias): the reference builds its own logits."""
    model = squares.keras_model
    features = keras.Model(model.inputs[0], model.get_layer("last_conv").output)
    kernel, bias = model.get_layer("present").get_weights()
    return features, kernel, bias


def _logit(maps: np.ndarray, kernel, bias, class_index: int) -> float:
    """The head after last_conv (global average pooling, Dense) without its sigmoid."""
    return float(maps.mean(axis=(0, 1)) @ kernel[:, class_index] + bias[class_index])


@pytest.mark.parametrize("top_n", [0, 8])
def test_score_cam_agrees_with_a_slow_unbatched_reference(squares, held_out, keras, top_n):
    """Wang 2020, Alg. 1, one masked image at a time."""
    import tensorflow as tf

    images, _ = held_out
    features_model, kernel, bias = _head(squares, keras)
    for image in images[:3]:
        maps = features_model(image[None], training=False).numpy()[0]
        chosen = range(maps.shape[-1]) if top_n == 0 else \
            np.argsort(-maps.reshape(-1, maps.shape[-1]).var(axis=0), kind="stable")[:top_n]
        scores, used = [], []
        for k in chosen:
            up = tf.image.resize(maps[..., k:k + 1], (SIZE, SIZE), "bilinear").numpy()
            span = up.max() - up.min()
            mask = (up - up.min()) / span if span > 0 else np.zeros_like(up)
            masked = features_model((image * mask)[None], training=False).numpy()[0]
            scores.append(_logit(masked, kernel, bias, 1))
            used.append(maps[..., k])
        alphas = np.exp(np.array(scores) - max(scores))
        alphas /= alphas.sum()
        expected = np.maximum(np.tensordot(np.stack(used, -1), alphas, axes=1), 0)
        result = make_cam(squares, None, "Score-CAM", options=MethodOptions(top_n=top_n,
                                                                             batch_size=5))(image[None], 1)
        assert np.allclose(result.raw, expected, rtol=1e-3, atol=1e-4 * expected.max())


def test_ablation_cam_agrees_with_a_slow_unbatched_reference(squares, held_out, keras):
    """Desai 2020, Eq. 3, one ablated channel at a time."""
    images, _ = held_out
    features_model, kernel, bias = _head(squares, keras)
    for image in images[:3]:
        maps = features_model(image[None], training=False).numpy()[0]
        clean = _logit(maps, kernel, bias, 0)
        weights = []
        for k in range(maps.shape[-1]):
            ablated = maps.copy()
            ablated[..., k] = 0
            weights.append((clean - _logit(ablated, kernel, bias, 0)) / abs(clean))
        expected = np.maximum(maps @ np.array(weights), 0)
        result = make_cam(squares, None, "Ablation-CAM", options=MethodOptions(batch_size=3))(
            image[None], 0)
        assert np.allclose(result.raw, expected, rtol=1e-3, atol=1e-4 * expected.max())


def test_integrated_gradients_is_complete(squares, held_out):
    """Sundararajan 2017, Prop. 1: the attributions sum to f(x) - f(baseline) (the logit)."""
    images, _ = held_out
    result = make_cam(squares, None, "Integrated Gradients", options=MethodOptions(steps=64))(
        images[:1], 0)
    baseline = make_cam(squares, None, "Grad-CAM")(np.zeros_like(images[:1]), 0)
    assert result.raw.sum() == pytest.approx(result.explained - baseline.explained, rel=0.02)


def test_progress_and_cancel_between_batches(squares, held_out):
    images, _ = held_out
    seen = []
    explainer = make_cam(squares, None, "Score-CAM", options=MethodOptions(top_n=0, batch_size=4))
    explainer.explain(images[:1], ClassScore(0), progress=seen.append)
    assert [p.done for p in seen] == list(range(4, 33, 4)) and seen[-1].fraction == 1.0
    from convviz_gui.engine.cam import ExplanationCancelled

    with pytest.raises(ExplanationCancelled):
        explainer.explain(images[:1], ClassScore(0), progress=seen.append,
                          cancelled=lambda: len(seen) > 10)


@pytest.mark.parametrize("method", list(CAM_METHODS))
def test_every_method_on_a_nested_model_and_a_segmentation_region(transfer_model,
                                                                  segmentation_model, method):
    small = MethodOptions(samples=4, steps=4, top_n=16, patch=16, masks=50)
    batch = np.random.default_rng(0).uniform(-1, 1, (1, 96, 96, 3)).astype(np.float32)
    layer = ("mobilenetv2_1.00_96", "block_6_expand_relu")
    result = make_cam(transfer_model, layer, method, options=small)(batch, 2)
    cls = method_class(method)
    assert result.heatmap.shape == ((96, 96) if cls.resolution == "input" else (12, 12))
    assert np.isfinite(result.raw).all() and result.layer == (layer if cls.uses_layer else ())
    image = np.random.default_rng(1).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    explainer = make_cam(segmentation_model, None, method, options=small)
    for target in (SegmentationRegion(1), SegmentationRegion(2, (0.0, 0.0, 0.25, 0.25))):
        found = explainer.explain(image, target)
        assert np.isfinite(found.raw).all() and found.target.startswith(
            f"'{segmentation_model.labels[target.class_index]}' over")
        assert 0 <= found.score <= 1


def test_a_box_region_is_explained_by_the_pixels_around_it(segmentation_model):
    """The segmentation model only sees ~30 px around a pixel: the saliency of a box in the
    top-left corner is zero in the far corner and not zero in the box."""
    image = np.random.default_rng(2).uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    found = make_cam(segmentation_model, None, "Saliency").explain(
        image, SegmentationRegion(0, (0.0, 0.0, 0.25, 0.25)))
    assert found.raw[:16, :16].min() > 0 and not found.raw[56:, 56:].any()


def test_cli_method_names_any_case_and_the_map_they_write(capsys, tmp_path):
    image = str(demo_image_path())
    for method, shape in (("SCORECAM", [4, 4]), ("Score-CAM", [4, 4]), ("saliency", [64, 64]),
                          ("integrated-gradients", [64, 64]), ("Guided-GradCAM", [64, 64])):
        npy = tmp_path / "map.npy"
        assert cli(["gradcam", "demo", image, "--method", method, "--heatmap-npy", str(npy),
                    "--samples", "4", "--steps", "8", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["heatmap_shape"] == shape and list(np.load(npy).shape) == shape
        assert 0 <= data["peak_xy"][0] < 200 and 0 <= data["peak_xy"][1] < 200  # original pixels
    assert cli(["gradcam", "demo", image, "--method", "gradcam+++"]) == 2
    assert "Unknown method" in capsys.readouterr().err
