"""The reference style's fused step (``featurevis.fused``): one compiled call gives the
images of the step-by-step loop it replaced, with and without XLA, and a model XLA cannot
compile runs without it, with the same answers."""

from __future__ import annotations

import numpy as np
import pytest

from convviz_gui.engine.featurevis.settings import FilterSettings

from ..conftest import wrap

SIZE = 24
STEPS = 12


@pytest.fixture(scope="module")
def wavy(keras):
    """A layer whose value is sin(conv(x)): steps of 10 jump past its peaks, so the
    backtracking takes steps back (both branches of the step run)."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((SIZE, SIZE, 3))
    conv = keras.layers.Conv2D(4, 3, kernel_initializer=keras.initializers.Constant(0.3))(inputs)
    wavy = keras.layers.Activation(keras.ops.sin, name="wavy")(conv)
    return wrap(keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(wavy)), name="wavy"))


def unfused_ascent(losses_of, start: np.ndarray, chosen, steps: int, learning_rate: float):
    """The step-by-step loop the fused step replaced, in NumPy around the compiled gradient:
    (final images after the last step's check, their values, how many steps were halved)."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.fused import gradient_step

    gradient = tf.function(gradient_step(losses_of))
    images, best, best_direction, best_values = start, None, None, None
    rates = np.full(len(start), learning_rate, np.float32)
    halved = 0
    for _ in range(steps):
        direction, values = (np.asarray(part) for part in gradient(tf.constant(images), chosen))
        if best is None:
            best, best_direction, best_values = images, direction, values
        better = values >= best_values
        halved += int(np.count_nonzero(~better))
        keep = better[:, None, None, None]
        best, best_direction = np.where(keep, images, best), np.where(keep, direction, best_direction)
        best_values = np.where(better, values, best_values)
        rates = np.where(better, rates, rates / 2).astype(np.float32)
        images = best + rates[:, None, None, None] * best_direction
    values = np.asarray(losses_of(tf.constant(images), chosen))
    back = values < best_values
    return np.where(back[:, None, None, None], best, images), np.where(back, best_values, values), halved


def fused_ascent(ascent, start: np.ndarray, chosen, steps: int, learning_rate: float):
    """The engine's batch of ``ascent``: (final images, their values)."""
    import tensorflow as tf

    from convviz_gui.engine.featurevis.reference import ReferenceBatch

    batch = ReferenceBatch(ascent, tf.constant(start), chosen, learning_rate, crop=0)
    for _ in range(steps):
        batch.step()
    values, _ = batch.evaluate()
    return batch.images.numpy(), values


def test_the_fused_step_gives_the_images_of_the_unfused_loop(wavy):
    import tensorflow as tf

    from convviz_gui.engine.featurevis import visualize_filters
    from convviz_gui.engine.featurevis.reference import ascent_step, filter_losses, start_images

    settings = FilterSettings(steps=STEPS, size=SIZE)
    start = start_images(wavy, 4, SIZE, SIZE, settings, np.random.default_rng(settings.seed))
    chosen = tf.constant([0, 1, 2, 3], tf.int32)
    losses_of = filter_losses(wavy, ("wavy",), 2, size=(SIZE, SIZE))
    expected, expected_values, halved = unfused_ascent(losses_of, start, chosen, STEPS, 10.0)
    assert halved > 0  # the backtracking ran
    for xla in (False, True):
        ascent = ascent_step(wavy, ("wavy",), settings, SIZE, SIZE, xla=xla)
        images, values = fused_ascent(ascent, start, chosen, STEPS, 10.0)
        assert ascent.uses_xla == xla
        np.testing.assert_allclose(images, expected, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(values, expected_values, rtol=1e-4, atol=1e-5)
    result = visualize_filters(wavy, ("wavy",), [0, 1, 2, 3], settings)  # the user's path
    np.testing.assert_allclose([result.losses[i] for i in range(4)], expected_values, rtol=1e-4,
                               atol=1e-5)


def test_a_model_xla_cannot_compile_runs_without_it_with_the_same_answers(wavy, caplog):
    """A string op (XLA has none) in the network: the XLA step fails to compile on its
    first call, says so, and the plain graph gives the plain step's answers."""
    import logging

    import tensorflow as tf

    from convviz_gui.engine.featurevis.fused import FusedAscent
    from convviz_gui.engine.featurevis.reference import filter_losses, start_images

    plain_losses = filter_losses(wavy, ("wavy",), 2, size=(SIZE, SIZE))

    def losses_of(images, filter_indices):
        digits = tf.strings.length(tf.strings.as_string(filter_indices))  # 1 for 0-9
        return plain_losses(images, filter_indices) * tf.cast(digits, tf.float32)

    start = start_images(wavy, 2, SIZE, SIZE, FilterSettings(), np.random.default_rng(1))
    chosen = tf.constant([1, 3], tf.int32)
    failing = FusedAscent(losses_of, SIZE, SIZE, 3, xla=True)
    with caplog.at_level(logging.INFO, logger="convviz_gui.engine.featurevis.fused"):
        images, values = fused_ascent(failing, start, chosen, 5, 10.0)
    assert not failing.uses_xla
    assert "XLA cannot compile this ascent step" in caplog.text
    expected_images, expected_values = fused_ascent(FusedAscent(plain_losses, SIZE, SIZE, 3, xla=False),
                                                    start, chosen, 5, 10.0)
    np.testing.assert_allclose(images, expected_images, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(values, expected_values, rtol=1e-5, atol=1e-6)


def test_previews_only_when_someone_listens(monkeypatch):
    """The Filters operation hands the engine a progress callback (and so previews) only
    when its context reports somewhere: the window does, the CLI's --json does not."""
    from convviz_gui.engine import featurevis
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.filters import Filters, filters

    handed = []
    run = featurevis.visualize_filters
    monkeypatch.setattr(featurevis, "visualize_filters",
                        lambda *args, **kwargs: handed.append(kwargs["progress"]) or run(*args, **kwargs))
    request = Filters(ModelRef("demo"), ("conv2d_1",), (1, 2), FilterSettings(steps=5, size=32))
    workspace, reported = Workspace(), []
    quiet = filters(request, OpContext(workspace))
    assert handed == [None] and sorted(quiet.filters.patterns) == [1, 2]
    heard = filters(request, OpContext(workspace, reported.append))
    assert handed[1] is not None and [update.step for update in reported] == [1, 2, 3, 4, 5]
    assert sorted(reported[-1].previews) == [1, 2] and reported[-1].previews[1].shape == (24, 24)
    assert quiet.filters.losses == pytest.approx(heard.filters.losses)  # the same patterns either way


def test_automatic_batches_start_small_for_an_early_preview(wavy, keras):
    """At 200 px the first batch has 2 filters (its preview comes as early as it did), the
    next ones 4 (the measured best); an explicit batch size is kept for every batch."""
    from convviz_gui.engine.featurevis import visualize_filters
    from convviz_gui.engine.featurevis.batches import chunks

    inputs = keras.Input((None, None, 3))
    loaded = wrap(keras.Model(inputs, keras.layers.Conv2D(8, 3, name="conv")(inputs), name="plain"))
    seen = []
    result = visualize_filters(loaded, ("conv",), list(range(7)), FilterSettings(steps=1),
                               progress=seen.append)
    assert [update.batch for update in seen] == [2, 4, 1] and sorted(result.patterns) == list(range(7))
    assert FilterSettings().batch_for(100, 100, first=True) == 8
    assert FilterSettings(batch_size=3).batch_for(200, 200, first=True) == 3
    assert chunks([], 4, 2) == [] and chunks([1, 2, 3], 4) == [[1, 2, 3]]
