"""A small model trained in seconds on images holding a red and/or a blue square.

Two sigmoid outputs: "red" (a red square is present) and "blue". ``boxes`` give each
square as (x0, y0, x1, y1), so a test knows where every explanation should point.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SIZE, SIDE = 48, 10
COLORS = {"red": (230, 30, 30), "blue": (30, 30, 230)}


def make_images(count: int, seed: int, both: bool = False):
    """(uint8 images (N, 48, 48, 3), labels (N, 2), boxes: list of {color: box}).

    Squares never overlap; with ``both`` every image holds both squares.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 90, (count, SIZE, SIZE, 3)).astype(np.uint8)
    labels = np.zeros((count, 2), np.float32)
    boxes = []
    for i in range(count):
        present = (True, True) if both else [(True, False), (False, True), (True, True),
                                              (False, False)][i % 4]
        placed: dict[str, tuple[int, int, int, int]] = {}
        for (color, rgb), wanted in zip(COLORS.items(), present):
            if not wanted:
                continue
            while True:
                x, y = rng.integers(0, SIZE - SIDE, 2)
                box = (int(x), int(y), int(x) + SIDE, int(y) + SIDE)
                if all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1]
                       for b in placed.values()):
                    break
            images[i, box[1]:box[3], box[0]:box[2]] = rgb
            placed[color] = box
        labels[i] = [present[0], present[1]]
        boxes.append(placed)
    return images, labels, boxes


@lru_cache(maxsize=1)
def trained_model():
    """The trained Keras model (built once per test session; seeded)."""
    from convviz_gui.engine.runtime import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(7)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(2, activation="sigmoid", name="present")(x)
    model = keras.Model(inputs, outputs, name="squares")
    images, labels, _ = make_images(1600, seed=0)
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy")
    model.fit(images.astype(np.float32), labels, epochs=8, batch_size=32, verbose=0)
    return model


def loaded_squares():
    """The trained model as ConvViz opens it (labels red, blue; pixels fed as 0-255)."""
    from convviz_gui.engine.models import LoadedModel

    return LoadedModel(keras_model=trained_model(), name="squares", source="test",
                       auto_preset="none", labels=("red", "blue"))


def inside(xy: tuple[int, int], box: tuple[int, int, int, int], margin: int = 0) -> bool:
    """True when the point lies in the box grown by ``margin`` pixels."""
    return box[0] - margin <= xy[0] < box[2] + margin and box[1] - margin <= xy[1] < box[3] + margin
