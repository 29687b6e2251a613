"""Filter ascent: reference settings, real activation gains, cancel, bad indices."""

import numpy as np
import pytest

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis import visualize_filters
from convviz_gui.engine.featurevis.results import stitch_patterns
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.featurevis.targeting import parse_filter_range
from convviz_gui.figures.filters import filter_grid_figure


@pytest.fixture(scope="module")
def flexible_convnet(keras):
    """A fully convolutional RGB model with dynamic input size (like include_top=False)."""
    from ..conftest import wrap

    keras.utils.set_random_seed(5)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(16, 3, activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(32, 3, name="c2")(x)
    return wrap(keras.Model(inputs, x, name="flexible"))


def test_reference_defaults():
    settings = FilterSettings()
    assert (settings.steps, settings.learning_rate, settings.size, settings.border) == (
        30, 10.0, 200, 2)
    assert settings.crop_pixels(200) == 25
    assert settings.style == "reference" and settings.preset is None


def test_reference_inputs_leave_the_model_range(demo_model):
    """The summary gives each filter's start loss and the optimized inputs' range beside the
    model's: the reference ascent leaves the demo's [-1, 1] (the display hides it)."""
    result = visualize_filters(demo_model, ("separable_conv2d_5",), [0, 1], FilterSettings(size=64))
    summary = result.to_dict()
    assert summary["style"] == "reference" and summary["model_range"] == [-1.0, 1.0]
    low, high = summary["input_range"]
    assert low < -1.0 or high > 1.0
    assert [f["start_loss"] for f in summary["filters"]] == [result.start_losses[0],
                                                             result.start_losses[1]]


def test_ascent_raises_activation_far_above_random_start(flexible_convnet):
    seen = []
    result = visualize_filters(flexible_convnet, ("c2",), list(range(20)),
                               FilterSettings(batch_size=8), progress=seen.append)
    assert sorted(result.patterns) == list(range(20))
    assert result.patterns[3].shape == (150, 150, 3) and result.patterns[3].dtype == np.uint8
    gains = [result.losses[i] - result.start_losses[i] for i in range(20)]
    assert min(gains) > 0
    final = np.median([result.losses[i] for i in range(20)])
    start = np.median([abs(result.start_losses[i]) for i in range(20)])
    assert final > 3 * start
    assert len(seen) == 3 * 30  # three batches of 30 steps
    assert seen[-1].filters_done == 16 and set(seen[-1].previews) == {16, 17, 18, 19}
    assert seen[4].previews and not seen[3].previews  # previews every 5 steps
    grid = stitch_patterns([result.patterns[i] for i in range(20)])
    assert grid.shape == (3 * 150 + 2 * 5, 8 * 150 + 7 * 5, 3)
    assert "c2" in filter_grid_figure(result).axes[0].get_title()


def test_cancel_stops_within_one_step(flexible_convnet):
    steps_run = []

    def progress(update):
        steps_run.append(update.step)

    result = visualize_filters(flexible_convnet, ("c1",), list(range(8)),
                               FilterSettings(steps=30, batch_size=8), progress=progress,
                               should_cancel=lambda: len(steps_run) >= 3)
    assert result.cancelled and steps_run == [1, 2, 3]
    assert result.partial == set(range(8)) and len(result.patterns) == 8


def test_fixed_size_demo_model_is_optimized_at_the_chosen_size(demo_model):
    """The demo's 64x64 input is rebuilt at 200 px up to the target (grayscale patterns)."""
    result = visualize_filters(demo_model, ("separable_conv2d_5",), [0, 5, 9],
                               FilterSettings(steps=10))
    assert result.size_used == (200, 200) and result.size_note == ""
    assert result.patterns[0].shape == (150, 150)  # 25 px cut per side, as at 200 px
    assert all(result.losses[i] > result.start_losses[i] for i in (0, 5, 9))
    assert result.to_dict()["size"] == [200, 200] and "size_note" not in result.to_dict()
    assert ("ascent", ("separable_conv2d_5",), 2, 200, 200) in demo_model.cache
    own = visualize_filters(demo_model, ("conv2d_4",), [0], FilterSettings(steps=2, size=64))
    assert own.size_used == (64, 64) and own.patterns[0].shape == (48, 48)  # 8 px cut per side


def test_nested_layer_of_a_fixed_size_application(transfer_model):
    """A MobileNetV2 base (96x96) inside a Sequential: the nested layer at 128 px."""
    path = ("mobilenetv2_1.00_96", "block_6_expand")
    result = visualize_filters(transfer_model, path, [0, 1], FilterSettings(steps=3, size=128))
    assert result.size_used == (128, 128) and result.patterns[1].shape == (96, 96, 3)
    assert all(result.losses[i] > result.start_losses[i] for i in (0, 1))


@pytest.mark.parametrize("layer_inputs", [False, True])
def test_truncated_model_matches_the_full_tap_model(transfer_model, demo_model, layer_inputs):
    """At the model's own size the truncated rebuild computes the same activations."""
    from convviz_gui.engine.taps import build_sized_tap_model, build_tap_model

    for loaded, path in ((transfer_model, ("mobilenetv2_1.00_96", "block_6_expand")),
                         (demo_model, ("separable_conv2d_5",))):
        height, width, channels = loaded.input_shape
        batch = np.random.default_rng(2).uniform(-1, 1, (2, height, width, channels)).astype("float32")
        truncated = build_sized_tap_model(loaded.keras_model, path, height, width, layer_inputs)
        full = build_tap_model(loaded.keras_model, [path], with_outputs=False,
                               layer_inputs=layer_inputs)
        expected = np.asarray(full(batch, training=False))
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(np.asarray(truncated(batch, training=False)), expected,
                                   rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def dense_in_the_middle(keras):
    """32x32 input -> conv -> Flatten -> Dense -> Reshape -> conv (a fixed size in the middle)."""
    from ..conftest import wrap

    keras.utils.set_random_seed(3)
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="early")(inputs)
    x = layers.Flatten()(x)
    x = layers.Dense(16 * 16 * 4, name="squeeze")(x)
    x = layers.Reshape((16, 16, 4))(x)
    x = layers.Conv2D(8, 3, name="late")(x)
    outputs = layers.Dense(2)(layers.Flatten()(x))
    return wrap(keras.Model(inputs, outputs, name="middle"))


def test_fixed_size_layer_before_the_target_falls_back_with_a_note(dense_in_the_middle):
    result = visualize_filters(dense_in_the_middle, ("late",), [0, 1],
                               FilterSettings(steps=2, size=48))
    assert result.size_used == (32, 32) and result.patterns[0].shape == (24, 24, 3)
    assert result.size_note == ("late needs the model's own 32x32 input (squeeze before it has a "
                                "fixed size); optimized at 32x32 instead of 48x48.")
    assert result.to_dict()["size_note"] == result.size_note
    # The Flatten/Dense after an early layer are not run: it takes the chosen size.
    early = visualize_filters(dense_in_the_middle, ("early",), [0], FilterSettings(steps=2, size=48))
    assert early.size_used == (48, 48) and early.size_note == ""


def test_size_errors_name_the_layer(dense_in_the_middle, flexible_convnet):
    from convviz_gui.engine.taps import InputSizeError, build_sized_tap_model

    with pytest.raises(InputSizeError, match="late cannot be computed from a 40x40 input: "
                                             "squeeze before it has a fixed size"):
        build_sized_tap_model(dense_in_the_middle.keras_model, ("late",), 40, 40)
    # A dynamic input has no own size to fall back on: a too small size is an error.
    with pytest.raises(ConvVizError, match="c2 itself would shrink the image to nothing"):
        visualize_filters(flexible_convnet, ("c2",), [0], FilterSettings(size=5))


def test_ascent_never_computes_weight_gradients(demo_model):
    """oneDNN safety: the executed step has no kernel-gradient (BackpropFilter) kernels."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.fused import AscentState
    from convviz_gui.engine.featurevis.reference import ascent_step

    from ..conftest import executed_ops

    ascent = ascent_step(demo_model, ("conv2d_3",), FilterSettings(), 64, 64, xla=False)
    state = AscentState.start(tf.zeros((1, 64, 64, 1)), 10.0)
    executed = executed_ops(lambda: ascent.step(state, tf.constant([0], tf.int32)))
    assert any("BackpropInput" in op for op in executed)
    assert not any("BackpropFilter" in op for op in executed)


def test_filter_index_past_channel_count_is_rejected(flexible_convnet):
    with pytest.raises(ConvVizError, match="has 16 filters"):
        visualize_filters(flexible_convnet, ("c1",), [16])


@pytest.mark.parametrize("text,expected", [("0-3", [0, 1, 2, 3]), ("5", [5]),
                                           ("0,2,4-5", [0, 2, 4, 5])])
def test_parse_filter_range(text, expected):
    assert parse_filter_range(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "5-2", "-3"])
def test_parse_filter_range_rejects(text):
    with pytest.raises(ConvVizError):
        parse_filter_range(text)


def test_chosen_filter_shortcut_matches_the_whole_layer(keras):
    """Conv2D / SeparableConv2D targets compute only the chosen filters: same losses and
    gradients as computing every filter of the layer (strides, dilation, padding, bias)."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.reference import filter_losses

    from ..conftest import wrap

    keras.utils.set_random_seed(11)
    inputs = keras.Input((40, 40, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="strided")(inputs)
    x = keras.layers.SeparableConv2D(12, 3, depth_multiplier=2, dilation_rate=2, name="sep",
                                     activation="tanh")(x)
    x = keras.layers.Conv2D(6, 1, use_bias=False, name="pointwise")(x)
    loaded = wrap(keras.Model(inputs, x, name="shortcut"))
    images = tf.constant(np.random.default_rng(0).uniform(0, 1, (3, 40, 40, 3)), tf.float32)
    for layer, indices in (("strided", [0, 7, 3]), ("sep", [11, 0, 5]), ("pointwise", [2, 2, 5])):
        gradients = []
        for restrict in (True, False):
            losses_of = filter_losses(loaded, (layer,), border=2, restrict=restrict)
            chosen = tf.constant(indices, tf.int32)
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(images)
                losses = losses_of(images, chosen)
                total = tf.reduce_sum(losses)
            gradients.append((losses.numpy(), tape.gradient(total, images).numpy()))
        (fast_losses, fast_grads), (full_losses, full_grads) = gradients
        np.testing.assert_allclose(fast_losses, full_losses, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fast_grads, full_grads, rtol=1e-4, atol=1e-6)
        assert np.abs(full_grads).max() > 0


def test_border_is_cut_for_models_with_dynamic_input(flexible_convnet):
    """The reference loss excludes 2 px of border even when the model input size is None."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.reference import ascent_step

    step = ascent_step(flexible_convnet, ("c2",), FilterSettings(), 32, 32)
    images = tf.constant(np.random.default_rng(1).uniform(0, 1, (1, 32, 32, 3)), tf.float32)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(images)
        loss = step.evaluate(images, tf.constant([0], tf.int32))
    grads = tape.gradient(loss, images).numpy()[0]
    # c2's output at (0,0) sees input rows 0..5; with the border cut, row 0 gets no gradient.
    assert np.abs(grads[0]).max() == 0 and np.abs(grads[10]).max() > 0


def _book_ascent(loaded, layer, index, images, steps, learning_rate=10.0):
    """The book's loop as written (techniques.md): every step taken, no safeguard."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.reference import filter_losses

    losses = filter_losses(loaded, layer, border=2, size=images.shape[1:3])
    chosen = tf.constant([index], tf.int32)
    values = []
    for _ in range(steps):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            loss = tf.reduce_sum(losses(images, chosen))
        values.append(float(loss))
        images = images + learning_rate * tf.math.l2_normalize(tape.gradient(loss, images))
    return images.numpy(), values


def test_a_step_that_lowers_the_value_is_retried_shorter(keras):
    """On a layer whose value is sin(conv(x)), the book's steps of 10 jump past the peak and
    the value falls; ConvViz takes such a step back and halves it, so every filter ends
    above its start and never below its best."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.reference import start_images

    from ..conftest import wrap

    keras.utils.set_random_seed(2)
    inputs = keras.Input((24, 24, 3))
    conv = keras.layers.Conv2D(4, 3, kernel_initializer=keras.initializers.Constant(0.3))(inputs)
    wavy = keras.layers.Activation(keras.ops.sin, name="wavy")(conv)
    loaded = wrap(keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(wavy))))
    settings = FilterSettings(steps=12, size=24)
    start = start_images(loaded, 1, 24, 24, settings, np.random.default_rng(settings.seed))
    _, book = _book_ascent(loaded, ("wavy",), 0, tf.constant(start), 12)
    assert any(later < earlier for earlier, later in zip(book, book[1:]))  # the book falls
    result = visualize_filters(loaded, ("wavy",), [0, 1, 2, 3], settings)
    for index in range(4):
        assert result.losses[index] > result.start_losses[index]
    # The first step is the book's (it rises); later ones never lose what it gained.
    assert result.losses[0] >= book[1] - 1e-5 > book[-1]


def test_while_steps_raise_the_value_the_ascent_is_the_books_loop(demo_model):
    """On the demo's conv2d_3 every step of 10 raises filter 0: the same images as the
    book's loop, to float32 rounding."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.reference import filter_losses, start_images

    settings = FilterSettings(steps=8, size=64)
    start = start_images(demo_model, 1, 64, 64, settings, np.random.default_rng(settings.seed))
    images, book = _book_ascent(demo_model, ("conv2d_3",), 0, tf.constant(start), 8)
    assert all(later > earlier for earlier, later in zip(book, book[1:]))
    result = visualize_filters(demo_model, ("conv2d_3",), [0], settings)
    book_end = filter_losses(demo_model, ("conv2d_3",), 2, size=(64, 64))(
        tf.constant(images), tf.constant([0], tf.int32))
    assert result.start_losses[0] == pytest.approx(book[0], rel=1e-5)
    assert result.losses[0] == pytest.approx(float(book_end[0]), rel=1e-4)
