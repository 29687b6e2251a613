"""Grad-CAM correctness on a model whose answer is known: where the bright square is."""

import numpy as np
import pytest

from convviz_gui.engine.cam import make_cam
from convviz_gui.engine.images import LoadedImage
from convviz_gui.figures.colors import overlay

SIZE, SQUARE = 40, 8


def _dataset(count, rng):
    images = rng.uniform(0, 60, (count, SIZE, SIZE, 1)).astype(np.float32)
    labels = np.zeros(count, dtype=np.int64)
    boxes = []
    for i in range(count):
        if i % 2:
            y, x = rng.integers(0, SIZE - SQUARE, 2)
            images[i, y : y + SQUARE, x : x + SQUARE, 0] = 255
            labels[i] = 1
            boxes.append((x, y))
        else:
            boxes.append(None)
    return images, labels, boxes


@pytest.fixture(scope="module")
def square_model(keras):
    from ..conftest import wrap

    keras.utils.set_random_seed(3)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 1)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv"),
        layers.GlobalMaxPooling2D(),
        layers.Dense(2, activation="softmax"),
    ])
    images, labels, _ = _dataset(1200, np.random.default_rng(0))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, epochs=6, batch_size=32, verbose=0)
    return wrap(model, preset="none")


def test_cam_peak_falls_inside_the_square(square_model):
    images, labels, boxes = _dataset(60, np.random.default_rng(99))
    cam = make_cam(square_model)
    assert cam.layer == ("last_conv",)
    hits = total = 0
    for image, label, box in zip(images, labels, boxes):
        if not label:
            continue
        result = cam(image[None], 1)
        assert np.isfinite(result.heatmap).all()
        x, y = result.peak_xy(SIZE, SIZE)
        total += 1
        hits += box[0] <= x < box[0] + SQUARE and box[1] <= y < box[1] + SQUARE
    assert total == 30
    assert hits / total >= 0.9, f"CAM peak inside the square on {hits}/{total} images"


def test_zero_gradient_class_gives_zero_map_and_unchanged_overlay(keras):
    from ..conftest import wrap

    inputs = keras.Input((16, 16, 3))
    features = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(2, kernel_initializer="zeros")(pooled)
    model = wrap(keras.Model(inputs, outputs))
    image = LoadedImage(np.full((30, 20, 3), 90, np.uint8), "flat")
    result = make_cam(model)(model.prepare(image), 1)
    assert not result.heatmap.any() and not np.isnan(result.heatmap).any()
    up = result.upsampled(20, 30)
    assert np.array_equal(overlay(image.rgb, up), image.rgb)
