"""Layer-wise Relevance Propagation on small models trained in the test: conservation, the
rules against a NumPy reference, BatchNorm folding, the layer types, the known answer."""

import json

import numpy as np
import pytest

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam import ClassScore, MethodOptions, make_cam
from convviz_gui.engine.errors import ConvVizError

from ..conftest import wrap
from ..squares import SIZE, make_images

LRP_METHODS = ["lrp", "lrp-epsilon", "lrp-alphabeta", "lrp-gamma"]
TINY = MethodOptions(epsilon=0.0)  # the stabilizer only (1e-6): nothing absorbed


def _trained(keras, body, size=SIZE, epochs=2, name="lrp_test"):
    """A 2-class model (softmax head) on the squares images, ``body`` between input and head,
    trained briefly; returns (model, images)."""
    keras.utils.set_random_seed(3)
    images, labels, _ = make_images(256, seed=5)
    images = images[:, :size, :size].astype(np.float32) / 255.0
    inputs = keras.Input(images.shape[1:])
    logits = keras.layers.Dense(2, use_bias=False, name="logits")(body(keras.layers, inputs))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits), name=name)
    model.compile(keras.optimizers.Adam(3e-3), "categorical_crossentropy")
    model.fit(images, labels / np.maximum(labels.sum(1, keepdims=True), 1), epochs=epochs,
              batch_size=32, verbose=0)
    return model, images


def _conv_relu_dense(layers, x):
    x = layers.Conv2D(8, 3, use_bias=False, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, use_bias=False, activation="relu")(x)
    return layers.Dense(8, use_bias=False, activation="relu")(layers.Flatten()(x))


def _residual(layers, x):
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, activation="relu")(x)
    branch = layers.Conv2D(8, 3, padding="same", use_bias=False, activation="relu")(x)
    x = layers.ReLU()(layers.Add()([x, branch]))
    return layers.GlobalAveragePooling2D()(x)


def _concatenated(layers, x):
    left = layers.Conv2D(4, 3, use_bias=False, activation="relu")(x)
    right = layers.Conv2D(4, 3, use_bias=False, activation="relu")(x)
    x = layers.Concatenate()([left, right])
    return layers.GlobalAveragePooling2D()(layers.AveragePooling2D(2)(x))


def _separable(layers, x):
    x = layers.SeparableConv2D(8, 3, use_bias=False, activation="relu")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, activation="relu")(x)
    return layers.GlobalMaxPooling2D()(layers.MaxPooling2D(2)(x))


def _nested(layers, x):
    import keras

    inner = keras.Sequential([keras.Input(x.shape[1:]),
                              layers.Conv2D(8, 3, use_bias=False, activation="relu"),
                              layers.ZeroPadding2D(1), layers.Dropout(0.2),
                              layers.Conv2D(8, 3, strides=2, use_bias=False, activation="relu")],
                             name="backbone")
    return layers.GlobalAveragePooling2D()(inner(layers.Rescaling(2.0, offset=-1.0)(x)))


@pytest.fixture(scope="module")
def bias_free(keras):
    return _trained(keras, _conv_relu_dense, name="bias_free")


def test_cli_relevance_sum_is_the_explained_score_on_a_bias_free_relu_net(bias_free, capsys,
                                                                          tmp_path):
    from PIL import Image

    model, images = bias_free
    path, image = tmp_path / "bias_free.keras", tmp_path / "image.png"
    model.save(path)
    Image.fromarray((images[3] * 255).astype(np.uint8)).save(image)
    for method, flags in (("lrp-epsilon", ["--epsilon", "0"]), ("lrp", [])):
        assert cli(["gradcam", str(path), str(image), "--method", method, *flags, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["score_kind"] == "logit" and data["resolution"] == "input"
        assert data["relevance_sum"] == pytest.approx(data["explained_score"], rel=0.03), method
    assert cli(["gradcam", str(path), str(image), "--method", "saliency", "--json"]) == 0
    assert "relevance_sum" not in json.loads(capsys.readouterr().out)


def test_epsilon_rule_is_gradient_times_input_on_a_bias_free_relu_net(bias_free, keras):
    """Montavon 2019, Sec. 10.2.1: LRP-0 = gradient x input on a bias-free ReLU network."""
    import tensorflow as tf

    model, images = bias_free
    logits = keras.Model(model.inputs[0], model.get_layer("logits").output)
    batch = tf.constant(images[:2])
    with tf.GradientTape() as tape:
        tape.watch(batch)
        score = logits(batch)[:, 1]
    expected = (tape.gradient(score, batch) * batch).numpy().sum(-1)
    explainer = make_cam(wrap(model, preset="none"), None, "lrp-epsilon", options=TINY)
    for index in range(2):
        found = explainer(images[index:index + 1], 1).raw
        assert np.allclose(found, expected[index], rtol=1e-3, atol=1e-3 * np.abs(expected[index]).max())


def _numpy_lrp(layers, image, class_index, rule, alpha=2.0, beta=1.0, gamma=0.25):
    """Relevance of a Dense-ReLU stack by the rule's formula, one layer at a time."""
    activations = [image.reshape(-1)]
    for kernel, bias in layers:
        z = activations[-1] @ kernel + bias
        activations.append(np.maximum(z, 0) if len(activations) < len(layers) else z)
    relevance = np.zeros_like(activations[-1])
    relevance[class_index] = activations[-1][class_index]
    for (kernel, bias), a in zip(reversed(layers), reversed(activations[:-1])):
        contributions = a[:, None] * kernel
        positive, negative = np.maximum(contributions, 0), np.minimum(contributions, 0)
        z_pos, z_neg = positive.sum(0) + np.maximum(bias, 0), negative.sum(0) + np.minimum(bias, 0)
        z = contributions.sum(0) + bias
        stab = lambda v: v + np.where(v >= 0, 1e-6, -1e-6)  # noqa: E731
        if rule == "lrp-alphabeta":
            shares = alpha * positive / stab(z_pos) - beta * negative / stab(z_neg)
        else:
            rising = z > 0
            numerator = contributions + gamma * np.where(rising, positive, negative)
            shares = numerator / stab(z + gamma * np.where(rising, z_pos, z_neg))
        relevance = shares @ relevance
    return relevance.reshape(image.shape).sum(-1)


@pytest.mark.parametrize("method", ["lrp-alphabeta", "lrp-gamma"])
def test_rules_agree_with_their_formulas_on_a_dense_net_with_biases(keras, method):
    def body(layers, x):
        return layers.Dense(12, activation="relu")(layers.Dense(16, activation="relu")(
            layers.Flatten()(x)))

    model, images = _trained(keras, body, size=12, epochs=1, name="dense_net")
    weights = [layer.get_weights() for layer in model.layers if layer.weights]
    weights[-1] = [weights[-1][0], np.zeros(2, np.float32)]
    explainer = make_cam(wrap(model, preset="none"), None, method)
    for index in range(3):
        found = explainer(images[index:index + 1], 0).raw
        expected = _numpy_lrp(weights, images[index], 0, method)
        assert np.allclose(found, expected, rtol=1e-3, atol=1e-5 * np.abs(expected).max())


def test_batchnorm_is_folded_into_the_convolution_before_it(keras):
    def body(layers, x):
        x = layers.Conv2D(8, 3, name="conv_a")(x)
        x = layers.ReLU()(layers.BatchNormalization(name="bn_a")(x))
        x = layers.SeparableConv2D(8, 3, name="conv_b")(x)
        x = layers.ReLU()(layers.BatchNormalization(name="bn_b")(x))
        return layers.Dense(8, activation="relu")(layers.GlobalAveragePooling2D()(x))

    model, images = _trained(keras, body, size=24, epochs=3, name="with_bn")
    assert not np.allclose(model.get_layer("bn_a").moving_mean.numpy(), 0)

    def folded(layers, x):
        x = layers.Conv2D(8, 3, name="conv_a", activation="relu")(x)
        x = layers.SeparableConv2D(8, 3, name="conv_b", activation="relu")(x)
        return layers.Dense(8, activation="relu")(layers.GlobalAveragePooling2D()(x))

    by_hand, _ = _trained(keras, folded, size=24, epochs=0, name="folded")
    for name, bn in (("conv_a", "bn_a"), ("conv_b", "bn_b")):
        gamma, beta, mean, variance = model.get_layer(bn).get_weights()
        scale = gamma / np.sqrt(variance + model.get_layer(bn).epsilon)
        *kernels, bias = model.get_layer(name).get_weights()
        by_hand.get_layer(name).set_weights([*kernels[:-1], kernels[-1] * scale,
                                             (bias - mean) * scale + beta])
    for source, target in zip(model.layers[-3:], by_hand.layers[-3:]):
        target.set_weights(source.get_weights())  # the Dense layers and the logits
    assert np.allclose(model.predict(images[:4], verbose=0), by_hand.predict(images[:4], verbose=0),
                       atol=1e-5)
    for method in LRP_METHODS:
        with_bn = make_cam(wrap(model, preset="none"), None, method)(images[:1], 1)
        hand = make_cam(wrap(by_hand, preset="none"), None, method)(images[:1], 1)
        assert np.allclose(with_bn.raw, hand.raw, rtol=1e-3, atol=1e-4 * np.abs(hand.raw).max())


@pytest.mark.parametrize("body", [_residual, _concatenated, _separable, _nested],
                         ids=["add", "concatenate", "separable-depthwise", "nested"])
def test_layer_types_conserve_relevance(keras, body):
    model, images = _trained(keras, body, size=24, epochs=1, name=body.__name__.strip("_"))
    loaded = wrap(model, preset="none")
    result = make_cam(loaded, None, "lrp-epsilon", options=TINY)(images[:1], 0)
    assert result.relevance_sum == pytest.approx(result.explained, rel=0.03)
    for method in ("lrp", "lrp-alphabeta", "lrp-gamma"):
        found = make_cam(loaded, None, method)(images[:1], 0)
        assert np.isfinite(found.raw).all() and np.abs(found.raw).max() > 0


def test_a_keras_application_gives_a_finite_map(keras):
    """ResNet50V2 (random weights): pre-activation BatchNorms (not after a convolution,
    propagated as affine layers), folded ones, residual additions, padding, pooling."""
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50V2(weights=None, input_shape=(64, 64, 3), classes=5)
    image = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    result = make_cam(wrap(model, preset="symmetric"), None, "lrp").explain(image, ClassScore(2))
    assert result.raw.shape == (64, 64) and np.isfinite(result.raw).all()
    assert np.abs(result.raw).max() > 0 and result.heatmap.max() == 1.0
    assert 0 < result.relevance_sum < 2 * result.explained


def test_mixed_precision_is_computed_in_float32(keras):
    layers = keras.layers
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, activation="relu", dtype="mixed_float16")(inputs)
    x = layers.BatchNormalization(dtype="mixed_float16")(x)
    x = layers.GlobalAveragePooling2D(dtype="mixed_float16")(x)
    outputs = layers.Dense(2, activation="softmax", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="mixed")
    image = np.random.default_rng(1).uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)
    for method in LRP_METHODS:
        result = make_cam(wrap(model, preset="none"), None, method)(image, 0)
        assert result.raw.dtype == np.float32 and np.isfinite(result.raw).all()


def test_a_layer_without_a_rule_is_refused_in_one_sentence(keras):
    class Squash(keras.layers.Layer):
        def call(self, inputs):
            return inputs / (1.0 + keras.ops.abs(inputs))

    inputs = keras.Input((16, 16, 3))
    x = Squash(name="squash")(keras.layers.Conv2D(4, 3)(inputs))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    loaded = wrap(keras.Model(inputs, outputs, name="custom"), preset="none")
    image = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(ConvVizError) as caught:
        make_cam(loaded, None, "lrp")(image, 0)
    assert str(caught.value) == ("LRP cannot propagate relevance through layer 'squash' (Squash): "
                                 "it has no rule for that layer type; choose a gradient or "
                                 "perturbation method.")


def test_alpha_minus_beta_must_be_one(capsys):
    from convviz_gui.engine.models import demo_image_path

    assert cli(["gradcam", "demo", str(demo_image_path()), "--method", "lrp-alphabeta",
                "--lrp-alpha", "2", "--lrp-beta", "0.5"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == ("convviz: error: LRP-alpha-beta needs alpha - beta = 1 to conserve "
                     "relevance, but alpha 2 - beta 0.5 = 1.5.")
