"""Filters of a caffe-preprocessed VGG-like model (0-255 pixels minus the ImageNet mean, ReLU
convolutions), the case where a real VGG16 backbone showed dead filters: the book's start in
model units is a flat image there and every channel of a deep layer is negative on it. The
grey start in pixels and the pre-ReLU objective bring them to life; a channel that cannot
move (zero kernel, negative bias) is reported dead in the JSON and on its tile. And an
explanation map that is exactly zero says so on the figure and in the JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from convviz_gui.engine.featurevis.reference import start_images
from convviz_gui.engine.featurevis.settings import FilterSettings

from ..conftest import shared

TARGET = "block2_conv1"
DEAD = 7  # the target channel with a zero kernel and a negative bias
SIZE = 48


def svg_text(path: Path) -> str:
    """The texts of an SVG figure, lines joined by spaces (matplotlib writes each line of a
    text in a comment beside its glyphs)."""
    return " ".join(re.findall(r"<!-- (.*?) -->", path.read_text()))


@pytest.fixture(scope="module")
def caffe_vgg(keras, tmp_path_factory):
    """(model file with a caffe sidecar, LoadedModel): two VGG blocks of ReLU convolutions
    (Keras' own random kernels) whose last layer has a bias of -1 on every channel, as deep
    VGG16 channels that a mean-coloured image leaves negative; channel 7 has no kernel."""
    from convviz_gui.engine.model_settings import save_model_settings
    from convviz_gui.engine.models import load_model_file

    keras.utils.set_random_seed(7)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv2")(x)
    x = layers.MaxPooling2D(name="block1_pool")(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name=TARGET)(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax", name="predictions")(x),
                        name="caffe_vgg")
    target = model.get_layer(TARGET)
    kernel, bias = target.get_weights()
    kernel[..., DEAD] = 0.0
    target.set_weights([kernel, np.full_like(bias, -1.0)])
    path = tmp_path_factory.mktemp("caffe_vgg") / "caffe_vgg.keras"
    model.save(path)
    save_model_settings(path, 2, "caffe")
    return path, load_model_file(path)


def test_the_books_start_is_flat_and_dead_the_grey_start_is_not(caffe_vgg):
    """On the book's start (U[0.4, 0.6] in model units: the mean colour for caffe) every
    channel of the target is zero after its ReLU; on grey pixels with noise through the
    caffe preprocessing most are active."""
    from convviz_gui.engine.taps import build_sized_tap_model

    _, loaded = caffe_vgg
    tap = build_sized_tap_model(loaded.keras_model, (TARGET,), SIZE, SIZE)
    means = {}
    for start in ("reference", "grey"):
        images = start_images(loaded, 4, SIZE, SIZE, FilterSettings(start=start),
                              np.random.default_rng(0))
        means[start] = np.asarray(tap(images)).mean(axis=(0, 1, 2))
    assert np.all(means["reference"] == 0)
    alive = [channel for channel in range(8) if channel != DEAD]
    assert np.count_nonzero(means["grey"][alive]) >= 5, means["grey"]
    assert means["grey"][DEAD] == 0
    grey = start_images(loaded, 1, SIZE, SIZE, FilterSettings(), np.random.default_rng(0))
    pixels = grey[0, ..., ::-1] + np.array([123.68, 116.779, 103.939])  # caffe undone (RGB)
    assert pixels.min() > 101 and pixels.max() < 154  # 0.4-0.6 of the pixel range


@pytest.mark.parametrize("style", ["reference", "clear"])
def test_filters_rise_and_the_dead_channel_is_reported(capsys, tmp_path, caffe_vgg, style):
    """Through ``convviz filters --json --out fig.svg``: the pre-ReLU value is optimized
    and says so, every live filter rises above zero (it is activated), and the channel
    without a kernel is dead in the JSON and on its tile."""
    from convviz_gui.cli import main

    path, _ = caffe_vgg
    figure = tmp_path / "filters.svg"
    steps = ["--steps", "64"] if style == "clear" else []
    assert main(["filters", str(path), "--layer", TARGET, "--filters", "0-7", "--size", str(SIZE),
                 "--style", style, *steps, "--json", "--out", str(figure)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["optimized"] == "pre-activation (ReLU bypassed)"
    filters = {f["index"]: f for f in data["filters"]}
    alive = [found for index, found in filters.items() if index != DEAD]
    assert not any(found["dead"] for found in alive)
    assert all(found["loss"] > found["start_loss"] for found in alive), alive
    # Activated: above zero after the ReLU (all in 30 reference steps; Adam on the clear
    # style's Fourier image climbs more slowly).
    activated = sum(found["loss"] > 0 for found in alive)
    assert activated >= (7 if style == "reference" else 5), alive
    dead = filters[DEAD]
    assert dead["dead"] and dead["loss"] == pytest.approx(-1.0) == dead["start_loss"]
    assert "zero gradient" in dead["reason"]
    svg = svg_text(figure)
    assert svg.count("dead: never activated") == 1
    assert "optimized: pre-activation (ReLU bypassed); 1 dead" in svg


def test_dead_filters_of_the_trained_demo_model(demo_model):
    """Real trained weights: two kernels of the demo's conv2d_1 decayed to ~1e-34 in
    training; those filters (and only those) are reported dead."""
    from convviz_gui.engine.featurevis import visualize_filters

    kernel = demo_model.keras_model.get_layer("conv2d_1").get_weights()[0]
    vanished = {int(i) for i in np.flatnonzero(np.abs(kernel).max(axis=(0, 1, 2)) < 1e-30)}
    assert vanished == {0, 5}
    result = visualize_filters(demo_model, ("conv2d_1",), list(range(8)),
                               FilterSettings(steps=5, size=48))
    assert set(result.dead) == vanished
    alive = [i for i in range(8) if i not in vanished]
    assert all(result.losses[i] > result.start_losses[i] for i in alive)
    assert result.optimized == "layer output"  # a linear convolution: nothing bypassed


def test_a_separate_relu_layer_is_optimized_on_its_input(keras):
    """A ReLU layer of its own: its input is optimized (the same numbers as the linear conv
    before it), and a layer without a ReLU reports its output."""
    from convviz_gui.engine.featurevis import visualize_filters

    from ..conftest import wrap

    keras.utils.set_random_seed(2)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.ReLU(name="relu")(x)
    loaded = wrap(keras.Model(inputs, x, name="separate_relu"))
    settings = FilterSettings(steps=3, size=32)
    relu = visualize_filters(loaded, ("relu",), [0, 1], settings)
    conv = visualize_filters(loaded, ("conv",), [0, 1], settings)
    assert relu.optimized == "pre-activation (ReLU bypassed)" and conv.optimized == "layer output"
    assert relu.losses == pytest.approx(conv.losses, rel=1e-5, abs=1e-6)
    assert any(value < 0 for value in relu.start_losses.values())  # not clipped by the ReLU


@pytest.fixture(scope="module")
def silent_model(keras, tmp_path_factory):
    """A model whose explained layer is all zero: a ReLU after a convolution with no kernel
    and a negative bias; the class scores come from a bias alone."""
    keras.utils.set_random_seed(0)
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="silent", kernel_initializer="zeros",
                      bias_initializer=keras.initializers.Constant(-1.0))(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(2, activation="softmax", name="predictions",
                           bias_initializer=keras.initializers.Constant([1.0, 0.0]))(x)
    path = tmp_path_factory.mktemp("silent") / "silent.keras"
    keras.Model(inputs, outputs, name="silent").save(path)
    return path


def test_zero_map_says_so_in_the_json_and_on_the_figure(capsys, tmp_path, silent_model):
    from convviz_gui.cli import main

    figure = tmp_path / "cam.svg"
    assert main(["gradcam", str(silent_model), str(shared("images", "chelsea.png")),
                 "--layer", "silent", "--json", "--out", str(figure)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["zero_map"] is True and data["class_index"] == 0
    assert data["zero_map_reason"].startswith("The map is zero: the gradient of the score is "
                                              "zero at this layer")
    text = svg_text(figure)  # the reason on the heatmap, a word in the title
    assert data["zero_map_reason"] in text and "(the map is zero)" in text


def test_a_map_that_is_not_zero_says_nothing(capsys):
    from convviz_gui.cli import main
    from convviz_gui.engine.models import demo_image_path

    assert main(["gradcam", "demo", str(demo_image_path()), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["zero_map"] is False and "zero_map_reason" not in data


def test_grey_start_is_the_books_start_on_a_unit_model(keras, demo_model, capsys):
    """On a [0, 1] model the grey start is the book's U[0.4, 0.6] itself; on the demo's
    [-1, 1] it is U[-0.2, 0.2] around the same grey. ``--start`` is the reference style's."""
    from convviz_gui.cli import main

    from ..conftest import wrap

    inputs = keras.Input((16, 16, 3))
    unit = wrap(keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs), name="unit_model"))
    grey, book = (start_images(unit, 2, 16, 16, FilterSettings(start=start),
                               np.random.default_rng(3)) for start in ("grey", "reference"))
    np.testing.assert_allclose(grey, book, atol=1e-6)
    grey, book = (start_images(demo_model, 2, 16, 16, FilterSettings(start=start),
                               np.random.default_rng(3)) for start in ("grey", "reference"))
    np.testing.assert_allclose(grey, 2 * book - 1, atol=1e-6)  # x / 127.5 - 1 of the same pixels
    assert main(["filters", "demo", "--layer", "conv2d_1", "--style", "clear", "--start",
                 "reference"]) == 2
    assert "--start chooses the reference style's start" in capsys.readouterr().err
