"""Shared fixtures: real models built in the test, the bundled demo, shared data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import convviz_gui.engine  # noqa: E402,F401  (TensorFlow environment first)
from convviz_gui.engine.runtime import load_keras  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FACE_BOX = (130, 30, 330, 230)  # x0, y0, x1, y1 of the face in astronaut.png
QT_FIXTURES = {"qtbot", "qapp", "demo_window"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``gui`` every test that needs Qt widgets: all of tests/ui, and any test using a Qt
    fixture (``-m "not gui"`` runs the rest, without a display)."""
    for item in items:
        in_ui = item.path.parent.name == "ui"
        if in_ui or QT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


def shared(*parts: str) -> Path:
    """A file in ../shared/data (tests only)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    return path


@pytest.fixture(scope="session")
def keras():
    return load_keras()


@pytest.fixture(scope="session")
def demo_model():
    from convviz_gui.engine.models import load_demo

    return load_demo()


@pytest.fixture(scope="session")
def demo_image():
    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.models import demo_image_path

    return load_image(demo_image_path())


def wrap(model, **kwargs):
    """A LoadedModel around an in-memory Keras model."""
    from convviz_gui.engine.labels import resolve_labels
    from convviz_gui.engine.models import LoadedModel

    loaded = LoadedModel(keras_model=model, name=model.name, source="test",
                         auto_preset=kwargs.pop("preset", "unit"), labels=(), **kwargs)
    loaded.labels = resolve_labels(None, loaded.class_count)
    return loaded


@pytest.fixture(scope="session")
def cats_dogs(keras):
    """The reference cats-vs-dogs convnet (180x180x3, nested augmentation Sequential)."""
    layers = keras.layers
    augmentation = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.2)],
        name="data_augmentation",
    )
    inputs = keras.Input(shape=(180, 180, 3))
    x = augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return wrap(keras.Model(inputs, outputs, name="cats_vs_dogs"), preset="none")


@pytest.fixture(scope="session")
def transfer_model(keras):
    """MobileNetV2 base (random weights) inside a Sequential with a 3-class head."""
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    model = keras.Sequential(
        [keras.Input((96, 96, 3)), base, keras.layers.GlobalAveragePooling2D(),
         keras.layers.Dense(3, activation="softmax")],
        name="transfer",
    )
    return wrap(model, preset="symmetric")


@pytest.fixture(scope="session")
def segmentation_model(keras):
    """Chapter-9 style segmentation: strided Conv2D down, Conv2DTranspose up, pixel softmax."""
    keras.utils.set_random_seed(1)
    layers = keras.layers
    inputs = keras.Input(shape=(64, 64, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(16, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(32, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(16, 3, strides=2, activation="relu", padding="same")(x)
    outputs = layers.Conv2D(3, 3, activation="softmax", padding="same")(x)
    return wrap(keras.Model(inputs, outputs, name="segmenter"), preset="none")


@pytest.fixture(scope="session")
def squares():
    """The red/blue squares model trained in the test session (``tests/squares.py``)."""
    from .squares import loaded_squares

    return loaded_squares()


@pytest.fixture
def photo():
    from convviz_gui.engine.images import load_image

    return load_image(shared("images", "chelsea.png"))


def random_image(height=120, width=160, seed=0):
    from convviz_gui.engine.images import LoadedImage

    rng = np.random.default_rng(seed)
    return LoadedImage(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "noise")


WINDOW_TIMEOUT_MS = 60_000
# The window's first size on a 1366x768 screen (90 % of it, ui/main_window._default_geometry):
# what a user of a 1366x768 laptop sees, and what the real window shows there (try-window).
LAPTOP_WINDOW = (1229, 691)


@pytest.fixture(scope="module")
def demo_window(qapp, tmp_path_factory):
    """The real main window (temporary settings) with the demo model and image opened."""
    from PySide6.QtCore import QSettings

    from convviz_gui.engine.models import demo_image_path
    from convviz_gui.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path_factory.mktemp("settings") / "s.ini"),
                         QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.show()
    win.files.open_model("demo")
    win.files.open_image(str(demo_image_path()))
    yield win
    win.close()


def wait_idle(qtbot, window) -> None:
    """Wait until no background job is queued or running, then let the GUI catch up."""
    from PySide6.QtWidgets import QApplication

    from convviz_gui.ui.figure_view import draws_in_flight

    def settled() -> bool:
        # A job's end hides its progress row: the layout and the canvas's resize (and the
        # draw it queues) are posted events, handled here before the check.
        QApplication.processEvents()
        return not window.runner.busy and not draws_in_flight()

    qtbot.waitUntil(settled, timeout=WINDOW_TIMEOUT_MS)
    QApplication.processEvents()


def executed_ops(run) -> list[str]:
    """The TensorFlow ops that ran inside compiled functions while ``run()`` ran (for checking
    that no kernel-gradient op runs: oneDNN issue 6035)."""
    from tensorflow.python.eager import context

    context.context().enable_run_metadata()
    try:
        context.context().export_run_metadata()  # drop what earlier tests' functions left there
        run()
        metadata = context.context().export_run_metadata()
    finally:
        context.context().disable_run_metadata()
    return [node.op for graph in metadata.function_graphs
            for partition in graph.partition_graphs for node in partition.node]
