"""Figures as a new user reads them (blank channels, titles, labels, colorbars, sizes) and
the Weights view: kernels as images, weight histograms, through operations, CLI and tab."""

import dataclasses
import json

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from PIL import Image

from convviz_gui.cli import main as cli
from convviz_gui.engine.activations import compute_activations
from convviz_gui.engine.cam import CamResult, Prediction, make_cam
from convviz_gui.engine.cam import predict as top_k
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis import visualize_filters
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.figures.activations import activation_grid_figure, channel_figure
from convviz_gui.figures.cam import gradcam_figure
from convviz_gui.figures.colors import colorize_rgba
from convviz_gui.figures.filters import filter_grid_figure
from convviz_gui.figures.kernels import kernel_tiles
from convviz_gui.figures.registry import draws, figure_for, registered_views
from convviz_gui.ops.base import ModelRef
from convviz_gui.ops.context import OpContext, Workspace
from convviz_gui.ops.export import ExportFigure, FigureStyle, Kernels, KernelsResult
from convviz_gui.ops.registry import run

from ..conftest import WINDOW_TIMEOUT_MS, random_image, shared, wait_idle, wrap
from ..whole_marker import assert_drawn_whole

LONG_PATH = ("mobilenetv2_1.00_224_fine_tuned_on_a_very_long_dataset_name",
             "block_16_depthwise_project_BN_renamed_by_the_user")


def rendered(figure) -> np.ndarray:
    """Draw with Agg at the figure's own size; RGB pixels, row 0 at the top."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3]


def tile_pixels(pixels, ax, left, top, width, height, inset=2):
    """The rendered pixels of the lower half of one tile (below its index label), minus a
    border of ``inset`` screen pixels (outline and antialiasing)."""
    (x0, y0), (x1, y1) = ax.transData.transform([(left - 0.5, top + height / 2 - 0.5),
                                                 (left + width - 0.5, top + height - 0.5)])
    rows = pixels.shape[0]
    return pixels[int(rows - y0) + inset:int(rows - y1) - inset, int(x0) + inset:int(x1) - inset]


def inside_figure(figure, text) -> bool:
    box = text.get_window_extent(figure.canvas.get_renderer())
    fig_box = figure.bbox
    return (box.x0 >= fig_box.x0 - 0.5 and box.x1 <= fig_box.x1 + 0.5
            and box.y0 >= fig_box.y0 - 0.5 and box.y1 <= fig_box.y1 + 0.5)


@pytest.fixture(scope="module")
def tiny_next_to_normal(keras):
    """A layer whose first two channels are ~1e-35 (Conv2D with 1e-36 weights), next to
    six ordinary channels."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    tiny = keras.layers.Conv2D(2, 3, kernel_initializer=keras.initializers.Constant(1e-36))(inputs)
    normal = keras.layers.Conv2D(6, 3)(inputs)
    mixed = keras.layers.Concatenate(name="mixed")([tiny, normal])
    model = wrap(keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(mixed)))
    return compute_activations(model, model.prepare(random_image()), [("mixed",)])[("mixed",)]


@pytest.fixture(scope="module")
def rgb_model_file(keras, tmp_path_factory):
    """A small RGB classifier saved as .keras: Conv2D on the pixels, then Conv2D,
    SeparableConv2D, DepthwiseConv2D, BatchNormalization and a Dense head."""
    keras.utils.set_random_seed(4)
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(6, 5, activation="relu", name="rgb_conv")(inputs)
    x = layers.Conv2D(4, 3, name="second")(x)
    x = layers.BatchNormalization(name="norm")(x)
    x = layers.SeparableConv2D(5, 3, name="sep")(x)
    x = layers.DepthwiseConv2D(3, name="depthwise")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(2, activation="softmax", name="head")(x)
    path = tmp_path_factory.mktemp("models") / "rgb.keras"
    keras.Model(inputs, outputs, name="rgb").save(path)
    return str(path)


def kernels_of(spec: str, layer: str) -> KernelsResult:
    return run(Kernels(ModelRef(spec), (layer,)), OpContext(Workspace()))


def histogram_counts(figure) -> dict[str, int]:
    """Sum of bar heights of every histogram, by the name its title starts with."""
    return {ax.get_title().split()[0]: int(sum(bar.get_height() for bar in ax.patches))
            for ax in figure.axes if ax.get_xlabel() == "weight value"}


# ----- blank channels ------------------------------------------------------------------------
def test_near_zero_channels_are_blank_relative_to_their_layer(tiny_next_to_normal):
    acts = tiny_next_to_normal
    stats = acts.stats()
    assert 0 < abs(stats[0].max) < 1e-30  # really ~1e-35, not zero
    assert acts.blank_channels() == [0, 1]
    assert "near zero" in stats[0].blank_reason and not stats[2].blank_reason
    # The threshold is relative: the same layer at any scale has the same blank channels.
    scaled = dataclasses.replace(acts, values=acts.values * np.float32(1e-20))
    assert scaled.blank_channels() == [0, 1]
    assert not acts.channel_image(0).any() and acts.channel_image(2).std() > 0


def test_blank_channel_is_drawn_flat_in_the_grid(tiny_next_to_normal):
    acts = tiny_next_to_normal
    figure = activation_grid_figure(acts)
    pixels = rendered(figure)
    ax = figure.axes[0]
    height, width = acts.values.shape[:2]
    blank = tile_pixels(pixels, ax, 0, 0, width, height)
    normal = tile_pixels(pixels, ax, 2 * (width + 1), 0, width, height)
    assert blank.size > 0 and blank.reshape(-1, 3).var(axis=0).sum() == 0
    assert normal.reshape(-1, 3).var(axis=0).sum() > 0
    assert "2 blank" in ax.get_title()


def test_enlarged_blank_channel_is_flat_and_says_why(tiny_next_to_normal):
    figure = channel_figure(tiny_next_to_normal, 1)
    title = figure.axes[0].get_title()
    assert "BLANK" in title and "near zero" in title
    assert np.ptp(figure.axes[0].images[0].get_array()) == 0
    figure = channel_figure(tiny_next_to_normal, 3)
    assert "BLANK" not in figure.axes[0].get_title()
    assert np.ptp(figure.axes[0].images[0].get_array()) > 0


# ----- titles, colorbar, peak, labels, sizes -------------------------------------------------
@pytest.fixture(scope="module")
def demo_cam(demo_model, demo_image):
    batch = demo_model.prepare(demo_image)
    return make_cam(demo_model, None)(batch, 3), top_k(demo_model, batch, 3)


def test_long_gradcam_titles_fit_the_figure(demo_cam, demo_image):
    cam, _ = demo_cam
    names = json.loads(shared("imagenet_class_index.json").read_text())
    longest = sorted((label for _, label in names.values()), key=len)[-3:]
    cam = dataclasses.replace(cam, label=longest[-1] + " with an even longer user label",
                              layer=LONG_PATH, method="Grad-CAM++")
    predictions = [Prediction(i, label, 0.3) for i, label in enumerate(longest)]
    figure = gradcam_figure(demo_image.rgb, cam, predictions=predictions)
    rendered(figure)
    assert inside_figure(figure, figure._suptitle)
    figure.set_size_inches(7, 3.5)  # a narrow window: the title wraps again
    rendered(figure)
    assert inside_figure(figure, figure._suptitle)
    assert LONG_PATH[-1] in figure._suptitle.get_text() and "\ntop:" in figure._suptitle.get_text()


def test_long_layer_path_fits_the_grid_title(demo_model, demo_image):
    path = ("conv2d_7",)
    acts = compute_activations(demo_model, demo_model.prepare(demo_image), [path])[path]
    figure = activation_grid_figure(dataclasses.replace(acts, path=LONG_PATH))
    rendered(figure)
    assert inside_figure(figure, figure.axes[0].title) and LONG_PATH[-1] in figure.axes[0].get_title()


def test_heatmap_colorbar_peak_caption_and_tall_layout(demo_cam, demo_image):
    cam, predictions = demo_cam
    figure = gradcam_figure(demo_image.rgb, cam, predictions=predictions)
    heatmap, overlay = figure.axes[1], figure.axes[2]
    assert len(figure.axes) == 3  # the colorbar is an inset of the heatmap panel
    assert [child.get_ylabel() for child in heatmap.child_axes] == ["importance"]
    assert [text.get_text() for text in overlay.texts] == ["+ peak (most important)"]
    rendered(figure)
    assert inside_figure(figure, heatmap.child_axes[0].yaxis.label)
    tall = gradcam_figure(demo_image.rgb, cam, predictions=predictions, tall=True)
    assert len(tall.axes) == 3 and tall.get_size_inches()[1] > tall.get_size_inches()[0]
    rendered(tall)
    assert inside_figure(tall, tall.axes[2].texts[0])


@pytest.mark.parametrize("peak", [(0, 0), (0, 40), (40, 0), (63, 40), (40, 63), (63, 63)])
@pytest.mark.parametrize(("width", "height", "tall"), [(458, 443, False), (459, 519, True),
                                                       (1000, 720, False)])
def test_a_peak_on_the_image_edge_is_marked_whole(peak, width, height, tall):
    """At the canvas a 1366x768 window gives (a row; two columns when the canvas is tall) and
    a larger one: a peak (row, column) on any edge or corner of the image has its + whole,
    sticking out of the overlay, over no title, caption or other panel."""
    heatmap = np.zeros((64, 64), np.float32)
    heatmap[peak] = 1.0
    cam = CamResult(heatmap=heatmap, class_index=3, label="happy", score=0.9, layer=(),
                    method="Saliency", resolution="input")
    figure = gradcam_figure(np.full((64, 64, 3), 128, np.uint8), cam, tall=tall)
    figure.set_size_inches(width / 100, height / 100)
    figure.set_dpi(100)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    overlay = figure.axes[2]
    (marker,) = overlay.lines
    assert cam.peak_xy(64, 64) == (peak[1], peak[0])
    box = assert_drawn_whole(marker, renderer)
    frame = overlay.get_window_extent(renderer)
    assert not (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1)
    for ax in figure.axes[:2]:  # the other panels and their titles
        assert not box.overlaps(ax.get_window_extent(renderer))
        assert not box.overlaps(ax.title.get_window_extent(renderer))


def test_activation_tiles_carry_their_channel_index(demo_model, demo_image):
    batch = demo_model.prepare(demo_image)
    paths = [("conv2d_1",), ("separable_conv2d_7",)]
    acts = compute_activations(demo_model, batch, paths)
    figure = activation_grid_figure(acts[paths[0]])
    assert [text.get_text() for text in figure.axes[0].texts] == [str(i) for i in range(8)]
    many = acts[paths[1]]  # 8x8, 128 channels
    figure = activation_grid_figure(many, columns=16, start=64, count=32)
    assert [text.get_text() for text in figure.axes[0].texts] == [str(i) for i in range(64, 96)]
    # More tiles than MAX_TILE_LABELS (40): every 2nd row and column carries its index.
    figure = activation_grid_figure(many, columns=16, start=64, count=64)
    expected = [64 + row * 16 + col for row in (0, 2) for col in range(0, 16, 2)]
    assert [text.get_text() for text in figure.axes[0].texts] == [str(i) for i in expected]
    # 64 tiles of 14 px per row are too small for a label each: every 2nd row and column.
    figure = activation_grid_figure(many, columns=64)
    assert [text.get_text() for text in figure.axes[0].texts] == [str(i) for i in range(0, 64, 2)]


def test_filter_tiles_carry_their_filter_index(demo_model):
    result = visualize_filters(demo_model, ("conv2d_1",), [1, 5, 6],
                               FilterSettings(steps=2, size=32))
    figure = filter_grid_figure(result)
    # Filter 5's kernel has decayed to ~1e-34 in training: its tile says it is dead.
    assert [text.get_text() for text in figure.axes[0].texts] == ["1", "5", "6",
                                                                  "dead: never activated"]


def test_small_layer_is_a_compact_block(demo_model, demo_image):
    path = ("conv2d_7",)  # 4x4, 7 channels
    acts = compute_activations(demo_model, demo_model.prepare(demo_image), [path])[path]
    figure = activation_grid_figure(acts)
    width, height = figure.get_size_inches()
    assert width <= 6.5 and height <= 2.5  # not a 10-inch strip
    rendered(figure)
    (x0, _), (x1, _) = figure.axes[0].transData.transform([(-0.5, 0), (3.5, 0)])
    assert x1 - x0 >= 0.5 * figure.dpi  # each 4x4 tile is still at least half an inch


# ----- kernels ------------------------------------------------------------------------------
def test_first_rgb_convolution_kernels_as_colour_images(rgb_model_file):
    result = kernels_of(rgb_model_file, "rgb_conv")
    assert result.first_convolution and result.input_channels == 3
    assert result.kernels[0][1].shape == (5, 5, 3, 6) and result.bias.shape == (6,)
    figure = figure_for(result)
    tiles = [image for ax in figure.axes for image in ax.images]
    assert len(tiles) == 6 and all(isinstance(tile, AxesImage) for tile in tiles)
    assert all(tile.get_array().shape == (5, 5, 3) for tile in tiles)
    for tile in tiles:  # each kernel scaled to its own range
        assert tile.get_array().min() == 0 and tile.get_array().max() == 1
    assert histogram_counts(figure) == {"kernel": 5 * 5 * 3 * 6, "bias": 6}
    rendered(figure)
    assert inside_figure(figure, figure._suptitle)


def test_deeper_convolutions_get_histograms(rgb_model_file):
    second = kernels_of(rgb_model_file, "second")
    assert not second.first_convolution and second.image_kernel is None
    figure = figure_for(second)
    assert not any(ax.images for ax in figure.axes)
    assert histogram_counts(figure) == {"kernel": 3 * 3 * 6 * 4, "bias": 4}
    separable = figure_for(kernels_of(rgb_model_file, "sep"))
    assert histogram_counts(separable) == {"depthwise_kernel": 3 * 3 * 4, "pointwise_kernel": 4 * 5,
                                           "bias": 5}
    depthwise = figure_for(kernels_of(rgb_model_file, "depthwise"))
    assert histogram_counts(depthwise) == {"kernel": 3 * 3 * 5, "bias": 5}


def test_grey_first_convolution_and_bgr_order(demo_model):
    result = kernels_of("demo", "conv2d_1")
    assert result.bias is None and result.image_kernel.shape == (3, 3, 1, 8)
    figure = figure_for(result)
    assert sum(len(ax.images) for ax in figure.axes) == 8
    assert histogram_counts(figure) == {"kernel": 72}
    kernel = result.kernels[0][1]
    colour = np.concatenate([kernel, kernel * 2, kernel * 3], axis=2)
    assert np.array_equal(kernel_tiles(colour, bgr=True), kernel_tiles(colour)[..., ::-1])


@pytest.mark.parametrize("layer,message", [
    ("norm", "is a BatchNormalization layer"), ("head", "is a Dense layer"),
    ("pool", "has no weights"), ("nope", "No layer named 'nope'"),
])
def test_layers_without_kernels_are_refused_clearly(rgb_model_file, layer, message):
    with pytest.raises(ConvVizError, match=message):
        kernels_of(rgb_model_file, layer)


def test_cli_kernels_json_and_figure(rgb_model_file, tmp_path, capsys):
    out = tmp_path / "kernels.png"
    assert cli(["kernels", rgb_model_file, "--layer", "rgb_conv", "--json", "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["layer"], data["class"], data["shape"]) == ("rgb_conv", "Conv2D", [5, 5, 3, 6])
    assert [(w["name"], w["count"]) for w in data["weights"]] == [("kernel", 450), ("bias", 6)]
    assert data["weights"][0]["min"] <= data["weights"][0]["mean"] <= data["weights"][0]["max"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli(["kernels", "demo", "--layer", "separable_conv2d_1"]) == 0
    text = capsys.readouterr().out
    assert "depthwise_kernel" in text and "pointwise_kernel" in text
    assert cli(["kernels", "demo", "--layer", "activation_1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("convviz: error: activation_1") and "\n" not in err


# ----- the Weights tab ----------------------------------------------------------------------
def test_weights_tab_follows_the_selected_layer(qtbot, demo_window):
    from PySide6.QtWidgets import QLabel

    window = demo_window
    errors_before = len(window.errors_shown)
    tab = window.weights_tab  # the tab registry makes it stale when the layer changes
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("conv2d_1",))
    qtbot.waitUntil(lambda: tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    assert sum(len(ax.images) for ax in tab.figure.axes) == 8
    assert "conv2d_1" in tab.info.text() and "72 weights" in tab.info.text()
    window.tree.select_path(("activation_1",))
    qtbot.waitUntil(lambda: tab.figure is None, timeout=WINDOW_TIMEOUT_MS)
    shown = [label.text() for label in tab.findChildren(QLabel) if label.isVisible()]
    assert any("has no weights" in text for text in shown)
    window.tree.select_path(("separable_conv2d_1",))
    qtbot.waitUntil(lambda: tab.figure is not None, timeout=WINDOW_TIMEOUT_MS)
    assert set(histogram_counts(tab.figure)) == {"depthwise_kernel", "pointwise_kernel"}
    wait_idle(qtbot, window)
    assert len(window.errors_shown) == errors_before  # hints, never an error dialog


# ----- the figure registry ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ToyProfile:
    """A result type that a new operation might add: one row of values."""

    values: np.ndarray


@draws(ToyProfile, cmap="magma")
def toy_profile_view(result: ToyProfile, style: FigureStyle, cmap: str) -> Figure:
    figure = Figure(figsize=(3, 1))
    figure.add_subplot().imshow(result.values[None, :], cmap=cmap, vmin=0, vmax=1)
    return figure


def test_a_new_result_type_is_drawn_and_exported_by_one_registered_function(tmp_path):
    """One ``@draws`` function makes a result drawable by figure_for and exportable by the
    window's and CLI's export operation; its default colour map gives way to the style's."""
    toy = ToyProfile(np.linspace(0.0, 1.0, 16))
    assert registered_views()[ToyProfile].view is toy_profile_view
    assert figure_for(toy).axes[0].images[0].get_cmap().name == "magma"
    assert figure_for(toy, FigureStyle(cmap="gray")).axes[0].images[0].get_cmap().name == "gray"
    saved = run(ExportFigure(toy, str(tmp_path / "toy.png"), dpi=50), OpContext(Workspace()))
    with Image.open(saved.paths[0]) as image:
        assert image.size == (150, 50)
        row = np.asarray(image.convert("RGB"))[25]
    assert len({tuple(pixel) for pixel in row}) > 8  # the 16 values drawn in different colours
    with pytest.raises(ValueError, match="ToyProfile already has a figure"):
        draws(ToyProfile)(toy_profile_view)
    with pytest.raises(ConvVizError, match="This view has no figure to draw"):
        figure_for(toy.values)


def test_overview_tiles_are_coloured_by_the_figures_colour_maps():
    """The window's overview tiles: matplotlib's colours for every level, gaps transparent."""
    from convviz_gui.ui.overview_view import tile_image

    levels = np.arange(256, dtype=np.float32).reshape(16, 16)
    levels[3, 4] = np.nan
    for cmap in ("viridis", "magma", "gray"):
        image = tile_image(levels, cmap)
        pixels = np.frombuffer(image.constBits(), np.uint8).reshape(16, image.bytesPerLine())
        expected = colormaps[cmap](levels / 255.0, bytes=True)
        assert np.array_equal(pixels[:, :64].reshape(16, 16, 4), expected)
        assert np.array_equal(colorize_rgba(levels / 255.0, cmap), expected)
        assert tuple(expected[3, 4]) == (0, 0, 0, 0)
