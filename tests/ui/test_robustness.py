"""Bad and unusual inputs through the engine, the CLI and the window: every one ends in a
clear message, and the window keeps its model, image and results."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from convviz_gui.cli import main as cli
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import load_image
from convviz_gui.engine.models import UnsafeModelError, demo_image_path, open_model

from ..conftest import wait_idle
from ..robust_inputs import BAD_IMAGES, BAD_MODELS, UNUSUAL_IMAGES

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("bad inputs")


def _one_error_line(capsys, expected: str) -> None:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("convviz: error: ") and expected in err


# ----- models -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", BAD_MODELS, ids=[case.name for case in BAD_MODELS])
def test_bad_model_engine_and_cli(case, folder, capsys):
    path = case.make(folder)
    with pytest.raises(ConvVizError, match=None) as caught:
        open_model(str(path))
    assert case.expected in str(caught.value) and path.name in str(caught.value)
    assert cli(["inspect", str(path)]) == 2
    _one_error_line(capsys, case.expected)


def test_unreadable_model_file(folder, capsys, monkeypatch):
    path = folder / "locked.keras"
    path.write_bytes(b"PK\x03\x04")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads everything: make the permission check fail as it would
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(path)
                            else real_access(p, mode))
    with pytest.raises(ConvVizError, match="permission to read locked.keras"):
        open_model(str(path))
    assert cli(["inspect", str(path)]) == 2
    _one_error_line(capsys, "permission")


def test_lambda_models_need_trust(folder, capsys):
    """Keras safe mode stays on for .keras and legacy .h5 alike; trusting runs the code."""
    for case in BAD_MODELS:
        if case.name.startswith("Lambda"):
            path = case.make(folder)
            with pytest.raises(UnsafeModelError, match=path.name):
                open_model(str(path))
            trusted = open_model(str(path), trust_model_code=True)
            assert trusted.layer_tree[1].class_name == "Lambda"
            assert cli(["inspect", str(path), "--trust-model-code", "--json"]) == 0
            capsys.readouterr()


def test_model_without_spatial_layer(keras, tmp_path, capsys):
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    path = tmp_path / "dense_only.keras"
    keras.Model(inputs, outputs).save(path)
    loaded = open_model(str(path))
    from convviz_gui.engine.cam import make_cam

    with pytest.raises(ConvVizError, match="no layer with spatial output"):
        make_cam(loaded)
    image = str(demo_image_path())
    assert cli(["gradcam", str(path), image]) == 2
    _one_error_line(capsys, "no layer with spatial output")
    flatten = loaded.layer_tree[1].name
    assert cli(["activations", str(path), image, "--layer", flatten]) == 2
    _one_error_line(capsys, "not a spatial feature map")


def test_dynamic_input_size_is_chosen_and_told(keras, tmp_path, capsys):
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "any_size.keras"
    keras.Model(inputs, outputs).save(path)
    loaded = open_model(str(path))
    assert loaded.input_size() == (224, 224) and "224x224" in " ".join(loaded.notes)
    from convviz_gui.engine.cam import make_cam

    batch = loaded.prepare(load_image(demo_image_path()))
    assert batch.shape == (1, 224, 224, 3)
    assert make_cam(loaded)(batch, 0).heatmap.shape == (222, 222)
    assert cli(["inspect", str(path)]) == 0 and "224x224" in capsys.readouterr().out


def test_single_score_model_gets_a_cam_of_its_score(keras, tmp_path):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "regressor.keras"
    keras.Model(inputs, outputs).save(path)
    loaded = open_model(str(path))
    assert loaded.output_kind == "score" and loaded.class_count == 1
    from convviz_gui.engine.cam import make_cam

    result = make_cam(loaded)(loaded.prepare(load_image(demo_image_path())), 0)
    assert result.heatmap.shape == (30, 30) and np.isfinite(result.heatmap).all()
    assert 0.0 < result.score < 1.0


# ----- images -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", BAD_IMAGES, ids=[case.name for case in BAD_IMAGES])
def test_bad_image_engine_and_cli(case, folder, capsys):
    path = case.make(folder)
    with pytest.raises(ConvVizError) as caught:
        load_image(path)
    assert case.expected in str(caught.value) and path.name in str(caught.value)
    assert cli(["predict", "demo", str(path)]) == 2
    _one_error_line(capsys, case.expected)


@pytest.mark.parametrize("name,make,shape", UNUSUAL_IMAGES, ids=[case[0] for case in UNUSUAL_IMAGES])
def test_unusual_image_is_read_and_fed(name, make, shape, folder, demo_model, capsys):
    path = make(folder)
    image = load_image(path)
    from convviz_gui.engine.images import DISPLAY_MAX_SIDE

    assert image.size == (shape[1], shape[0]) and image.rgb.dtype == np.uint8
    assert image.rgb.shape[2] == 3 and max(image.rgb.shape[:2]) <= DISPLAY_MAX_SIDE
    batch = demo_model.prepare(image)  # RGB/gray/odd sizes all become (1, 64, 64, 1)
    assert batch.shape == (1, 64, 64, 1) and np.isfinite(batch).all()
    assert cli(["predict", "demo", str(path), "--json"]) == 0
    assert '"predictions"' in capsys.readouterr().out


def test_animated_gif_first_frame_and_upright_exif(tmp_path):
    from ..robust_inputs import _animated_gif, _exif_rotated

    assert tuple(load_image(_animated_gif(tmp_path)).rgb[0, 0]) == (255, 0, 0)
    rotated = load_image(_exif_rotated(tmp_path))
    assert rotated.size == (20, 60)  # 60x20 stored, shown upright as 20 wide, 60 tall


def test_grayscale_image_for_rgb_model(cats_dogs):
    gray = load_image(demo_image_path())
    gray_rgb = np.repeat(gray.rgb.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    from convviz_gui.engine.images import LoadedImage

    batch = cats_dogs.prepare(LoadedImage(gray_rgb, "gray"))
    assert batch.shape == (1, 180, 180, 3)
    assert np.allclose(batch[..., 0], batch[..., 1]) and np.allclose(batch[..., 1], batch[..., 2])


def test_image_loader_fuzz():
    """Random bytes and mutated real images: only clean errors or valid arrays, fast."""
    import io

    from PIL import Image

    from convviz_gui.engine.images import decode_image_bytes

    from ..conftest import shared

    rng = np.random.default_rng(2026)
    photo = Image.open(shared("images", "coffee.png")).convert("RGB").resize((64, 48))
    seeds = []
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"):
        buffer = io.BytesIO()
        photo.save(buffer, format=fmt)
        seeds.append(buffer.getvalue())
    outcomes = {"decoded": 0, "refused": 0}
    started = time.perf_counter()
    for trial in range(600):
        if trial % 5 == 0:
            data = rng.bytes(int(rng.integers(0, 4000)))
        else:
            data = bytearray(seeds[trial % len(seeds)])
            for _ in range(int(rng.integers(1, 12))):
                position = int(rng.integers(0, len(data)))
                data[position] = int(rng.integers(0, 256))
            if trial % 7 == 0:
                data = data[: int(rng.integers(1, len(data)))]
            data = bytes(data)
        try:
            rgb = decode_image_bytes(data, "fuzz")
        except ConvVizError as exc:
            assert str(exc).startswith("fuzz ") and "\n" not in str(exc)
            outcomes["refused"] += 1
        else:
            assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8 and rgb.size
            outcomes["decoded"] += 1
    assert outcomes["decoded"] > 50 and outcomes["refused"] > 50
    assert time.perf_counter() - started < 120


# ----- numbers ------------------------------------------------------------------------------
def test_all_zero_cam_stays_zero_and_overlay_is_the_image(keras):
    from convviz_gui.engine.cam import make_cam
    from convviz_gui.engine.images import LoadedImage
    from convviz_gui.figures.colors import overlay

    from ..conftest import wrap

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv",
                            kernel_initializer="zeros", bias_initializer="zeros")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    loaded = wrap(keras.Model(inputs, outputs, name="dead"))
    image = LoadedImage(np.full((20, 30, 3), 90, np.uint8), "constant")
    result = make_cam(loaded, ("conv",))(loaded.prepare(image), 1)
    assert not result.heatmap.any() and np.isfinite(result.heatmap).all()
    blended = overlay(image.rgb, result.upsampled(30, 20))
    assert np.array_equal(blended, image.rgb)


def test_constant_image_and_blank_channels(demo_model):
    from convviz_gui.engine.activations import compute_activations
    from convviz_gui.engine.images import LoadedImage

    batch = demo_model.prepare(LoadedImage(np.zeros((64, 64, 3), np.uint8), "black"))
    acts = compute_activations(demo_model, batch, [("conv2d_1",)])[("conv2d_1",)]
    grid = acts.grid()
    assert np.isfinite(grid[~np.isnan(grid)]).all()
    blank = acts.blank_channels()
    assert blank  # a constant input gives constant channels: shown as blank, not as noise
    assert (acts.channel_image(blank[0]) == acts.channel_image(blank[0])[0, 0]).all()


def test_nan_output_is_reported(keras):
    from convviz_gui.engine.cam import make_cam, predict
    from convviz_gui.engine.images import LoadedImage

    from ..conftest import wrap

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.Lambda(lambda t: t * np.float32("nan"))(keras.layers.Flatten()(x))
    loaded = wrap(keras.Model(inputs, keras.layers.Dense(2)(x), name="nan_model"))
    batch = loaded.prepare(LoadedImage(np.zeros((8, 8, 3), np.uint8), "x"))
    with pytest.raises(ConvVizError, match="NaN or infinite"):
        predict(loaded, batch)
    with pytest.raises(ConvVizError, match="NaN or infinite"):
        make_cam(loaded, ("conv",))(batch, 0)


# ----- exports ------------------------------------------------------------------------------
def test_export_to_missing_or_read_only_folder(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from convviz_gui.files import save_figure

    figure = Figure()
    figure.add_subplot().plot([0, 1])
    with pytest.raises(ConvVizError, match="does not exist"):
        save_figure(figure, tmp_path / "no" / "such" / "dir" / "f.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root ignores folder permissions: fail the write as the OS would
        import tempfile

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ConvVizError, match="Cannot write into"):
        save_figure(figure, locked / "f.png")
    assert list(locked.iterdir()) == []  # nothing half-written


def test_failed_export_leaves_the_old_file_intact(tmp_path):
    from matplotlib.figure import Figure

    from convviz_gui.files import save_figure

    target = tmp_path / "keep.png"
    target.write_bytes(b"previous export")

    class Exploding(Figure):
        def savefig(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    with pytest.raises(ConvVizError, match="No space left"):
        save_figure(Exploding(), target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]  # no temp file left


def test_export_names_from_a_model_stay_inside_the_folder(tmp_path):
    from convviz_gui.files import safe_file_stem, unique_path

    for hostile in ("../../etc/passwd", "/abs/path", "..", "a\\..\\b", "", "con:nul"):
        stem = safe_file_stem(hostile)
        path = unique_path(tmp_path, stem, ".png")
        assert path.parent == tmp_path and "/" not in stem and "\\" not in stem and stem
        assert not stem.startswith(".")
    (tmp_path / "grid.png").write_bytes(b"x")
    assert unique_path(tmp_path, "grid", ".png").name == "grid_2.png"
    assert safe_file_stem("demo (mini-Xception FER-2013)_conv2d_7_gradcam") == \
        "demo_mini-Xception_FER-2013_conv2d_7_gradcam"  # one separator, not "__"


# ----- the window ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


def _expect_error(qtbot, window, action, expected: str) -> None:
    before = len(window.errors_shown)
    action()
    qtbot.waitUntil(lambda: len(window.errors_shown) > before, timeout=TIMEOUT)
    assert expected in window.errors_shown[-1]
    window.last_error_dialog.close()
    wait_idle(qtbot, window)


def test_window_survives_every_bad_file(qtbot, window, tmp_path, monkeypatch):
    """Each bad model and image file: one message; the demo model and image stay."""
    asked = []

    def refuse(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "warning", refuse)
    wait_idle(qtbot, window)
    model, image = window.session.model, window.session.image
    tried = 0
    for case in BAD_MODELS:
        path = case.make(tmp_path)
        if case.name.startswith("Lambda"):
            window.files.open_files([str(path)])
            qtbot.waitUntil(lambda name=path.name: bool(asked) and name in asked[-1], timeout=TIMEOUT)
            wait_idle(qtbot, window)
        else:
            _expect_error(qtbot, window, lambda p=str(path): window.files.open_model(p), case.expected)
        tried += 1
    for case in BAD_IMAGES:
        path = case.make(tmp_path)
        _expect_error(qtbot, window, lambda p=str(path): window.files.open_image(p), case.expected)
        tried += 1
    assert tried == len(BAD_MODELS) + len(BAD_IMAGES) >= 27
    assert window.session.model is model and window.session.image is image
    assert window.activations_tab.figure is not None  # the results stay on screen


def test_window_second_job_and_model_switch_during_filters(qtbot, window):
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("separable_conv2d_5",))
    tab.range_edit.setText("0-63")
    tab.steps.setValue(300)
    tab.run()
    first = window.runner.running("filters")
    qtbot.waitUntil(lambda: tab.job.progress.value() > 0, timeout=TIMEOUT)
    tab.range_edit.setText("0-3")
    tab.steps.setValue(30)  # the default: the replacing job need not run 300 steps to the end
    tab.run()  # a second run replaces the first, which stops at its next step
    assert first.cancelled and window.runner.running("filters") is not first
    window.files.open_model("demo")  # switching model while the job runs
    wait_idle(qtbot, window)
    assert window.session.model.source == "demo"
    assert not tab.job.cancel_button.isEnabled() and tab.job.run_button.isEnabled()
    tab.steps.setValue(30)


def test_window_rejects_a_filter_index_past_the_channels(qtbot, window):
    tab = window.filters_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("conv2d_1",))  # 8 filters
    tab.range_edit.setText("0-1")
    tab.steps.setValue(2)
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    figure, errors = tab.figure, len(window.errors_shown)
    assert figure is not None
    for text, expected in (("0-99", "filter 99 does not exist"), ("zero to ten", "is not a filter range")):
        tab.range_edit.setText(text)
        qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
        # A typo is said beside the controls; no dialog, and the patterns stay on screen.
        assert expected in tab.range_note.text() and expected in window.statusBar().currentMessage()
        assert len(window.errors_shown) == errors and tab.figure is figure
    tab.steps.setValue(30)


def test_window_export_errors_keep_the_figure(qtbot, window, tmp_path):
    window.tabs.setCurrentWidget(window.activations_tab)
    qtbot.waitUntil(lambda: window.activations_tab.figure is not None, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    figure = window.activations_tab.figure
    _expect_error(qtbot, window, lambda: window.exports.export_figure(str(tmp_path / "missing" / "a.png")),
                  "does not exist")
    _expect_error(qtbot, window, lambda: window.exports.export_figure(str(tmp_path / "a.bmp")),
                  "not supported")
    assert window.activations_tab.figure is figure and list(tmp_path.iterdir()) == []


def test_window_pages_a_2048_channel_layer(qtbot, window, tmp_path, keras):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(2048, 1, activation="relu", name="wide")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "wide.keras"
    keras.Model(inputs, outputs).save(path)
    window.files.open_model(str(path))
    qtbot.waitUntil(lambda: window.session.model.name == "wide", timeout=TIMEOUT)
    tab = window.activations_tab
    window.tabs.setCurrentWidget(tab)
    window.tree.select_path(("wide",))
    qtbot.waitUntil(lambda: tab.figure is not None and "wide" in tab.figure.axes[0].get_title(),
                    timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert tab.page.maximum() == 8 and "2048 channels" in tab.info.text()
    tab.page.setValue(8)
    qtbot.waitUntil(lambda: "1792" in tab.figure.axes[0].get_title(), timeout=TIMEOUT)
    window.files.open_model("demo")
    wait_idle(qtbot, window)
