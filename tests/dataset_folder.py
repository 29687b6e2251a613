"""A labelled folder of small generated images and a model trained on them in seconds,
for the dataset analysis (issue 24): three classes by the colour of a square (red,
green, blue) on a noisy background; a few images sit in the wrong class's subfolder, so
the model makes confident mistakes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("blue", "green", "red")  # the subfolders' sorted order = the model's classes
COLORS = {"red": (220, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 220)}
SIZE, SIDE = 32, 12


def square_images(colors: list[str], seed: int) -> np.ndarray:
    """uint8 images (N, 32, 32, 3): noise with one square of each given colour."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 80, (len(colors), SIZE, SIZE, 3)).astype(np.uint8)
    for image, color in zip(images, colors):
        x, y = rng.integers(0, SIZE - SIDE, 2)
        image[y:y + SIDE, x:x + SIDE] = COLORS[color]
    return images


def write_folder(root: Path, per_class: int, wrong: int = 0, seed: int = 0) -> Path:
    """``root/<class>/NNN.png``, ``per_class`` images each; the last ``wrong`` images of each
    subfolder hold the next class's colour (confident mistakes)."""
    for number, name in enumerate(CLASSES):
        colors = [name] * (per_class - wrong) + [CLASSES[(number + 1) % len(CLASSES)]] * wrong
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index, pixels in enumerate(square_images(colors, seed + number)):
            Image.fromarray(pixels).save(folder / f"{index:03d}.png")
    return root


def train_model(path: Path) -> Path:
    """A small convnet trained on the squares (a few seconds), saved to ``path`` with its
    labels beside it (``<model>.labels.txt``)."""
    from convviz_gui.engine.runtime import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(3)
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(len(CLASSES), activation="softmax", name="colour")(x)
    model = keras.Model(inputs, outputs, name="squares3")
    names = [CLASSES[index % len(CLASSES)] for index in range(360)]
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(square_images(names, seed=100).astype(np.float32),
              np.array([CLASSES.index(name) for name in names]), epochs=5, batch_size=32, verbose=0)
    model.save(path)
    path.with_name(path.with_suffix("").name + ".labels.txt").write_text("\n".join(CLASSES) + "\n")
    return path
