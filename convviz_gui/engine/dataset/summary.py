"""What a shard of images leaves behind (``Summary``) and how two summaries merge.

``merge`` is associative and commutative, and a summary's size is bounded whatever the
number of images: the confusion counts (C x C), at most ``mistakes`` mistakes, at most
``sketch_cap`` small maps per predicted class (a deterministic sample: the images with the
smallest hash of their relative path, so any split of the files keeps the same ones), the
``top_k`` images per channel (true spatial maxima), and the skipped files' reasons.
Ties are broken by the image's relative path, so the order of merging never matters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from convviz_gui.engine.dataset.results import Mistake
from convviz_gui.engine.layers import LayerPath

SKETCH_SIDE = 16  # the maps clustered per class are SKETCH_SIDE x SKETCH_SIDE (float16)
THUMB_SIDE = 32  # the images averaged into a cluster's mean image (uint8 RGB)
SKETCH_BUDGET = 20_000  # maps kept over all classes (about 70 MB at most)
SKETCH_CAP_RANGE = (16, 500)  # per-class cap: SKETCH_BUDGET / classes, clipped to this


def sketch_cap_for(class_count: int) -> int:
    """Maps kept per predicted class for a model with ``class_count`` classes."""
    return int(np.clip(SKETCH_BUDGET // max(1, class_count), *SKETCH_CAP_RANGE))


@dataclass(frozen=True)
class ScanSettings:
    """Everything a shard needs besides the model (plain and picklable, so a Ray actor can
    get it): the folder the relative paths start from, the resolved layers, the method."""

    folder: str
    class_count: int
    layer: LayerPath  # explained by ``method`` for the strategies
    channel_layer: LayerPath  # whose channels' top images are kept
    method: str = "Grad-CAM"
    score: str = "logit"
    preset: str = ""
    fit: str = "stretch"
    top_k: int = 9
    mistakes: int = 50
    batch_size: int = 16
    sketch_cap: int = SKETCH_CAP_RANGE[1]


def path_priority(image: str) -> int:
    """A deterministic pseudo-random 63-bit number of a relative path (the sample order)."""
    return int.from_bytes(hashlib.blake2b(image.encode(), digest_size=8).digest(), "big") >> 1


@dataclass(frozen=True)
class ClassSketch:
    """The kept maps of one predicted class: ``images[i]``'s map (SKETCH_SIDE^2, max 1,
    float16), its fitted input image (THUMB_SIDE^2 RGB) and its map's peak as fractions of
    the input's (width, height)."""

    priority: np.ndarray  # (n,) int64, from ``path_priority``
    images: tuple[str, ...]
    maps: np.ndarray  # (n, s, s) float16
    thumbs: np.ndarray  # (n, t, t, 3) uint8
    peaks: np.ndarray  # (n, 2) float32


@dataclass(frozen=True)
class ChannelTopK:
    """The ``k`` largest per-image maxima of every channel: ``values[c]`` sorted descending
    (``-inf`` where fewer images were seen), ``image[c]`` indexes ``table`` (-1: none),
    ``position[c]`` is the flat index of the maximum in the layer's (h, w) map."""

    values: np.ndarray  # (C, k) float32
    image: np.ndarray  # (C, k) int32
    position: np.ndarray  # (C, k) int32
    table: tuple[tuple[str, tuple[int, int]], ...]  # (relative path, (width, height))
    map_size: tuple[int, int]  # (h, w) of the layer's map


@dataclass(frozen=True)
class Summary:
    """What some images leave behind (see the module's docstring); ``confusion`` counts the
    labelled images (rows true, columns predicted), ``predicted`` every image."""

    images: int
    skipped: tuple[tuple[str, str], ...]
    labelled: int
    confusion: np.ndarray  # (C, C) int64
    predicted: np.ndarray  # (C,) int64
    blank_maps: int  # images whose map was zero everywhere (not clustered)
    mistakes: tuple[Mistake, ...]
    limits: tuple[int, int, int]  # (top_k, mistakes, sketch_cap) kept
    sketches: dict[int, ClassSketch] = field(default_factory=dict)
    tops: ChannelTopK | None = None


def empty_summary(settings: ScanSettings) -> Summary:
    """The summary of no images (``merge``'s identity)."""
    count = settings.class_count
    return Summary(0, (), 0, np.zeros((count, count), np.int64), np.zeros(count, np.int64), 0, (),
                   (settings.top_k, settings.mistakes, settings.sketch_cap))


def merge(first: Summary, second: Summary) -> Summary:
    """The summary of both summaries' images (associative and commutative; both from the
    same ``ScanSettings``)."""
    top_k, mistakes_kept, sketch_cap = first.limits
    sketches = dict(first.sketches)
    for index, sketch in second.sketches.items():
        sketches[index] = merge_sketches(sketches[index], sketch, sketch_cap) \
            if index in sketches else sketch
    mistakes = sorted(first.mistakes + second.mistakes, key=lambda item: (-item.score, item.image))
    return Summary(
        first.images + second.images, tuple(sorted(first.skipped + second.skipped)),
        first.labelled + second.labelled, first.confusion + second.confusion,
        first.predicted + second.predicted, first.blank_maps + second.blank_maps,
        tuple(mistakes[:mistakes_kept]), first.limits, dict(sorted(sketches.items())),
        merge_tops(first.tops, second.tops, top_k))


def merge_sketches(first: ClassSketch, second: ClassSketch, cap: int) -> ClassSketch:
    """The ``cap`` entries of both with the smallest priorities (then paths)."""
    images = first.images + second.images
    priority = np.concatenate([first.priority, second.priority])
    keep = np.lexsort((np.array(images), priority))[:cap]  # by priority, then path
    return ClassSketch(priority[keep], tuple(images[i] for i in keep),
                       np.concatenate([first.maps, second.maps])[keep],
                       np.concatenate([first.thumbs, second.thumbs])[keep],
                       np.concatenate([first.peaks, second.peaks])[keep])


def merge_tops(first: ChannelTopK | None, second: ChannelTopK | None, k: int) -> ChannelTopK | None:
    """Per channel, the ``k`` largest of both (see ``largest``)."""
    if first is None or second is None:
        return first if second is None else second
    table = first.table + second.table
    values = np.concatenate([first.values, second.values], axis=1)
    image = np.concatenate([first.image, np.where(second.image >= 0, second.image + len(first.table),
                                                  -1)], axis=1)
    position = np.concatenate([first.position, second.position], axis=1)
    return largest(ChannelTopK(values, image, position, table, first.map_size), k)


def largest(tops: ChannelTopK, k: int) -> ChannelTopK:
    """Per channel, the ``k`` largest values of ``tops`` (ties: the smaller relative path
    first), sorted, with the image table reduced to the images still referenced."""
    table, values, image, position = tops.table, tops.values, tops.image, tops.position
    names = np.array([name for name, _ in table] + ["\U0010ffff"])  # index -1: after every path
    rank = np.argsort(np.argsort(names, kind="stable"), kind="stable")
    for by_value in (False, True):  # by path, then (stable) by value: value desc, path asc
        order = np.argsort(-values if by_value else rank[image], axis=1, kind="stable")
        values, image, position = (np.take_along_axis(array, order, axis=1)
                                   for array in (values, image, position))
    values, image, position = values[:, :k], image[:, :k], position[:, :k]
    used = np.unique(image[image >= 0])
    remap = np.full(len(table) + 1, -1, np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return ChannelTopK(values, remap[image], position, tuple(table[i] for i in used), tops.map_size)


def with_skipped(summary: Summary, skipped: tuple[tuple[str, str], ...]) -> Summary:
    """The summary with more skipped files."""
    return replace(summary, skipped=tuple(sorted(summary.skipped + skipped)))
