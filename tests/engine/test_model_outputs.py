"""Models that open and must not show the wrong output, layer, mask or preprocessing:
several heads, dict outputs, backbones, one-channel sigmoid masks, mixed precision,
``preprocess_input`` inside the graph, and the default CAM layer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convviz_gui.cli import main

from ..conftest import wait_idle


def run_json(capsys, *args):
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "noise.png"
    pixels = np.random.default_rng(3).integers(0, 255, (70, 90, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


@pytest.fixture(scope="module")
def models(keras, tmp_path_factory):
    """Small models saved as ``.keras`` files, built in the test (seconds)."""
    layers, folder = keras.layers, tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(4)
    saved = {}

    def save(name, model):
        saved[name] = str(folder / f"{name}.keras")
        model.save(saved[name])

    # mtcnn's O-Net shape: a PReLU conv, a Permute before Flatten, box regression listed first.
    inputs = keras.Input((40, 40, 3))
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    x = layers.Conv2D(8, 3, name="conv_last")(x)
    x = layers.PReLU(shared_axes=[1, 2], name="prelu_last")(x)
    x = layers.Dense(16)(layers.Flatten()(layers.Permute((2, 1, 3))(x)))
    save("onet", keras.Model(inputs, [layers.Dense(4, name="box")(x),
                                      layers.Dense(2, activation="softmax", name="face")(x)]))
    # mtcnn's P-Net shape: fully convolutional, box regression and face softmax side by side.
    inputs = keras.Input((24, 24, 3))
    x = layers.PReLU(shared_axes=[1, 2], name="trunk")(layers.Conv2D(8, 3)(inputs))
    box = layers.Conv2D(4, 1, name="box_conv")(layers.Conv2D(8, 3, name="box_branch")(x))
    face = layers.Conv2D(2, 1, activation="softmax", name="face_conv")(x)
    save("pnet", keras.Model(inputs, [box, face]))
    # A dict of outputs (Keras flattens it by key: "box" comes before "class").
    inputs = keras.Input((40, 40, 3))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 3, activation="relu", name="conv")(inputs))
    save("dict", keras.Model(inputs, {"class": layers.Dense(3, activation="softmax")(x),
                                      "box": layers.Dense(4)(x)}))
    # A one-channel sigmoid U-Net (binary segmentation).
    inputs = keras.Input((32, 32, 3))
    a = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    b = layers.Conv2D(8, 3, padding="same", activation="relu")(layers.MaxPooling2D()(a))
    x = layers.Concatenate()([layers.UpSampling2D()(b), a])
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="decoder")(x)
    save("unet", keras.Model(inputs, layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)))
    # caffe preprocess_input applied to the Keras input: operations, not layers.
    inputs = keras.Input((32, 32, 3))
    x = keras.applications.resnet50.preprocess_input(inputs)
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(x))
    save("caffe", keras.Model(inputs, layers.Dense(3, activation="softmax")(x)))
    # A mixed_float16 model (the policy only while building).
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input((32, 32, 3))
        x = layers.BatchNormalization()(layers.Conv2D(8, 3, activation="relu")(inputs))
        x = layers.GlobalAveragePooling2D()(x)
        save("mixed", keras.Model(inputs, layers.Dense(3, activation="softmax")(x)))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    # MNIST-like: conv, conv, max-pool, dense.
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(layers.Conv2D(8, 3, activation="relu", name="conv_2")(x))
    save("mnist", keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(x))))
    save("mobilenet", keras.applications.MobileNet(weights=None, input_shape=(64, 64, 3),
                                                   classes=4, alpha=0.25))
    save("backbone", keras.applications.ResNet50(weights=None, include_top=False,
                                                 input_shape=(64, 64, 3)))
    return saved


def test_the_classifier_head_is_explained_not_the_box_regression(capsys, models, image_file):
    data = run_json(capsys, "inspect", models["onet"])
    assert data["explained_output"]["name"] == "face" and data["output_kind"] == "classification"
    assert [o["kind"] for o in data["outputs"]] == ["regression", "classification"]
    # The Permute would transpose the map: the PReLU before it is chosen, and the reason says so.
    assert data["default_cam_layer"] == "prelu_last"
    assert "permute" in data["default_cam_layer_reason"]
    predictions = run_json(capsys, "predict", models["onet"], image_file)["predictions"]
    assert len(predictions) == 2 and abs(sum(p["score"] for p in predictions) - 1) < 1e-5
    boxes = run_json(capsys, "predict", models["onet"], image_file, "--output", "box")
    assert boxes["output_kind"] == "regression"
    assert [p["label"] for p in boxes["predictions"]] == ["output 0", "output 1", "output 2", "output 3"]
    cam = run_json(capsys, "gradcam", models["onet"], image_file, "--output", "0", "--class", "2")
    assert cam["target"] == "output 2" and cam["layer"] == "prelu_last"


def test_a_layer_on_another_heads_branch_is_refused_in_one_sentence(capsys, models, image_file):
    data = run_json(capsys, "inspect", models["pnet"])
    assert data["explained_output"]["name"] == "face_conv"
    assert data["output_kind"] == "segmentation" and data["default_cam_layer"] == "trunk"
    assert "box_branch (not on the path" in data["default_cam_layer_reason"]
    for method in ("gradcam", "scorecam"):
        assert main(["gradcam", models["pnet"], image_file, "--layer", "box_branch",
                     "--method", method]) == 2
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0 and "does not feed the explained output face_conv" in error


def test_raw_box_values_equal_the_models_own(keras, models, image_file):
    from convviz_gui.engine.cam import predict
    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.models import load_model_file

    loaded = load_model_file(models["onet"], output="box")
    batch = loaded.prepare(load_image(image_file))
    expected = keras.models.load_model(models["onet"], compile=False)(batch)[0].numpy()[0]
    found = {p.index: p.score for p in predict(loaded, batch, top=4)}
    np.testing.assert_allclose([found[i] for i in range(4)], expected, rtol=1e-5, atol=1e-6)


def test_dict_outputs_open_and_explain_the_softmax_head(capsys, models, image_file):
    data = run_json(capsys, "inspect", models["dict"])
    assert [o["name"] for o in data["outputs"]] == ["box", "class"]
    assert data["explained_output"]["name"] == "class"
    cam = run_json(capsys, "gradcam", models["dict"], image_file, "--method", "scorecam")
    assert cam["layer"] == "conv" and 0 < cam["score"] < 1
    pixels = run_json(capsys, "gradcam", models["dict"], image_file, "--method", "saliency")
    assert pixels["resolution"] == "input"


def test_one_channel_sigmoid_mask_is_thresholded(keras, models, image_file):
    from convviz_gui.ops.base import ImageRef, ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.explain import Explain
    from convviz_gui.ops.model import Predict
    from convviz_gui.ops.registry import run

    context = OpContext(Workspace())
    model, image = ModelRef(models["unet"]), ImageRef(image_file)
    loaded = context.workspace.model(model)
    probabilities = keras.models.load_model(models["unet"], compile=False)(
        loaded.prepare(context.workspace.image(image))).numpy()[0, ..., 0]
    top = run(Predict(model, image), context).predictions[0]
    assert top.score == pytest.approx(np.mean(probabilities > 0.5))
    assert dict(top.extra)["mean_probability"] == pytest.approx(probabilities.mean(), abs=1e-6)
    explanation = run(Explain(model, image), context)
    np.testing.assert_array_equal(explanation.mask, probabilities > 0.5)
    assert explanation.cam.layer == ("decoder",)


def test_preprocessing_operations_in_the_graph_get_raw_pixels(capsys, keras, models, image_file):
    data = run_json(capsys, "inspect", models["caffe"])
    operations = [layer for layer in data["layers"] if layer.get("operation")]
    assert {layer["class"] for layer in operations} >= {"GetItem", "Add"}
    assert data["preprocess"] == "none" and "get_item" in data["preprocess_source"]
    from convviz_gui.engine.images import load_image, to_model_pixels
    from convviz_gui.engine.models import load_model_file

    loaded = load_model_file(models["caffe"])
    image = load_image(image_file)
    raw = to_model_pixels(image, 32, 32, 3, "stretch")
    np.testing.assert_array_equal(loaded.prepare(image), raw)  # 0-255, the model rescales
    predictions = run_json(capsys, "predict", models["caffe"], image_file, "--top", "3")
    expected = keras.models.load_model(models["caffe"], compile=False)(raw).numpy()[0]
    assert predictions["predictions"][0]["score"] == pytest.approx(expected.max(), rel=1e-5)


def test_mixed_precision_models_explain_in_float32(capsys, models, image_file):
    data = run_json(capsys, "inspect", models["mixed"])
    assert any("mixed_float16" in note for note in data["notes"])
    for method in ("gradcam", "gradcam++", "scorecam", "integrated-gradients"):
        cam = run_json(capsys, "gradcam", models["mixed"], image_file, "--method", method,
                       "--metrics")
        assert np.isfinite(cam["explained_score"]) and 0 < cam["score"] < 1
        assert all(np.isfinite(value) for value in cam["metrics"].values()
                   if isinstance(value, float))


@pytest.mark.parametrize(("name", "layer"), [("mnist", "conv_2"), ("mobilenet", "conv_pw_13_relu"),
                                             ("backbone", "conv5_block3_add")])
def test_default_cam_layer_is_a_convolution_with_a_spatial_map(capsys, models, name, layer):
    data = run_json(capsys, "inspect", models[name])
    assert data["default_cam_layer"] == layer
    assert data["default_cam_layer_reason"].startswith(f"{layer}: the last ")


def test_a_backbone_is_called_a_feature_map_and_explains_a_channel(capsys, models, image_file):
    data = run_json(capsys, "predict", models["backbone"], image_file, "--top", "2")
    assert data["output_kind"] == "features"
    assert data["predictions"][0]["label"].startswith("channel ")
    cam = run_json(capsys, "gradcam", models["backbone"], image_file)
    assert cam["target"] == f"'{data['predictions'][0]['label']}'"


def test_window_output_box_switches_the_explained_head_and_remembers_it(qapp, qtbot, tmp_path,
                                                                      models):
    from PySide6.QtCore import QSettings

    from convviz_gui.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.show()
    try:
        window.files.open_model(models["onet"])
        qtbot.waitUntil(lambda: window.session.model is not None, timeout=60_000)
        panel = window.image_panel
        assert panel.output_combo.isVisible() and panel.output_combo.currentData() == "face"
        order = [node.name for node in window.session.model.layer_tree]
        panel.output_combo.setFocus()
        panel.output_combo.setCurrentIndex(panel.output_combo.findData("box"))
        panel.output_combo.activated.emit(panel.output_combo.currentIndex())
        qtbot.waitUntil(lambda: window.session.model.output.name == "box", timeout=60_000)
        assert window.session.model.output_kind == "regression"
        assert [node.name for node in window.session.model.layer_tree] == order  # file order
        assert "regression" in panel.model_info.text()
        window.files.open_model(models["dict"])  # a model with other outputs: its own default
        qtbot.waitUntil(lambda: window.session.model.ref.spec == models["dict"], timeout=60_000)
        assert window.session.model.output.name == "class"
        window.files.open_model(models["onet"])  # back: the chosen head is remembered
        qtbot.waitUntil(lambda: window.session.model.ref.spec == models["onet"], timeout=60_000)
        assert window.session.model.output.name == "box"
        settings.setValue(f"output/{models['dict']}", "gone")  # the file changed since
        window.files.open_model(models["dict"])
        qtbot.waitUntil(lambda: window.session.model.ref.spec == models["dict"], timeout=60_000)
        assert window.session.model.output.name == "class" and not window.errors_shown
        wait_idle(qtbot, window)
    finally:
        window.close()


def test_a_first_model_that_fails_to_open_leaves_no_loading_message(qapp, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from convviz_gui.ui.main_window import MainWindow

    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window.show()
    try:
        window.files.open_model(str(broken))
        assert "Loading" in window.gradcam_tab.figure_view._hint.text()
        qtbot.waitUntil(lambda: len(window.errors_shown) == 1, timeout=60_000)
        assert "broken.keras" in window.errors_shown[0]
        for tab in (window.activations_tab, window.filters_tab, window.gradcam_tab):
            assert tab.figure_view._hint.text().startswith("No model is open")
            assert not tab.figure_view.pending
        assert window.image_panel.model_info.text() == "No model is open."
    finally:
        window.close()


def test_a_mixed_precision_base_inside_a_float32_model_runs_in_float32(keras, tmp_path,
                                                                        image_file):
    from convviz_gui.engine.cam import make_cam
    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.models import load_model_file

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        base = keras.Sequential([keras.Input((32, 32, 3)),
                                 keras.layers.Conv2D(8, 3, activation="relu", name="conv")],
                                name="base")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model = keras.Sequential([keras.Input((32, 32, 3)), base,
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "nested_mixed.keras"
    model.save(path)
    loaded = load_model_file(path)
    assert any("mixed_float16" in note for note in loaded.notes)
    assert loaded.keras_model.outputs[0].dtype == "float32"
    cam = make_cam(loaded, None, "gradcam").explain(loaded.prepare(load_image(image_file)))
    assert cam.layer == ("base", "conv") and np.isfinite(cam.explained)
