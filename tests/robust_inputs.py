"""The catalogue of bad and unusual inputs that the robustness tests push through the
engine, the CLI and the window. Each maker writes one file into a folder and returns
its path; the expected text is what the user must read in the error message."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import shared


@dataclass(frozen=True)
class BadInput:
    """A file that must be refused with a message containing ``expected``."""

    name: str
    make: Callable[[Path], Path]
    expected: str


def _bytes(filename: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / filename
        path.write_bytes(data)
        return path

    return make


def _keras():
    from convviz_gui.engine.runtime import load_keras

    return load_keras()


def _tiny_cnn(keras, shape=(16, 16, 3), outputs=3):
    inputs = keras.Input(shape)
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation="softmax")(x))


def _saved(filename: str, build: Callable) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / filename
        build(_keras()).save(path)
        return path

    return make


def _truncated(filename: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        whole = folder / f"whole_{filename}"
        _tiny_cnn(_keras()).save(whole)
        data = whole.read_bytes()
        path = folder / filename
        path.write_bytes(data[: len(data) // 2])
        return path

    return make


def _weights_only(folder: Path) -> Path:
    path = folder / "only.weights.h5"
    _tiny_cnn(_keras()).save_weights(path)
    return path


def _saved_model_dir(folder: Path) -> Path:
    path = folder / "exported_savedmodel"
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"\x08\x01")
    (path / "variables").mkdir()
    return path


def _directory(folder: Path) -> Path:
    path = folder / "just_a_folder"
    path.mkdir(exist_ok=True)
    return path


def _lambda_model(keras):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda tensor: tensor * 2.0, name="doubler")(inputs)
    x = keras.layers.Conv2D(2, 3)(x)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))


def _custom_layer_model(keras):
    @keras.saving.register_keras_serializable(package="TestOnly")
    class Sharpen(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 1.5

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(2, 3)(Sharpen(name="sharpen")(inputs))
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))


def _unregistered(filename: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        keras = _keras()
        path = folder / filename
        _custom_layer_model(keras).save(path)
        keras.saving.get_custom_objects().pop("TestOnly>Sharpen", None)
        return path

    return make


def _multi_input(keras):
    first, second = keras.Input((16, 16, 3)), keras.Input((4,))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(first))
    return keras.Model([first, second], keras.layers.Dense(2)(keras.layers.Concatenate()([x, second])))


def _channels_first(keras):
    inputs = keras.Input((3, 32, 32))
    x = keras.layers.Conv2D(4, 3, data_format="channels_first")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))


def _conv1d(keras):
    inputs = keras.Input((100, 1))
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 5)(inputs))
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def _vector_dense(keras):
    inputs = keras.Input((20,))
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8)(inputs)))


def _four_channel(keras):
    inputs = keras.Input((16, 16, 4))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(2)(x))


BAD_MODELS = [
    BadInput("empty .keras", _bytes("empty.keras", b""), "is empty"),
    BadInput("random bytes .keras", _bytes("noise.keras", np.random.default_rng(1).bytes(3000)),
             "damaged or not a Keras model"),
    BadInput("random bytes .h5", _bytes("noise.h5", np.random.default_rng(2).bytes(3000)),
             "damaged or not a Keras model"),
    BadInput("truncated .keras", _truncated("cut.keras"), "damaged or not a Keras model"),
    BadInput("truncated .h5", _truncated("cut.h5"), "damaged or not a Keras model"),
    BadInput(".weights.h5 without architecture", _weights_only, "only weights"),
    BadInput("SavedModel folder", _saved_model_dir, "save a .keras file (model.save('model.keras')"),
    BadInput("text renamed .keras", _bytes("notes.keras", b"hello, this is text\n" * 10),
             "damaged or not a Keras model"),
    BadInput("missing path", lambda folder: folder / "gone.keras", "does not exist"),
    BadInput("a directory", _directory, "is a folder"),
    BadInput("not a model extension", _bytes("model.txt", b"x"), "not a Keras model file"),
    BadInput("unregistered custom layer", _unregistered("custom.keras"),
             "uses the custom layer 'Sharpen' (package 'TestOnly'"),
    BadInput("Lambda layer in .keras", _saved("lambda.keras", _lambda_model), "Lambda layer"),
    BadInput("Lambda layer in legacy .h5", _saved("lambda.h5", _lambda_model), "Lambda layer"),
    BadInput("multi-input model", _saved("two_inputs.keras", _multi_input), "2 inputs"),
    BadInput("channels_first model", _saved("channels_first.keras", _channels_first),
             "channels-first"),
    BadInput("Conv1D model", _saved("sequence.keras", _conv1d), "not images"),
    BadInput("Dense model on vectors", _saved("vector.keras", _vector_dense),
             "not (height, width, channels)"),
    BadInput("4-channel input", _saved("rgba_model.keras", _four_channel), "4 input channels"),
]


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _photo() -> Image.Image:
    return Image.open(shared("images", "chelsea.png")).convert("RGB")


def _bomb(folder: Path) -> Path:
    """A tiny PNG whose header declares 100,000 x 100,000 pixels."""
    data = bytearray(_encode(Image.new("L", (8, 8)), "PNG"))
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR width and height
    import zlib

    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path = folder / "bomb.png"
    path.write_bytes(bytes(data))
    return path


def _truncated_jpeg(folder: Path) -> Path:
    data = _encode(_photo(), "JPEG")
    path = folder / "cut.jpg"
    path.write_bytes(data[: len(data) // 3])
    return path


BAD_IMAGES = [
    BadInput("empty image", _bytes("empty.png", b""), "is empty"),
    BadInput("random bytes .png", _bytes("noise.png", np.random.default_rng(3).bytes(5000)),
             "not an image format"),
    BadInput("truncated JPEG", _truncated_jpeg, "damaged or truncated"),
    BadInput("decompression bomb", _bomb, "too many pixels"),
    BadInput("SVG document", _bytes("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
             "vector document"),
    BadInput("PDF document", _bytes("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
             "vector document"),
    BadInput("missing image", lambda folder: folder / "gone.png", "does not exist"),
    BadInput("folder as image", _directory, "is a folder"),
]


def _image_file(filename: str, build: Callable[[], Image.Image], fmt: str, **kwargs):
    def make(folder: Path) -> Path:
        path = folder / filename
        path.write_bytes(_encode(build(), fmt, **kwargs))
        return path

    return make


def _animated_gif(folder: Path) -> Path:
    frames = [Image.new("RGB", (30, 20), color) for color in ("red", "lime", "blue")]
    path = folder / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def _multipage_tiff(folder: Path) -> Path:
    pages = [Image.new("RGB", (24, 24), color) for color in ("red", "blue")]
    path = folder / "pages.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


def _exif_rotated(folder: Path) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    path = folder / "rotated.jpg"
    path.write_bytes(_encode(Image.new("RGB", (60, 20), "white"), "JPEG", exif=exif))
    return path


def _palette_transparent() -> Image.Image:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.info["transparency"] = 0
    return image


def _non_ascii(folder: Path) -> Path:
    path = folder / "chat noir – été 2024.png"
    shutil.copy(shared("images", "chelsea.png"), path)
    return path


# (name, maker, expected (height, width) of the decoded RGB image)
UNUSUAL_IMAGES = [
    ("1x1 pixel", _image_file("dot.png", lambda: Image.new("RGB", (1, 1), "red"), "PNG"), (1, 1)),
    ("10000x100 extreme aspect", _image_file(
        "strip.png", lambda: Image.new("RGB", (10000, 100), "gray"), "PNG"), (100, 10000)),
    ("16-bit grayscale PNG", _image_file(
        "deep.png", lambda: Image.fromarray(np.full((12, 10), 40000, np.uint16)), "PNG"), (12, 10)),
    ("CMYK JPEG", _image_file("print.jpg", lambda: _photo().convert("CMYK"), "JPEG"), (300, 451)),
    ("palette PNG with transparency", _image_file("palette.png", _palette_transparent, "PNG"),
     (20, 20)),
    ("RGBA PNG", _image_file("alpha.png", lambda: Image.new("RGBA", (9, 7), (0, 0, 255, 128)),
                             "PNG"), (7, 9)),
    ("LA PNG", _image_file("gray_alpha.png", lambda: Image.new("LA", (9, 7), (100, 255)), "PNG"),
     (7, 9)),
    ("animated GIF", _animated_gif, (20, 30)),
    ("EXIF-rotated JPEG", _exif_rotated, (60, 20)),
    ("multi-page TIFF", _multipage_tiff, (24, 24)),
    ("non-ASCII name with spaces", _non_ascii, (300, 451)),
    ("grayscale photo", _image_file("gray.png", lambda: _photo().convert("L"), "PNG"), (300, 451)),
]
