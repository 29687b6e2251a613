"""The plain pieces of a dataset analysis (NumPy arrays, numbers, strings): what the
window, the HTML report and the JSON read. Coordinates are in pixels, (x, y), x to the
right, y down; "image pixels" are the file's own (upright) pixels, "input pixels" the
model's input frame (the image fitted to the input size)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mistake:
    """An image whose predicted class is not its folder's class."""

    image: str  # path relative to the scanned folder (POSIX separators)
    true: int  # class index (the model's)
    predicted: int
    score: float  # the model's probability (output) of the predicted class
    true_score: float  # ... and of the true class


@dataclass(frozen=True)
class Cluster:
    """One strategy of the model for one predicted class: images whose explanation maps
    look alike (spectral relevance analysis).

    ``mean_map`` is the members' mean normalized map over the input frame (side x side,
    each member's map scaled to sum 1 before averaging, the mean then scaled to max 1);
    ``mean_image`` the members' mean input image, small (uint8 RGB, side x side);
    ``peak_xy`` the mean map's maximum in input pixels (``DatasetSummary.input_size``),
    ``peak_fraction`` the same as fractions of the input's width and height (put it on
    any image with x * width, y * height).
    """

    class_index: int
    members: tuple[str, ...]  # relative paths, in the folder's order
    mean_map: np.ndarray  # (side, side) float32 in [0, 1]
    mean_image: np.ndarray  # (side, side, 3) uint8
    peak_xy: tuple[int, int]
    peak_fraction: tuple[float, float]
    flagged: bool  # a possible shortcut (see ``clusters.flag``)
    reason: str  # one sentence: why flagged, or why not
    concentration: float  # mass share of the mean sharpened map in its densest 5 % (``clusters.flag``)
    spread: float  # median distance of the members' peaks to the mean peak, share of the diagonal


@dataclass(frozen=True)
class ClassStrategies:
    """The clusters of one predicted class. ``images`` were predicted as the class;
    ``sampled`` of them were clustered (a bounded sample, see ``summary.MapSketch``);
    ``eigengap`` the gaps of the normalized Laplacian's smallest eigenvalues that chose
    the number of clusters (empty when too few images to cluster)."""

    class_index: int
    label: str
    images: int
    sampled: int
    clusters: tuple[Cluster, ...]
    eigengap: tuple[float, ...] = ()


@dataclass(frozen=True)
class TopImage:
    """One of the images a channel responds to most."""

    image: str  # relative path
    value: float  # the channel's true maximum over the image's map
    xy: tuple[int, int]  # where, in image pixels (centre of the unit's receptive field)
    box: tuple[int, int, int, int]  # receptive field (x0, y0, x1, y1), image pixels, clipped
    image_size: tuple[int, int]  # (width, height) of the image file


@dataclass(frozen=True)
class ChannelTops:
    """The top images per channel of one layer, each list sorted by value, largest first
    (ties by path). ``receptive_field``: (width, height) of one unit's field in input pixels."""

    layer: str  # slash path
    top: tuple[tuple[TopImage, ...], ...]  # top[channel]
    receptive_field: tuple[int, int]
