"""The clear style (Olah et al. 2017) on real, trained models: readable patterns (less
high-frequency power than the reference), inputs inside the model's range, activations
that rise, classes that look like their shapes; objectives, regularizers, the CLI and the
window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis import visualize_filters
from convviz_gui.engine.featurevis.measures import high_frequency_share
from convviz_gui.engine.featurevis.results import stitch_patterns
from convviz_gui.engine.featurevis.settings import (
    CLEAR_LEARNING_RATE,
    CLEAR_STEPS,
    ClearSettings,
    FilterSettings,
)

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle, wrap

FIGURES = "/tmp/convviz_feature_vis"  # grids saved for a human to look at
SHAPES = ("circle", "square", "horizontal bar")


def shapes(count: int, size: int = 32, channels: int = 1, seed: int = 0):
    """Bright shapes on dark noisy backgrounds (random colours when RGB): circles, squares
    and horizontal bars of random size and position, with their class labels."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    images = np.empty((count, size, size, channels), np.float32)
    labels = rng.integers(0, 3, count)
    for image, label in zip(images, labels):
        x, y = rng.uniform(10, size - 10, 2)
        if label == 0:
            mask = (cols - x) ** 2 + (rows - y) ** 2 <= rng.uniform(5, 9) ** 2
        elif label == 1:
            half = rng.uniform(4, 7)
            mask = (abs(cols - x) <= half) & (abs(rows - y) <= half)
        else:
            mask = (abs(cols - x) <= rng.uniform(8, 13)) & (abs(rows - y) <= rng.uniform(1, 2.5))
        image[:] = rng.uniform(0, 100, channels)
        image[mask] = rng.uniform(150, 255, channels)
        image += rng.normal(0, 8, image.shape)
    return np.clip(images, 0, 255), labels


def shape_classifier(keras, channels: int):
    """A small convnet trained for a few seconds to tell the shapes apart (raw 0-255
    pixels, Rescaling inside; conv -> ReLU layers, global pooling, Dense softmax)."""
    keras.utils.set_random_seed(0)
    layers = keras.layers
    inputs = keras.Input((32, 32, channels))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="c1")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", name="c2")(x)
    x = layers.ReLU(name="c2_relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="c3")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(16, activation="relu", name="hidden")(x)
    outputs = layers.Dense(3, activation="softmax", name="classes")(x)
    model = keras.Model(inputs, outputs, name=f"shapes_{channels}")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    images, labels = shapes(3000, channels=channels)
    model.fit(images, labels, epochs=5, batch_size=64, verbose=0)
    test_images, test_labels = shapes(300, channels=channels, seed=1)
    accuracy = model.evaluate(test_images, test_labels, verbose=0)[1]
    assert accuracy > 0.75, accuracy  # it has learnt the shapes
    return wrap(model, preset="none")


@pytest.fixture(scope="module")
def gray_shapes(keras):
    return shape_classifier(keras, 1)


@pytest.fixture(scope="module")
def rgb_shapes(keras):
    return shape_classifier(keras, 3)


def clear(steps: int, size: int, **options) -> FilterSettings:
    return FilterSettings.for_style("clear", steps=steps, size=size, clear=ClearSettings(**options))


def save_grid(result, name: str) -> None:
    Path(FIGURES).mkdir(parents=True, exist_ok=True)
    grid = stitch_patterns([result.patterns[i] for i in sorted(result.patterns)])
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(
        f"{FIGURES}/{name}.png")


def compare_styles(loaded, layer, size: int, steps: int, name: str) -> dict:
    """Reference and clear patterns of filters 0-7 of ``layer``, with the issue's measures."""
    measures = {}
    for settings in (FilterSettings(size=size), clear(steps, size)):
        result = visualize_filters(loaded, layer, list(range(8)), settings)
        save_grid(result, f"{name}_{settings.style}")
        measures[settings.style] = {
            "high": np.mean([high_frequency_share(result.patterns[i]) for i in range(8)]),
            "rise": np.mean([result.losses[i] > result.start_losses[i] for i in range(8)]),
            "inputs": result.input_range, "model": result.model_range,
        }
    print(name, measures)
    return measures


def test_style_defaults():
    settings = FilterSettings.for_style("clear")
    assert (settings.steps, settings.learning_rate, settings.style) == (256, 0.05, "clear")
    assert (CLEAR_STEPS, CLEAR_LEARNING_RATE) == (256, 0.05)
    assert FilterSettings.for_style("reference") == FilterSettings()
    assert FilterSettings.for_style("clear", steps=8).steps == 8
    with pytest.raises(ConvVizError, match="Unknown style"):
        FilterSettings.for_style("dreamy")


def test_demo_clear_patterns_are_smoother_in_range_and_rise(demo_model):
    """The trained demo (grayscale, [-1, 1]): separable_conv2d_5 filters 0-7."""
    measures = compare_styles(demo_model, ("separable_conv2d_5",), 128, 96, "demo")
    reference, clear_ = measures["reference"], measures["clear"]
    assert clear_["high"] <= 0.6 * reference["high"]
    assert clear_["model"] == (-1.0, 1.0)
    assert -1.0 <= clear_["inputs"][0] < clear_["inputs"][1] <= 1.0
    assert reference["inputs"][0] < -1.0 or reference["inputs"][1] > 1.0  # the reference leaves it
    assert clear_["rise"] >= 0.9


def test_rgb_model_clear_patterns_are_smoother_in_range_and_rise(rgb_shapes):
    """A small RGB model trained here (raw 0-255 pixels): the linear conv c2, filters 0-7."""
    measures = compare_styles(rgb_shapes, ("c2",), 96, 96, "rgb_shapes")
    reference, clear_ = measures["reference"], measures["clear"]
    assert clear_["high"] <= 0.6 * reference["high"]
    assert clear_["model"] == (0.0, 255.0)
    assert 0.0 <= clear_["inputs"][0] < clear_["inputs"][1] <= 255.0
    assert clear_["rise"] >= 0.9


def test_class_visualization_shows_the_class_shape(gray_shapes):
    """The bar class is drawn as horizontal strokes (brightness changes along columns, not
    rows); circles and squares are not."""
    result = visualize_filters(gray_shapes, None, [0, 1, 2], clear(128, 32, objective="class"))
    save_grid(result, "shape_classes")
    assert result.layer == ("classes",) and result.patterns[2].shape == (24, 24)
    assert all(result.losses[i] > result.start_losses[i] for i in range(3))
    ratios = []
    for index in range(3):
        pattern = result.patterns[index].astype(float)
        vertical = np.abs(np.diff(pattern, axis=0)).mean()  # across horizontal edges
        horizontal = np.abs(np.diff(pattern, axis=1)).mean()
        ratios.append(vertical / horizontal)
    print(dict(zip(SHAPES, np.round(ratios, 2))))
    assert ratios[2] > 2.0 and ratios[2] > 2 * max(ratios[:2])


def test_class_objective_optimizes_the_logit_without_touching_the_model(gray_shapes, keras):
    """The softmax output's pre-activation is the objective; the user's layer keeps it."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.objectives import resolve_target, target_values

    target = resolve_target(gray_shapes, None, ClearSettings(objective="class"), [0, 2])
    values = target_values(gray_shapes, target, 2, 32, 32, features=False)
    images, _ = shapes(4, seed=3)
    logits, _ = values(tf.constant(images), tf.constant([0, 2, 1, 0]))
    model = gray_shapes.keras_model
    head = keras.Model(model.inputs[0], model.get_layer("hidden").output)
    expected = head(images) @ model.get_layer("classes").kernel + model.get_layer("classes").bias
    np.testing.assert_allclose(logits, np.asarray(expected)[range(4), [0, 2, 1, 0]], rtol=1e-4,
                               atol=1e-4)
    assert model.get_layer("classes").activation.__name__ == "softmax"
    with pytest.raises(ConvVizError, match="has 3 classes"):
        resolve_target(gray_shapes, None, ClearSettings(objective="class"), [3])


def test_neuron_unit_negative_and_diversity(gray_shapes, keras):
    layer = ("c3",)
    neuron = visualize_filters(gray_shapes, layer, [0, 1], clear(48, 48, objective="neuron"))
    assert all(neuron.losses[i] > neuron.start_losses[i] for i in (0, 1))
    model = gray_shapes.keras_model
    grey = np.full((1, 32, 32, 1), 127.5, np.float32)
    hidden = np.asarray(keras.Model(model.inputs[0], model.get_layer("hidden").output)(grey))[0]
    alive = [int(i) for i in np.flatnonzero(hidden > 0)[:2]]  # a dead ReLU unit cannot rise
    unit = visualize_filters(gray_shapes, ("hidden",), alive, clear(48, 48, objective="unit"))
    assert unit.layer == ("hidden",) and all(unit.losses[i] > unit.start_losses[i] for i in alive)
    negative = visualize_filters(gray_shapes, ("c2",), [0, 1], clear(48, 48, negative=True))
    assert all(negative.losses[i] < negative.start_losses[i] for i in (0, 1))
    diverse = visualize_filters(gray_shapes, ("c2",), [4], clear(48, 48, variants=4, diversity=1.0))
    tile = diverse.patterns[4]
    assert tile.shape == (2 * 36 + 2, 2 * 36 + 2)  # 2x2 variants of 48 - 2 * 6 px, 2 px apart
    first, second = tile[:36, :36].astype(float), tile[:36, 38:].astype(float)
    assert np.abs(first - second).mean() > 10  # different images of one filter
    with pytest.raises(ConvVizError, match="needs a layer with a flat output"):
        visualize_filters(gray_shapes, ("c2",), [0], clear(2, 32, objective="unit"))
    with pytest.raises(ConvVizError, match="needs a convolution or pooling layer"):
        visualize_filters(gray_shapes, ("hidden",), [0], clear(2, 32, objective="neuron"))


def test_regularizers_smooth_the_image(rgb_shapes):
    plain = visualize_filters(rgb_shapes, ("c2",), [0, 1, 2], clear(48, 64))
    smooth = visualize_filters(rgb_shapes, ("c2",), [0, 1, 2],
                               clear(48, 64, total_variation=4.0, blur=4.0, l2=1.0))

    def variation(result):
        return np.mean([np.abs(np.diff(result.patterns[i].astype(float), axis=0)).mean()
                        for i in range(3)])

    print("total variation", variation(plain), variation(smooth))
    assert variation(smooth) < 0.8 * variation(plain)


def test_progress_previews_and_cancel(gray_shapes):
    seen = []
    result = visualize_filters(gray_shapes, ("c2",), list(range(5)),
                               FilterSettings.for_style("clear", steps=10, size=40, batch_size=2),
                               progress=seen.append)
    assert len(seen) == 3 * 10  # batches of 2, 2 and 1 (padded to 2) filters
    assert seen[4].previews and not seen[3].previews and set(seen[-1].previews) == {4}
    assert seen[-1].previews[4].shape == (30, 30) and seen[-1].previews[4].dtype == np.uint8
    assert sorted(result.patterns) == list(range(5)) and not result.cancelled
    steps = []
    stopped = visualize_filters(gray_shapes, ("c2",), list(range(4)),
                                FilterSettings.for_style("clear", steps=30, size=40, batch_size=4),
                                progress=lambda update: steps.append(update.step),
                                should_cancel=lambda: len(steps) >= 3)
    assert stopped.cancelled and steps == [1, 2, 3] and stopped.partial == {0, 1, 2, 3}


def test_nested_layer_in_a_transfer_learning_base(transfer_model):
    """A MobileNetV2 base inside a Sequential (symmetric preset), at 128 px."""
    path = ("mobilenetv2_1.00_96", "block_3_expand")
    result = visualize_filters(transfer_model, path, [0, 1], clear(12, 128))
    assert result.size_used == (128, 128) and result.patterns[0].shape == (96, 96, 3)
    assert all(result.losses[i] > result.start_losses[i] for i in (0, 1))
    assert result.input_range[0] >= -1.0 and result.input_range[1] <= 1.0


def test_clear_step_never_computes_weight_gradients(demo_model):
    """oneDNN safety: the demo's conv2d_3 is a 1x1 strided conv on 8 channels (the oneDNN
    6035 case); the compiled clear step runs no kernel-gradient (BackpropFilter) op."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.clear import ClearStep
    from convviz_gui.engine.featurevis.objectives import resolve_target

    from ..conftest import executed_ops

    target = resolve_target(demo_model, ("conv2d_3",), ClearSettings(), [0])
    step = ClearStep(demo_model, target, FilterSettings.for_style("clear"), 64, 64, 1)
    executed = executed_ops(lambda: step.step(tf.constant([0], tf.int32), tf.constant([0, 1], tf.int32)))
    assert any("BackpropInput" in op for op in executed)
    assert not any("BackpropFilter" in op for op in executed)


@pytest.mark.parametrize("preset", ["none", "unit", "symmetric", "caffe", "torch", "app"])
@pytest.mark.parametrize("channels", [1, 3])
def test_tensor_preprocessing_equals_the_presets(keras, preset, channels):
    """The graph's preprocessing computes what the window feeds the model, for every preset
    (``app``: a Keras Application's preprocess_input, here ResNet50's caffe mode)."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.preprocessing import model_input_range, tensor_preprocess
    from convviz_gui.engine.images import preprocess

    if preset == "app" and channels == 1:
        pytest.skip("Keras Applications take RGB")
    app = keras.applications.resnet50.preprocess_input if preset == "app" else None
    inputs = keras.Input((8, 8, channels))
    loaded = wrap(keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs)), preset=preset,
                  app_preprocess=app)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, channels)).astype(np.float32)
    expected = preprocess(pixels, preset, app)
    np.testing.assert_allclose(tensor_preprocess(loaded)(tf.constant(pixels)), expected,
                               rtol=1e-5, atol=1e-4)
    low, high = model_input_range(loaded)
    assert low <= expected.min() and expected.max() <= high
    assert (low, high) == {"none": (0, 255), "unit": (0, 1), "symmetric": (-1, 1)}.get(
        preset, (low, high))


def test_preprocessing_that_is_not_affine_runs_on_tensors(keras):
    import tensorflow as tf

    from convviz_gui.engine.featurevis.preprocessing import affine_preset, tensor_preprocess

    inputs = keras.Input((8, 8, 3))
    loaded = wrap(keras.Model(inputs, inputs), preset="app", app_preprocess=lambda x: x ** 0.5)
    assert affine_preset(loaded) is None
    pixels = np.full((1, 8, 8, 3), 16.0, np.float32)
    np.testing.assert_allclose(tensor_preprocess(loaded)(tf.constant(pixels)), 4.0)


def test_fourier_image_and_transforms_stay_in_range():
    import tensorflow as tf

    from convviz_gui.engine.featurevis.parameterization import FourierImage, spectrum_scale
    from convviz_gui.engine.featurevis.transforms import random_view

    scale = spectrum_scale(40, 30)
    assert scale.shape == (40, 16) and scale[0, 0] == scale[1, 0] > scale[0, 1] > scale[5, 5] > scale[20, 15]
    image = FourierImage(40, 30, 3)
    coefficients = np.random.default_rng(0).normal(0, 1, image.coefficient_shape(2)).astype("float32")
    pixels = image.pixels(tf.constant(coefficients))
    assert pixels.shape == (2, 40, 30, 3)
    assert float(tf.reduce_min(pixels)) >= 0 and float(tf.reduce_max(pixels)) <= 255
    start = image.pixels(tf.constant(image.start(1, np.random.default_rng(0))))
    assert abs(float(tf.reduce_mean(start)) - 127.5) < 2  # faint noise around grey
    seed = tf.constant([0, 1])
    views = [random_view(pixels, seed), random_view(pixels, seed), random_view(pixels, seed + 1)]
    assert views[0].shape == pixels.shape and float(tf.reduce_min(views[0])) >= 0
    assert float(tf.reduce_max(views[0])) <= 255
    np.testing.assert_array_equal(views[0], views[1])
    assert not np.allclose(views[0], views[2])


def test_cli_clear_json_and_patterns_dir(capsys, tmp_path):
    from convviz_gui.cli import main

    folder = tmp_path / "patterns"
    assert main(["filters", "demo", "--layer", "separable_conv2d_5", "--filters", "0-2",
                 "--style", "clear", "--steps", "8", "--size", "64", "--patterns-dir",
                 str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["style"] == "clear" and data["objective"] == "channel"
    assert [f["index"] for f in data["filters"]] == [0, 1, 2]
    assert all({"loss", "start_loss"} <= set(f) for f in data["filters"])
    low, high = data["input_range"]
    assert data["model_range"] == [-1.0, 1.0] and -1 <= low < high <= 1
    assert sorted(path.name for path in folder.iterdir()) == ["0.png", "1.png", "2.png"]
    assert np.asarray(Image.open(folder / "1.png")).shape == (48, 48)
    assert main(["filters", "demo", "--objective", "class", "--filters", "3", "--style", "clear",
                 "--steps", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layer"] == "predictions" and data["size"] == [64, 64]  # the model's own size
    assert main(["filters", "demo", "--layer", "conv2d_7", "--filters", "0", "--steps", "3",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["style"] == "reference" and "start_loss" in data["filters"][0]
    for args, message in ((["--objective", "neuron"], "need --style clear"),
                          (["--style", "clear", "--objective", "unit"], "flat output")):
        assert main(["filters", "demo", "--layer", "conv2d_7", "--filters", "0", *args]) == 2
        assert message in capsys.readouterr().err


def test_window_clear_style_and_class_objective(qtbot, demo_window):
    """Through the user's path: Style and Objective, the Advanced options, Run."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    window, tab = demo_window, demo_window.filters_tab
    qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("separable_conv2d_5",))
    assert tab.steps.isHidden() and not tab.objective.isEnabled()
    qtbot.keyClicks(tab.style_combo, "Clear")
    assert tab.objective.isEnabled() and tab.steps.value() == 256
    assert tab.learning_rate.value() == pytest.approx(0.05)
    qtbot.mouseClick(tab.advanced_button, Qt.MouseButton.LeftButton)
    assert tab.steps.isVisible() and tab.total_variation.isVisible()
    assert window.minimumSizeHint().width() <= 1024
    for control in (tab.steps, tab.size):
        control.lineEdit().selectAll()
    qtbot.keyClicks(tab.steps.lineEdit(), "12")
    qtbot.keyClicks(tab.size.lineEdit(), "64")
    tab.range_edit.clear()
    qtbot.keyClicks(tab.range_edit, "0-3")
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    result = tab.last_result
    assert result.settings.style == "clear" and result.settings.steps == 12
    assert sorted(result.patterns) == [0, 1, 2, 3] and tab.figure is not None
    assert "the model's range is [-1, 1]" in window.statusBar().currentMessage()
    tab.range_edit.clear()
    qtbot.keyClicks(tab.range_edit, "0-15")
    qtbot.keyClicks(tab.objective, "Class")  # the demo has 7 classes: the range follows
    assert tab.range_edit.text() == "0-6" and tab.range_label.text() == "Classes"
    assert tab.size.value() == 64  # the model's own size
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.last_result is not None and tab.last_result.layer == ("predictions",),
                    timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert sorted(tab.last_result.patterns) == list(range(7))
    missing = [type(control).__name__ for kind in (QAbstractButton, QComboBox, QAbstractSpinBox,
                                                   QLineEdit)
               for control in tab.findChildren(kind)
               if not control.toolTip() and not isinstance(
                   control.parent(), (QAbstractSpinBox, QComboBox, QLineEdit))
               and not type(control.parent()).__name__.startswith("NavigationToolbar")]
    assert missing == []
    qtbot.keyClicks(tab.style_combo, "Reference")  # the next tests expect the reference
    qtbot.mouseClick(tab.advanced_button, Qt.MouseButton.LeftButton)
    assert tab.steps.value() == 30 and tab.steps.isHidden()
