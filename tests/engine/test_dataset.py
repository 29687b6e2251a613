"""The dataset analysis (issue 24) on a model trained here on a dataset with a known
shortcut (tests/shortcut_data.py): the flagged cluster, the confusion matrix, the channels'
top images, shards that merge, a scan that resumes, skipped files and flat folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests import shortcut_data
from tests.whole_marker import assert_drawn_whole

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def shortcut(tmp_path_factory):
    """(model path, labelled folder, {relative path: (class, marked)})."""
    root = tmp_path_factory.mktemp("shortcut")
    folder = root / "data"
    written = shortcut_data.write_folder(folder)
    return shortcut_data.save_model(root), folder, written


def analyze(model: Path, folder: Path, **settings):
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.dataset import Dataset
    from convviz_gui.ops.registry import run

    progress = settings.pop("progress", [])
    context = OpContext(Workspace(), progress.append, settings.pop("cancelled", None))
    result = run(Dataset(ModelRef(str(model)), str(folder), **{"cache": False, **settings}), context)
    return result, progress


@pytest.fixture(scope="module")
def baseline(shortcut):
    model, folder, _ = shortcut
    return analyze(model, folder, top_k=5)[0]


def test_the_shortcut_images_form_a_flagged_cluster_peaking_on_the_mark(shortcut, baseline):
    _, _, written = shortcut
    marked = {name for name, (_, is_marked) in written.items() if is_marked}
    red = next(item for item in baseline.strategies if item.label == "red")
    flagged = [cluster for cluster in red.clusters if cluster.flagged]
    assert len(flagged) == 1, [cluster.reason for cluster in red.clusters]
    cluster = flagged[0]
    assert set(cluster.members) == marked
    x0, y0, x1, y1 = shortcut_data.MARK
    assert x0 - 2 <= cluster.peak_xy[0] < x1 + 2 and y0 - 2 <= cluster.peak_xy[1] < y1 + 2
    assert "top left corner" in cluster.reason and cluster.reason.startswith("Possible shortcut")
    assert cluster.mean_image.shape == (32, 32, 3) and cluster.mean_image[1, 1].min() > 200  # the mark
    others = [item for item in baseline.strategies for c in item.clusters if c.flagged and c is not cluster]
    assert not others  # the squares move from image to image: no strategy of theirs is flagged


def test_the_confusion_matrix_equals_one_computed_directly(shortcut, baseline):
    from PIL import Image

    _, folder, written = shortcut
    names = sorted(written)
    pixels = np.stack([np.asarray(Image.open(folder / name), np.float32) for name in names])
    predicted = shortcut_data.trained_model().predict(pixels, verbose=0).argmax(axis=1)
    truth = np.array([written[name][0] for name in names])
    expected = np.zeros((2, 2), np.int64)
    np.add.at(expected, (truth, predicted), 1)
    assert baseline.labelled and baseline.classes == ("red", "blue")
    assert np.array_equal(baseline.confusion, expected)
    assert baseline.accuracy == pytest.approx(np.trace(expected) / expected.sum())
    for index in range(2):
        correct = expected[index, index]
        if expected[:, index].sum():
            assert baseline.precision[index] == pytest.approx(correct / expected[:, index].sum())
        assert baseline.recall[index] == pytest.approx(correct / expected[index].sum())
    wrong = {name for name, guess, true in zip(names, predicted, truth) if guess != true}
    assert {item.image for item in baseline.mistakes} == wrong


def test_top_k_values_are_the_true_channel_maxima_sorted(shortcut, baseline):
    from PIL import Image

    keras = pytest.importorskip("keras")
    _, folder, written = shortcut
    names = sorted(written)
    pixels = np.stack([np.asarray(Image.open(folder / name), np.float32) for name in names])
    model = shortcut_data.trained_model()
    maps = keras.Model(model.inputs, model.get_layer("last_conv").output).predict(pixels, verbose=0)
    maxima = maps.max(axis=(1, 2))  # (images, channels)
    assert baseline.channels.layer == "last_conv" and len(baseline.channels.top) == maps.shape[-1]
    assert baseline.channels.receptive_field == (8, 8)  # 3x3 conv, 2x2 pool, 3x3 conv
    for channel, top in enumerate(baseline.channels.top):
        values = [item.value for item in top]
        assert values == sorted(values, reverse=True)
        np.testing.assert_allclose(values, np.sort(maxima[:, channel])[::-1][:5], rtol=1e-5, atol=1e-6)
        for item in top:
            index = names.index(item.image)
            assert item.value == pytest.approx(maxima[index, channel], rel=1e-5, abs=1e-6)
            row, column = np.unravel_index(maps[index, ..., channel].argmax(), maps.shape[1:3])
            if item.value > 0:  # the unit of the maximum: 2 input pixels per unit after the pool
                assert 2 * column <= item.xy[0] < 2 * column + 2 and 2 * row <= item.xy[1] < 2 * row + 2
            x0, y0, x1, y1 = item.box
            assert x0 <= item.xy[0] < x1 and y0 <= item.xy[1] < y1 and x1 - x0 <= 8 and y1 - y0 <= 8


def test_the_receptive_field_is_the_input_gradient_support(keras):
    import tensorflow as tf

    from convviz_gui.engine.dataset.receptive import receptive_field

    layers = keras.layers
    inputs = keras.Input((36, 42, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)
    x = layers.Add()([layers.Conv2D(4, 5, strides=2, padding="same")(x),
                      layers.Conv2D(4, 1, strides=2)(x)])
    x = layers.AveragePooling2D(2)(x)
    x = layers.ZeroPadding2D(((1, 0), (2, 1)))(layers.Conv2D(4, 3, dilation_rate=2)(x))
    outputs = layers.DepthwiseConv2D(3, strides=2, padding="same", name="target")(x)
    model = keras.Model(inputs, outputs)  # linear: every pixel of the field has a gradient
    field = receptive_field(model, ("target",))
    height, width = outputs.shape[1:3]
    # (unit (0, 0) sees only padding here: no gradient at all)
    for row, column in [(0, 2), (height // 2, width // 2), (height - 1, width - 1)]:
        image = tf.constant(np.random.default_rng(row).random((1, 36, 42, 3), np.float32))
        with tf.GradientTape() as tape:
            tape.watch(image)
            unit = tf.reduce_sum(model(image)[0, row, column])
        support = np.abs(tape.gradient(unit, image).numpy()[0]).sum(axis=-1) > 0
        ys, xs = np.nonzero(support)
        assert field.box(row, column, (36, 42)) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_two_shards_merge_to_one_scan_of_both(shortcut):
    from convviz_gui.engine.dataset.folder import list_dataset
    from convviz_gui.engine.dataset.shard import scan_shard
    from convviz_gui.engine.dataset.summary import merge
    from convviz_gui.engine.models import open_model
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.dataset import Dataset, scan_settings

    model, folder, _ = shortcut
    loaded = open_model(str(model))
    files = list_dataset(folder, loaded.labels).files
    settings = scan_settings(Dataset(ModelRef(str(model)), str(folder), batch_size=16, top_k=4,
                                     mistakes=3), loaded)
    first, second = scan_shard(loaded, files[:40], settings), scan_shard(loaded, files[40:], settings)
    whole = scan_shard(loaded, files, settings)
    for merged in (merge(first, second), merge(second, first)):
        assert merged.images == whole.images == len(files)
        assert np.array_equal(merged.confusion, whole.confusion)
        assert np.array_equal(merged.predicted, whole.predicted)
        assert [m.image for m in merged.mistakes] == [m.image for m in whole.mistakes]
        np.testing.assert_allclose(merged.tops.values, whole.tops.values, rtol=1e-5, atol=1e-6)
        assert np.array_equal(merged.tops.position, whole.tops.position)
        assert [[merged.tops.table[i][0] for i in row] for row in merged.tops.image] == \
            [[whole.tops.table[i][0] for i in row] for row in whole.tops.image]
        assert merged.sketches.keys() == whole.sketches.keys()
        for index, sketch in whole.sketches.items():
            assert merged.sketches[index].images == sketch.images
            np.testing.assert_allclose(merged.sketches[index].maps, sketch.maps, atol=2e-3)


def test_an_interrupted_scan_resumes_and_gives_the_same_result(shortcut, baseline, tmp_path, monkeypatch):
    from convviz_gui.engine.cam import ExplanationCancelled
    from convviz_gui.ops import dataset as dataset_ops

    model, folder, _ = shortcut
    monkeypatch.setattr(dataset_ops, "SHARD_BATCHES", 2)  # shards of 16 images
    settings = {"top_k": 5, "batch_size": 8, "cache": True, "cache_dir": str(tmp_path)}
    seen: list = []

    def after_five_batches() -> bool:
        return sum(1 for item in seen if item.stage == "Scanning images") >= 5

    with pytest.raises(ExplanationCancelled):
        analyze(model, folder, cancelled=after_five_batches, progress=seen, **settings)
    assert seen[-1].done == 40  # five batches of 8: two shards of 16 kept, the third lost
    resumed, progress = analyze(model, folder, **settings)
    assert resumed.resumed == 32 and progress[2].resumed == 32 and not resumed.cached
    assert np.array_equal(resumed.confusion, baseline.confusion)
    for mine, theirs in zip(resumed.channels.top, baseline.channels.top):
        assert [item.image for item in mine] == [item.image for item in theirs]
        np.testing.assert_allclose([item.value for item in mine], [item.value for item in theirs], rtol=1e-5)
    assert [[c.members for c in s.clusters] for s in resumed.strategies] == \
        [[c.members for c in s.clusters] for s in baseline.strategies]
    again, progress = analyze(model, folder, **settings)
    assert again.cached and not progress and np.array_equal(again.confusion, baseline.confusion)


def test_a_receptive_field_larger_than_the_input_is_said_on_the_channels_view(shortcut, tmp_path, keras):
    """Three 7x7 convolutions on a 16 px input: a 19 px field, said to be larger than the
    input where the Channels view gives it; each maximum's + is drawn whole."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from convviz_gui.figures.dataset import ChannelView
    from convviz_gui.figures.registry import figure_for
    from convviz_gui.ops.export import FigureStyle

    inputs = keras.Input((16, 16, 3))
    x = inputs
    for index in range(3):
        x = keras.layers.Conv2D(4, 7, padding="same", activation="relu", name=f"wide{index}")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    path = tmp_path / "wide.keras"
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(path)
    result, _ = analyze(path, shortcut[1], top_k=3, layer=("wide2",))
    assert result.channels.receptive_field == (19, 19) and result.input_size == (16, 16)
    title = " ".join(figure_for(ChannelView(result, 0), FigureStyle())._suptitle.get_text().split())
    assert "receptive field 19 px: larger than the 16 px input, units near its centre see " \
           "the whole image" in title
    figure = figure_for(ChannelView(result, 0), FigureStyle())
    markers = [line for ax in figure.axes for line in ax.lines if line.get_marker() == "+"]
    assert len(markers) == len(result.channels.top[0]) == 3
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    for line in markers:
        assert_drawn_whole(line, renderer)


def _fake_scan(root: Path, number: int, size: int, used: float) -> Path:
    """A scan folder as ``ScanCache`` writes it: a key name, shard and result pickles."""
    folder = root / f"{number:032x}"
    folder.mkdir(parents=True)
    (folder / "shard-000000.pkl").write_bytes(b"s" * (size - 10))
    (folder / "result.pkl").write_bytes(b"r" * 10)
    os.utime(folder, (used, used))
    return folder


def test_prune_removes_the_least_recently_used_scans_beyond_the_budget(tmp_path):
    from convviz_gui.engine.dataset.cache import prune

    scans = [_fake_scan(tmp_path, number, 400, 1_000_000 + number) for number in range(5)]
    foreign = tmp_path / "notes"  # the user's own folder in a cache_dir they chose
    foreign.mkdir()
    (tmp_path / "readme.txt").write_text("mine")
    oldest = scans[0].name  # the scan starting: kept whatever its age
    removed = prune(tmp_path, keep=oldest, budget_bytes=1000, budget_scans=10)
    assert sorted(removed) == scans[1:4]  # the starting scan and the newest fit 1000 bytes
    assert [scan.exists() for scan in scans] == [True, False, False, False, True]
    assert foreign.is_dir() and (tmp_path / "readme.txt").exists()
    assert prune(tmp_path, keep=scans[4].name, budget_scans=1) == [scans[0]]
    assert prune(tmp_path / "absent") == []


def test_a_scan_prunes_the_cache_to_its_budget(shortcut, tmp_path, monkeypatch):
    from convviz_gui.engine.dataset import cache

    model, folder, _ = shortcut
    monkeypatch.setattr(cache, "BUDGET_SCANS", 2)
    old = _fake_scan(tmp_path, 7, 100, 1_000_000)
    analyze(model, folder, top_k=2, cache=True, cache_dir=str(tmp_path))
    analyze(model, folder, top_k=3, cache=True, cache_dir=str(tmp_path))
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert len(kept) == 2 and old.name not in kept  # the two scans, the oldest pruned
    assert all((tmp_path / name / "result.pkl").is_file() for name in kept)
    first = analyze(model, folder, top_k=2, cache=True, cache_dir=str(tmp_path))[0]
    assert first.cached  # the first scan was used again, not pruned
