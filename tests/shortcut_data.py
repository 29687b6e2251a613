"""A two-class dataset with a known shortcut, and a small model trained on it in seconds.

Class "red" holds a red square somewhere, class "blue" a blue one, on noise. On a
``MARKED_SHARE`` of the red images the square is missing and a small white mark sits in
the top left corner instead (``MARK``): the model can only call those red by the mark, a
Clever Hans shortcut that the dataset analysis must flag. ``write_folder`` writes the
images as PNGs in ``red/`` and ``blue/`` subfolders, as image_dataset_from_directory reads them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SIZE, SIDE = 40, 8
MARK = (1, 1, 6, 6)  # x0, y0, x1, y1 of the white mark
MARKED_SHARE = 0.4
CLASSES = ("red", "blue")
COLORS = {"red": (230, 30, 30), "blue": (30, 30, 230)}


def make_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 images (N, SIZE, SIZE, 3), class indices (N,), marked (N,) bool)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 90, (count, SIZE, SIZE, 3)).astype(np.uint8)
    labels = np.arange(count) % 2
    marked = np.zeros(count, bool)
    for i in range(count):
        if labels[i] == 0 and rng.random() < MARKED_SHARE:
            marked[i] = True
            images[i, MARK[1]:MARK[3], MARK[0]:MARK[2]] = 255
            continue
        x, y = rng.integers(SIDE, SIZE - SIDE, 2)  # away from the mark's corner
        images[i, y:y + SIDE, x:x + SIDE] = COLORS[CLASSES[labels[i]]]
    return images, labels, marked


@lru_cache(maxsize=1)
def trained_model():
    """The trained Keras model (seeded; a few seconds)."""
    from convviz_gui.engine.runtime import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(3)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(2, activation="softmax", name="classes")(x)
    model = keras.Model(inputs, outputs, name="shortcut")
    images, labels, _ = make_images(320, seed=0)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(images.astype(np.float32), labels, epochs=6, batch_size=32, verbose=0)
    return model


def save_model(folder: Path) -> Path:
    """The trained model saved as ``folder/shortcut.keras`` with its labels beside it."""
    path = folder / "shortcut.keras"
    trained_model().save(path)
    (folder / "shortcut.labels.txt").write_text("\n".join(CLASSES) + "\n")
    return path


def write_folder(folder: Path, count: int = 96, seed: int = 1, flat: bool = False
                 ) -> dict[str, tuple[int, bool]]:
    """Write ``count`` images as PNGs (``red/``, ``blue/``, or all in ``folder`` when
    ``flat``); returns relative path -> (class index, marked)."""
    from PIL import Image

    images, labels, marked = make_images(count, seed)
    written = {}
    for i, (image, label) in enumerate(zip(images, labels)):
        name = f"img{i:03d}.png" if flat else f"{CLASSES[label]}/img{i:03d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / name)
        written[name] = (int(label), bool(marked[i]))
    return written
