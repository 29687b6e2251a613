"""The shard function: a list of image files in, a ``Summary`` out (one loaded model,
batches of ``settings.batch_size``). Every image's numbers depend on that image only, so
any split of a folder into shards merges to the same summary; this is the function a Ray
actor maps over the folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from convviz_gui.engine.cam.base import ExplanationCancelled, resize_map
from convviz_gui.engine.dataset.folder import UNLABELLED
from convviz_gui.engine.dataset.results import Mistake
from convviz_gui.engine.dataset.summary import (
    SKETCH_SIDE,
    THUMB_SIDE,
    ChannelTopK,
    ClassSketch,
    ScanSettings,
    Summary,
    empty_summary,
    largest,
    merge,
    path_priority,
)
from convviz_gui.engine.errors import ConvVizError

if TYPE_CHECKING:
    from convviz_gui.engine.images import LoadedImage
    from convviz_gui.engine.models import LoadedModel

File = tuple[str, int]  # (relative path, true class or UNLABELLED)


def shard_slices(count: int, size: int) -> list[slice]:
    """The shards of ``count`` files, ``size`` each (the last one shorter)."""
    size = max(1, size)
    return [slice(start, min(count, start + size)) for start in range(0, count, size)]


def scan_shard(loaded: LoadedModel, files: Sequence[File], settings: ScanSettings,
               on_batch: Callable[[int], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> Summary:
    """The summary of ``files`` (paths relative to ``settings.folder``).

    Args:
        on_batch: called after each batch with the number of files it read.
        cancelled: polled before each batch; True raises ``ExplanationCancelled``.
    """
    summary = empty_summary(settings)
    for part in shard_slices(len(files), settings.batch_size):
        if cancelled is not None and cancelled():
            raise ExplanationCancelled("Cancelled.")
        summary = merge(summary, scan_batch(loaded, files[part], settings))
        if on_batch is not None:
            on_batch(part.stop - part.start)
    return summary


def _read(loaded: LoadedModel, root: Path, files: Sequence[File], settings: ScanSettings
          ) -> tuple[list[tuple[File, LoadedImage]], list[np.ndarray], list[tuple[str, str]]]:
    """The readable files with their images and model inputs, and the skipped ones."""
    from convviz_gui.engine.images import load_image

    height, width = loaded.input_size()
    readable, batches, skipped = [], [], []
    for item in files:
        try:
            image = load_image(root / item[0], max_side=max(256, 2 * max(height, width)))
            batches.append(loaded.prepare(image, settings.preset or None, settings.fit))
        except ConvVizError as error:
            skipped.append((item[0], str(error)))
            continue
        readable.append((item, image))
    return readable, batches, skipped


def sketch_map(heatmap: np.ndarray) -> np.ndarray | None:
    """The map clustered: ``SKETCH_SIDE`` square, its median (the background level the
    gradient CAMs leave everywhere) taken away, scaled to max 1 (float16); None when
    nothing stands above the median."""
    small = resize_map(heatmap, SKETCH_SIDE, SKETCH_SIDE)
    small = np.clip(small - float(np.median(small)), 0, None)
    peak = float(small.max())
    return None if peak <= 1e-6 else (small / peak).astype(np.float16)


def _forward(loaded: LoadedModel, batch: np.ndarray, settings: ScanSettings
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(channel layer's activations, explained output, probabilities) in one pass."""
    import tensorflow as tf

    from convviz_gui.engine.cam.scoring import forward_function

    weights = np.zeros([dim or 1 for dim in loaded.output_shape[1:]], np.float32)  # unused scores
    features, _, explained, outputs = forward_function(loaded, settings.score, (settings.channel_layer,))(
        tf.constant(batch), tf.constant(weights))
    return features[0].numpy(), explained.numpy(), outputs.numpy()


def scan_batch(loaded: LoadedModel, files: Sequence[File], settings: ScanSettings) -> Summary:
    """The summary of one batch of files: one forward pass for the outputs and the channel
    layer's activations, one forward/backward for the maps (gradient CAMs)."""
    from convviz_gui.engine.cam import make_cam
    from convviz_gui.engine.images import fit_to_input

    summary = empty_summary(settings)
    readable, batches, skipped = _read(loaded, Path(settings.folder), files, settings)
    if not readable:
        return Summary(**{**summary.__dict__, "skipped": tuple(sorted(skipped))})
    batch = np.concatenate(batches).astype(np.float32)
    features, explained, outputs = _forward(loaded, batch, settings)
    probabilities = outputs.reshape(len(batch), -1)
    predicted = probabilities.argmax(axis=1)
    explainer = make_cam(loaded, settings.layer, settings.method, settings.score,
                         preset=settings.preset or None)
    cams = explainer.explain_many(batch, [None] * len(batch), (explained, outputs))
    activations = np.asarray(features, np.float32)
    if not np.all(np.isfinite(activations)):
        raise ConvVizError(f"{'/'.join(settings.channel_layer)} produced NaN or infinite values.")

    count = settings.class_count
    truth = np.array([item[1] for item, _ in readable])
    labelled = truth != UNLABELLED
    confusion = np.zeros((count, count), np.int64)
    np.add.at(confusion, (truth[labelled], predicted[labelled]), 1)
    mistakes = tuple(
        Mistake(item[0], int(true), int(guess), float(probabilities[i, guess]),
                float(probabilities[i, true]))
        for i, ((item, _), true, guess) in enumerate(zip(readable, truth, predicted))
        if true != UNLABELLED and true != guess)

    height, width = loaded.input_size()
    groups: dict[int, list[tuple[int, str, np.ndarray, np.ndarray, tuple[float, float]]]] = {}
    blank = 0
    for i, ((item, image), cam) in enumerate(zip(readable, cams)):
        small = sketch_map(cam.heatmap)
        if small is None:
            blank += 1  # nothing to cluster: its map is flat
            continue
        heatmap = cam.heatmap
        thumb = np.asarray(fit_to_input(image, height, width, settings.fit).resize(
            (THUMB_SIDE, THUMB_SIDE)).convert("RGB"), np.uint8)
        row, column = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
        peak = ((column + 0.5) / heatmap.shape[1], (row + 0.5) / heatmap.shape[0])
        groups.setdefault(int(predicted[i]), []).append(
            (path_priority(item[0]), item[0], small, thumb, peak))
    sketches = {}
    for index, entries in sorted(groups.items()):
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        entries = entries[:settings.sketch_cap]
        sketches[index] = ClassSketch(
            np.array([entry[0] for entry in entries], np.int64), tuple(entry[1] for entry in entries),
            np.stack([entry[2] for entry in entries]), np.stack([entry[3] for entry in entries]),
            np.array([entry[4] for entry in entries], np.float32))

    flat = activations.reshape(len(batch), -1, activations.shape[-1])
    values, positions = flat.max(axis=1).T, flat.argmax(axis=1).T.astype(np.int32)  # (C, n)
    image_ids = np.broadcast_to(np.arange(len(batch), dtype=np.int32), values.shape)
    table = tuple((item[0], image.size) for item, image in readable)
    tops = largest(ChannelTopK(values, image_ids, positions, table,
                               (int(activations.shape[1]), int(activations.shape[2]))),
                   settings.top_k)
    return Summary(len(readable), tuple(sorted(skipped)), int(labelled.sum()), confusion,
                   np.bincount(predicted, minlength=count).astype(np.int64), blank,
                   tuple(sorted(mistakes, key=lambda item: (-item.score, item.image))[:settings.mistakes]),
                   summary.limits, sketches, tops)
