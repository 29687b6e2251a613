"""The reduced precisions give the same answers (issue 22): every method's map at bfloat16
and float16 against float32's (Pearson r >= 0.98, same peak cell), predictions' top-1,
filter ascent; ``auto`` follows the hardware; switching precision keeps the caches right.

bfloat16 and float16 run on any processor (emulated, slowly, without bfloat16 units), so
the demo and the trained model are checked here on every machine; VGG16 and ResNet50V2
only where the processor has bfloat16 units (emulated they take minutes).
"""

from __future__ import annotations

import numpy as np
import pytest

from convviz_gui.engine.cam import MethodOptions, make_cam, method_class, method_keys, predict
from convviz_gui.engine.featurevis import visualize_filters
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.precision import (
    Hardware,
    Precision,
    agreement,
    auto_choice,
    detect,
    resolve,
    using,
)

from ..squares import make_images

REDUCED = ("bfloat16", "float16")
# Fewer samples and steps than the defaults: the same computation, a quarter of the time.
OPTIONS = MethodOptions(samples=8, steps=8)
MIN_PEARSON = 0.98
ASCENT_TOLERANCE = 0.05


@pytest.fixture(scope="module", params=["demo", "squares"])
def model_and_image(request, demo_model, demo_image):
    """The demo model on its photo; the trained squares model on an image with both squares."""
    if request.param == "demo":
        return demo_model, demo_model.prepare(demo_image)
    from ..squares import loaded_squares

    images, _, _ = make_images(1, seed=3, both=True)
    return loaded_squares(), images.astype(np.float32)


def maps_at(loaded, batch, precision: Precision, keys=None) -> dict[str, np.ndarray]:
    """Every method's (or ``keys``') heatmap, what is shown, at ``precision``."""
    with using(precision):
        return {key: make_cam(loaded, method=key, options=OPTIONS).explain(batch).heatmap
                for key in keys or method_keys()}


@pytest.fixture(scope="module")
def float32_maps(model_and_image):
    return maps_at(*model_and_image, resolve("float32"))


@pytest.mark.parametrize("name", REDUCED)
def test_every_method_keeps_its_map(model_and_image, float32_maps, name):
    """Methods that declare ``reduced_precision_ok`` match float32 at ``name``; the others
    run in float32 under ``auto`` (the same map as float32's, exactly)."""
    loaded, batch = model_and_image
    kept = [key for key in method_keys() if not method_class(key).reduced_precision_ok]
    explicit = maps_at(loaded, batch, resolve(name))
    under_auto = maps_at(loaded, batch, Precision("auto", name, "auto: test"), kept)
    failing = []
    for key, reference in float32_maps.items():
        if method_class(key).reduced_precision_ok:
            pearson, same_peak = agreement(reference, explicit[key])
            if pearson < MIN_PEARSON or not same_peak:
                failing.append(f"{key}: r {pearson:.4f}, same peak {same_peak}")
        else:
            np.testing.assert_array_equal(under_auto[key], reference, err_msg=key)
    assert not failing, f"{loaded.name} at {name}: " + "; ".join(failing)


@pytest.mark.parametrize("name", REDUCED)
def test_predictions_keep_their_top_class(model_and_image, name):
    loaded, batch = model_and_image
    reference = predict(loaded, batch, 2)
    with using(resolve(name)):
        reduced = predict(loaded, batch, 2)
    assert reduced[0].index == reference[0].index
    assert abs(reduced[0].score - reference[0].score) < 0.05  # probabilities: float32 head


def test_switching_back_gives_the_float32_answer_again(squares):
    """Functions are cached per precision: float32 after bfloat16 is float32's, bit for bit."""
    images, _, _ = make_images(1, seed=5, both=True)
    batch = images.astype(np.float32)
    first = make_cam(squares, method="gradcam").explain(batch).raw
    with using(resolve("bfloat16")):
        reduced = make_cam(squares, method="gradcam").explain(batch).raw
    again = make_cam(squares, method="gradcam").explain(batch).raw
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, reduced)  # bfloat16 did run
    assert {key[1] for key in squares.cache if len(key) == 2 and key[1] in REDUCED} == {"bfloat16"}
    assert squares.keras_model.layers[1].dtype_policy.name == "float32"  # the model is restored


@pytest.mark.parametrize("name", REDUCED)
def test_filter_ascent_raises_the_same_filters(demo_model, name):
    """Ascent amplifies any rounding: on the demo's last conv (30 steps) float32 itself, with
    only its start image rounded to bfloat16, ends single filters up to 40 % apart (float16
    and bfloat16 up to 30 %), so a per-filter 5 % is no property of the precision. The check
    is the one a user reads, on a mid-network layer: the same filters rise, and the layer's
    mean final activation is within 5 %."""
    settings = FilterSettings(steps=15, size=64)
    layer, filters = ("separable_conv2d_5",), list(range(6))
    reference = visualize_filters(demo_model, layer, filters, settings)
    with using(resolve(name)):
        reduced = visualize_filters(demo_model, layer, filters, settings)

    def raised(result) -> set[int]:
        return {index for index in filters if result.losses[index] > result.start_losses[index]}

    assert raised(reduced) == raised(reference) and raised(reference)
    mean_reference = np.mean([reference.losses[index] for index in filters])
    mean_reduced = np.mean([reduced.losses[index] for index in filters])
    assert abs(mean_reduced / mean_reference - 1) < ASCENT_TOLERANCE


@pytest.mark.parametrize("application", ["VGG16", "ResNet50V2"])
def test_large_models_keep_their_maps(application):
    if not detect().cpu_bfloat16:
        pytest.skip("this processor has no bfloat16 units: bfloat16 is emulated, minutes per "
                    "method on VGG16/ResNet50V2")
    from convviz_gui.engine.models import open_model

    loaded = open_model(f"app:{application}:none")
    batch = np.random.default_rng(0).uniform(-1, 1, (1, *loaded.input_size(), 3)).astype(np.float32)
    reference = maps_at(loaded, batch, resolve("float32"))
    reduced = maps_at(loaded, batch, resolve("bfloat16"))
    for key in reference:
        if method_class(key).reduced_precision_ok:
            pearson, same_peak = agreement(reference[key], reduced[key])
            assert pearson >= MIN_PEARSON and same_peak, key


def test_auto_follows_the_hardware():
    cpu = Hardware(cpu="test", cpu_bfloat16=False, cpu_features="AVX2/FMA", onednn=False)
    assert auto_choice(cpu) == ("float32", "auto: no bfloat16 hardware, AVX2/FMA only")
    amx = Hardware(cpu="test", cpu_bfloat16=True, cpu_features="AMX-BF16", onednn=True,
                   speedup=4.2)
    assert auto_choice(amx) == ("bfloat16", "auto: AMX-BF16, 4.2x on a matmul")
    slow = Hardware(cpu="test", cpu_bfloat16=True, cpu_features="AVX512-BF16", onednn=True,
                    speedup=0.9)
    assert auto_choice(slow)[0] == "float32"
    ampere = Hardware(cpu="test", cpu_bfloat16=False, cpu_features="AVX2", onednn=False,
                      gpus=("A100 (compute capability 8.0)",), gpu_bfloat16=True, gpu_float16=True)
    assert auto_choice(ampere)[0] == "bfloat16"
    turing = Hardware(cpu="test", cpu_bfloat16=False, cpu_features="AVX2", onednn=False,
                      gpus=("T4 (compute capability 7.5)",), gpu_float16=True)
    assert auto_choice(turing)[0] == "float16"
    here = resolve("auto")
    assert here.requested == "auto"
    assert (here.name == "bfloat16") == (detect().cpu_bfloat16 and not detect().gpus
                                         and (detect().speedup or 0) >= 1.2)


def test_a_result_says_what_it_ran_in(squares):
    """Under ``auto``, a method that keeps float32 says so; the others the reduced type."""
    images, _, _ = make_images(1, seed=6, both=True)
    with using(Precision("auto", "bfloat16", "auto: AMX-BF16")):
        kept = make_cam(squares, method="saliency").explain(images.astype(np.float32))
        reduced = make_cam(squares, method="gradcam").explain(images.astype(np.float32))
    assert kept.to_dict((48, 48))["precision"] == \
        "float32 (auto: this method keeps float32, not bfloat16)"
    assert reduced.precision == "bfloat16 (auto: AMX-BF16)"


def test_lrp_says_it_computes_in_float32_whatever_is_asked(squares):
    """LRP's walk runs its rules on float32 tensors: asked for bfloat16, explicitly or by
    ``auto``, it says float32, and its map is float32's to the bit."""
    images, _, _ = make_images(1, seed=6, both=True)
    batch = images.astype(np.float32)
    reference = make_cam(squares, method="lrp-epsilon").explain(batch)
    for asked in (resolve("bfloat16"), Precision("auto", "bfloat16", "auto: AMX-BF16")):
        with using(asked):
            found = make_cam(squares, method="lrp-epsilon").explain(batch)
        assert found.precision == "float32 (LRP computes its rules in float32)"
        np.testing.assert_array_equal(found.raw, reference.raw)


def test_a_model_that_cannot_run_reduced_runs_in_float32(keras):
    """A custom layer with a float32 constant fails in bfloat16: the float32 build runs, and
    the model's notes say why."""
    import tensorflow as tf

    from ..conftest import wrap

    class TimesTwo(keras.layers.Layer):
        def call(self, inputs):
            return inputs * tf.constant(2.0, tf.float32)

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = TimesTwo(name="times_two")(x)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    loaded = wrap(keras.Model(inputs, outputs))
    batch = np.random.default_rng(0).uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)
    reference = make_cam(loaded, ("conv",), "gradcam").explain(batch).heatmap
    with using(resolve("bfloat16")):
        fallback = make_cam(loaded, ("conv",), "gradcam").explain(batch).heatmap
    np.testing.assert_array_equal(fallback, reference)
    assert any("cannot run in bfloat16" in note for note in loaded.notes)
