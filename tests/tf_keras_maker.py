"""Writes Keras 2 (tf-keras) model files and tf-keras' own predictions for them.

Run only as a script, in its own process, so tf-keras never shares a process with Keras 3:

    python tests/tf_keras_maker.py OUT_DIR CASE [CASE ...]

CASE is a name of ``CASES`` (files the tests open) or ``app:NAME`` (a keras.applications
architecture at weights=None, saved as .h5, for bench/keras2_applications.py). For each
case it writes the model file into OUT_DIR, a test image ``image_SIZE.png`` per input size
(a fixed smooth pattern) and adds to ``OUT_DIR/expected.json``: the file name, the image
fed and tf-keras' outputs for those raw 0-255 pixels (what ConvViz feeds with
``--preprocess none``). Not product code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from PIL import Image  # noqa: E402

layers = keras.layers
apps = keras.applications


def test_image(size: int) -> np.ndarray:
    """A fixed smooth colour pattern with some texture, (size, size, 3) uint8."""
    rng = np.random.default_rng(size)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC), np.float32)
    return np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)


def randomize_batchnorm(model: keras.Model, seed: int = 0) -> None:
    """Give every BatchNormalization non-trivial statistics (fresh ones are an identity)."""
    rng = np.random.default_rng(seed)
    for layer in model.submodules:
        if isinstance(layer, layers.BatchNormalization):
            layer.set_weights([
                rng.uniform(0.8, 1.2, w.shape) if name in ("gamma", "moving_variance")
                else rng.normal(0.0, 0.05, w.shape)
                for w, name in zip(layer.get_weights(), _bn_names(layer))
            ])


def _bn_names(layer: layers.BatchNormalization) -> list[str]:
    return [w.name.split("/")[-1].split(":")[0] for w in layer.weights]


def sequential_bn() -> keras.Model:
    """A Sequential transfer-style classifier with BatchNormalization (axis saved as [3])."""
    return keras.Sequential([
        keras.Input((64, 64, 3)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(8, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(),
        layers.SeparableConv2D(16, 3),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(5),
    ], name="sequential_bn")


def tutorial_mobilenet_v2() -> keras.Model:
    """The TF transfer-learning tutorial: preprocess_input inside, frozen MobileNetV2 base."""
    inputs = keras.Input((96, 96, 3))
    x = apps.mobilenet_v2.preprocess_input(inputs)
    base = apps.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    base.trainable = False
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(1)(x), name="tutorial_mobilenet_v2")


def mobilenet_v1() -> keras.Model:
    """MobileNet v1 (DepthwiseConv2D saved with groups: 1)."""
    return apps.MobileNet(input_shape=(64, 64, 3), alpha=0.25, weights=None, classes=5,
                          classifier_activation=None)


def resnet50_caffe() -> keras.Model:
    """ResNet50 with its caffe preprocess_input (channel reversal + bias_add) inside."""
    inputs = keras.Input((64, 64, 3))
    x = apps.resnet50.preprocess_input(inputs)
    x = apps.ResNet50(input_shape=(64, 64, 3), include_top=False, weights=None, pooling="avg")(x)
    return keras.Model(inputs, layers.Dense(5)(x), name="resnet50_caffe")


def arithmetic_slice() -> keras.Model:
    """tf ops on tensors: x / 127.5 - 1, torch-mode normalization, slices, tf.nn activations."""
    inputs = keras.Input((64, 64, 3))
    symmetric = inputs / 127.5 - 1.0
    torch_mode = apps.densenet.preprocess_input(inputs)
    x = tf.concat([symmetric[:, 4:-4, 4:-4, :], torch_mode[:, 4:-4, 4:-4, ::-1]], axis=-1)
    x = layers.Conv2D(8, 3)(x)
    x = tf.nn.relu6(x) + tf.nn.relu(x) * 0.5 - tf.math.sigmoid(x)
    x = tf.math.maximum(x, 1.0 - x)
    x = tf.transpose(x, [0, 2, 1, 3])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(5)(x), name="arithmetic_slice")


def unknown_op() -> keras.Model:
    """A tf op ConvViz does not translate (cumulative sum)."""
    inputs = keras.Input((32, 32, 3))
    x = tf.math.cumsum(inputs, axis=1)
    x = layers.Conv2D(4, 3)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(3)(x), name="unknown_op")


def functional_zip() -> keras.Model:
    """A small functional model for the tf-keras .keras zip (x / 127.5 - 1 inside)."""
    inputs = keras.Input((64, 64, 3))
    x = inputs / 127.5 - 1.0
    x = layers.Conv2D(8, 3, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.DepthwiseConv2D(3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(5)(x), name="functional_zip")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")  # saved: compile_config
    return model


# name -> (builder, file suffix); a suffix without a dot is a SavedModel folder.
CASES: dict[str, tuple[Callable[[], keras.Model], str]] = {
    "sequential_bn": (sequential_bn, ".h5"),
    "tutorial_mobilenet_v2": (tutorial_mobilenet_v2, ".h5"),
    "mobilenet_v1": (mobilenet_v1, ".h5"),
    "resnet50_caffe": (resnet50_caffe, ".h5"),
    "arithmetic_slice": (arithmetic_slice, ".h5"),
    "unknown_op": (unknown_op, ".h5"),
    "functional_zip": (functional_zip, ".keras"),
    "sequential_zip": (sequential_bn, ".keras"),
    "saved_model": (functional_zip, ""),
}


def application(name: str, size: int = 96) -> keras.Model:
    """A keras.applications architecture at weights=None and ``size`` px (1000 classes)."""
    return getattr(apps, name)(input_shape=(size, size, 3), weights=None)


def make(case: str, out_dir: Path) -> dict:
    """Build, save and predict one case; returns its expected.json entry."""
    if case.startswith("app:"):
        model, suffix = application(case[4:]), ".h5"
        file_name = case[4:] + suffix
    else:
        builder, suffix = CASES[case]
        model = builder()
        file_name = case + suffix
    randomize_batchnorm(model)
    keras.utils.set_random_seed(0)
    size = int(model.inputs[0].shape[1])
    image_name = f"image_{size}.png"
    pixels = test_image(size)
    Image.fromarray(pixels).save(out_dir / image_name)
    outputs = model.predict(pixels[None].astype(np.float32), verbose=0)
    model.save(out_dir / file_name)
    return {"file": file_name, "image": image_name, "keras_version": keras.__version__,
            "outputs": np.asarray(outputs, np.float64).reshape(-1).tolist()}


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    expected_path = out_dir / "expected.json"
    expected = json.loads(expected_path.read_text()) if expected_path.exists() else {}
    for case in argv[1:]:
        try:
            expected[case] = make(case, out_dir)
        except Exception as exc:  # report and go on: the caller sees which cases are missing
            print(f"{case}: {type(exc).__name__}: {exc}", file=sys.stderr)
    expected_path.write_text(json.dumps(expected, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
