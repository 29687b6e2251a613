"""The explained score is the papers' pre-activation score by default."""

import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.activations import compute_activations
from convviz_gui.engine.cam import make_cam, output_head
from convviz_gui.engine.models import LoadedModel, demo_image_path
from convviz_gui.engine.normalize import unit_range

from ..squares import SIZE, inside, loaded_squares, make_images


@pytest.fixture(scope="module")
def saturated(keras):
    """The trained squares model made over-confident: its head's weights x 20, so that the
    sigmoid of both outputs is exactly 1.0 in float32 on images holding both squares."""
    trained = loaded_squares().keras_model
    model = keras.models.clone_model(trained)
    model.set_weights(trained.get_weights())
    head = model.get_layer("present")
    head.set_weights([w * 20 for w in head.get_weights()])
    return LoadedModel(keras_model=model, name="saturated", source="test", auto_preset="none",
                       labels=("red", "blue"))


def test_saturated_sigmoid_has_a_logit_map_on_the_object(saturated):
    images, _, boxes = make_images(20, seed=5, both=True)
    batch = images.astype(np.float32)
    assert np.all(saturated.keras_model.predict(batch, verbose=0) == 1.0)  # saturated
    hits = 0
    for method in ("Grad-CAM", "Grad-CAM++", "HiResCAM"):
        probability = make_cam(saturated, None, method, score="probability")
        logit = make_cam(saturated, None, method)
        for image, box in zip(batch, boxes):
            flat = probability(image[None], 0)
            assert flat.score == 1.0 and not flat.raw.any()  # the gradient of p = 1.0 is 0
            assert "the probability is saturated at 1" in flat.zero_map  # said on the figure
            found = logit(image[None], 0)
            assert found.score_kind == "logit" and found.explained > 17
            assert found.heatmap.max() == 1.0 and found.zero_map == ""
            hits += inside(found.peak_xy(SIZE, SIZE), box["red"])
    assert hits >= 0.9 * 3 * len(boxes), f"logit peak on the red square {hits}/{3 * len(boxes)}"


def test_demo_probability_map_is_the_contrast_with_the_other_classes(demo_model, demo_image):
    """On a softmax, d p_c = p_c (d z_c - sum_k p_k d z_k): the probability Grad-CAM at the
    last conv (whose channels are the logits before global pooling) is ReLU(A_c - sum p_k A_k),
    the logit Grad-CAM is ReLU(A_c)."""
    batch = demo_model.prepare(demo_image)
    features = compute_activations(demo_model, batch, [("conv2d_7",)])[("conv2d_7",)].values
    probabilities = demo_model.keras_model.predict(batch, verbose=0)[0]
    sad = 4  # a low-probability class
    logit = make_cam(demo_model, ("conv2d_7",), "Grad-CAM")(batch, sad)
    probability = make_cam(demo_model, ("conv2d_7",), "Grad-CAM", score="probability")(batch, sad)
    assert np.allclose(logit.heatmap, unit_range(np.maximum(features[..., sad], 0)), atol=1e-5)
    contrast = features[..., sad] - features @ probabilities
    assert np.allclose(probability.heatmap, unit_range(np.maximum(contrast, 0)), atol=1e-5)
    assert logit.score == pytest.approx(probability.score) == pytest.approx(probabilities[sad])
    assert logit.score_kind == "logit" and probability.score_kind == "probability"


def test_the_head_is_found_and_the_model_is_not_edited(keras, demo_model, transfer_model):
    assert output_head(demo_model).path == ("predictions",)  # a separate Activation layer
    assert output_head(demo_model).separate
    assert output_head(transfer_model).activation == "softmax"  # Dense(softmax): a linear copy
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.Activation("sigmoid", name="squash")], name="head")
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = inner(keras.layers.GlobalAveragePooling2D()(x))
    nested = LoadedModel(keras_model=keras.Model(inputs, outputs), name="nested", source="test",
                         auto_preset="unit", labels=("a", "b", "c"))
    assert output_head(nested).path == ("head", "squash")  # inside a nested model
    batch = np.random.default_rng(0).uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)
    before = nested.keras_model.predict(batch, verbose=0)
    result = make_cam(nested, ("conv",))(batch, 1)
    logits = keras.Model(inputs, inner.layers[0](keras.layers.GlobalAveragePooling2D()(x)))
    assert result.explained == pytest.approx(float(logits.predict(batch, verbose=0)[0, 1]), abs=1e-5)
    assert np.array_equal(nested.keras_model.predict(batch, verbose=0), before)  # unchanged
    dense = transfer_model.keras_model.layers[-1]
    assert dense.activation.__name__ == "softmax" and len(transfer_model.keras_model.layers) == 3
    plain = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    loaded = LoadedModel(keras_model=plain, name="plain", source="test", auto_preset="unit",
                         labels=("a", "b"))
    assert output_head(loaded) is None
    assert make_cam(loaded, ("conv",))(batch, 0).score_kind == "output"  # nothing to bypass


def test_cli_score_option(capsys):
    image = str(demo_image_path())
    assert cli(["gradcam", "demo", image, "--class", "sad", "--json"]) == 0
    logit = json.loads(capsys.readouterr().out)
    assert cli(["gradcam", "demo", image, "--class", "sad", "--score", "probability", "--json"]) == 0
    probability = json.loads(capsys.readouterr().out)
    assert logit["score_kind"] == "logit" and probability["score_kind"] == "probability"
    assert logit["score"] == probability["score"] < 0.01  # the class's probability, both times
    assert logit["explained_score"] < 0 < probability["explained_score"]
