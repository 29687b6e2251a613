"""Spectral relevance analysis (SpRAy; Lapuschkin et al. 2019, "Unmasking Clever Hans
predictors and assessing what machines really learn", Nat. Commun. 10:1096, Sec. "Spectral
relevance analysis"): the explanation maps of the images predicted as one class,
downsampled and normalized, clustered by spectral clustering; the number of clusters is
where the eigengap of the affinity's normalized Laplacian is largest.

Differences from the paper: the maps (gradient CAMs, not LRP) have their median taken
away and are squared before they are compared (``shard.sketch_map``, ``sharpened``); the
affinity is the self-tuning Gaussian kernel of Zelnik-Manor and Perona 2004 (the paper uses
a k-nearest-neighbour graph); clusters are flagged automatically as possible shortcuts
(``flag``) instead of by eye.
"""

from __future__ import annotations

import numpy as np

from convviz_gui.engine.dataset.results import ClassStrategies, Cluster
from convviz_gui.engine.dataset.summary import ClassSketch

MIN_IMAGES = 6  # fewer maps than this are one cluster (nothing to separate)
MAX_CLUSTERS = 8
NEIGHBOURS = (3, 7)  # sigma_i: the distance to the ceil(log2 n)-th neighbour, within these
# A possible shortcut: >= CONCENTRATED of the mass of the members' mean sharpened map
# (``sharpened``) in its densest AREA share of cells, the members' peaks within SPREAD of
# the image diagonal of the mean peak (median), and at least MIN_MEMBERS members.
CONCENTRATED, AREA, SPREAD, MIN_MEMBERS = 0.4, 0.05, 0.05, 3


def choose_cluster_count(affinity: np.ndarray, most: int = MAX_CLUSTERS) -> tuple[int, tuple[float, ...]]:
    """The number of clusters with the largest eigengap of the normalized Laplacian, and
    the gaps (``gaps[k - 1]`` = lambda_{k+1} - lambda_k, eigenvalues ascending)."""
    from scipy.linalg import eigh
    from scipy.sparse.csgraph import laplacian

    count = min(most, len(affinity) - 1)
    eigenvalues = eigh(laplacian(affinity, normed=True), eigvals_only=True,
                       subset_by_index=[0, count])
    gaps = np.diff(eigenvalues)
    return int(np.argmax(gaps)) + 1, tuple(round(float(gap), 6) for gap in gaps)


def self_tuning_affinity(points: np.ndarray) -> np.ndarray:
    """exp(-d_ij^2 / (sigma_i sigma_j)) with sigma_i the distance to the k-th nearest point
    (Zelnik-Manor and Perona 2004 use k = 7; here k = ceil(log2 n) within ``NEIGHBOURS``, so
    that a small group of alike maps in a small class stays apart); zero diagonal."""
    from sklearn.metrics import pairwise_distances

    distances = pairwise_distances(points)
    neighbour = int(np.clip(np.ceil(np.log2(len(points))), *NEIGHBOURS))
    sigma = np.sort(distances, axis=1)[:, min(neighbour, len(points) - 1)]
    sigma = np.maximum(sigma, 1e-9)
    affinity = np.exp(-distances**2 / np.outer(sigma, sigma))
    np.fill_diagonal(affinity, 0.0)
    return affinity


def sharpened(maps: np.ndarray) -> np.ndarray:
    """The maps squared, each scaled to sum 1 (float64): where each map peaks counts more
    than its weak tails (the gradient CAMs spread a low relevance over much of the image)."""
    squared = np.asarray(maps, np.float64) ** 2
    return squared / np.maximum(squared.sum(axis=(1, 2), keepdims=True), 1e-12)


def cluster_maps(maps: np.ndarray) -> tuple[np.ndarray, tuple[float, ...]]:
    """Cluster labels of the (n, s, s) maps (``sharpened``) and the eigengaps."""
    from sklearn.cluster import SpectralClustering

    if len(maps) < MIN_IMAGES:
        return np.zeros(len(maps), np.int64), ()
    points = sharpened(maps).reshape(len(maps), -1)
    affinity = self_tuning_affinity(points)
    count, gaps = choose_cluster_count(affinity)
    if count == 1:
        return np.zeros(len(maps), np.int64), gaps
    labels = SpectralClustering(count, affinity="precomputed", assign_labels="cluster_qr",
                                random_state=0).fit_predict(affinity)
    return labels, gaps


def flag(sharp_mean: np.ndarray, peaks: np.ndarray, mean_peak: tuple[float, float],
         input_size: tuple[int, int]) -> tuple[bool, str, float, float]:
    """(flagged, reason, concentration, spread) of a cluster: concentration is the share
    of the members' mean sharpened map's mass in its densest ``AREA`` of cells, spread the
    median distance of the members' peaks (fractions) to the mean peak, over the diagonal."""
    width, height = input_size
    values = np.sort(sharp_mean.ravel())[::-1]
    concentration = float(values[:max(1, round(AREA * values.size))].sum() / max(values.sum(), 1e-12))
    offsets = (peaks - np.array(mean_peak)) * np.array([width, height])
    spread = float(np.median(np.hypot(offsets[:, 0], offsets[:, 1])) / np.hypot(width, height))
    where = _place(mean_peak)
    x, y = round(mean_peak[0] * width), round(mean_peak[1] * height)
    share = f"{concentration:.0%} of the relevance lies in {AREA:.0%} of the image"
    if len(peaks) < MIN_MEMBERS:
        return False, f"Too few images ({len(peaks)}) to call it a strategy.", concentration, spread
    if concentration < CONCENTRATED:
        return False, f"Relevance is spread out: only {share}.", concentration, spread
    if spread > SPREAD:
        return False, (f"Relevance is concentrated ({share}) but moves between images "
                       f"(peaks {spread:.0%} of the diagonal apart), as an object does."), \
            concentration, spread
    centred = (" In the centre this may be the object itself, if the photos are centred on it."
               if where == "(the centre)" else "")
    return True, (f"Possible shortcut: {share}, at ({x}, {y}) of the {width}x{height} model input "
                  f"{where}, in the same place for all {len(peaks)} images (peaks {spread:.0%} of "
                  f"the diagonal apart).{centred}"), concentration, spread


def _place(peak: tuple[float, float]) -> str:
    """"top left corner", "centre", "bottom edge"... for a point in fractions."""
    column = "left" if peak[0] < 1 / 3 else "right" if peak[0] > 2 / 3 else ""
    row = "top" if peak[1] < 1 / 3 else "bottom" if peak[1] > 2 / 3 else ""
    if row and column:
        return f"(the {row} {column} corner)"
    return f"(the {row or column} edge)" if row or column else "(the centre)"


def class_strategies(index: int, label: str, images: int, sketch: ClassSketch,
                     folder_order: dict[str, int], input_size: tuple[int, int]) -> ClassStrategies:
    """The clusters of one predicted class's kept maps, largest first; members in the
    folder's order (``folder_order``: relative path -> position)."""
    maps = sketch.maps.astype(np.float32)
    labels, gaps = cluster_maps(maps)
    clusters = []
    for label_value in np.unique(labels):
        chosen = np.flatnonzero(labels == label_value)
        chosen = chosen[np.argsort([folder_order.get(sketch.images[i], 0) for i in chosen],
                                   kind="stable")]
        normalized = maps[chosen] / np.maximum(maps[chosen].sum(axis=(1, 2), keepdims=True), 1e-12)
        mean_map = normalized.mean(axis=0)
        sharp_mean = sharpened(maps[chosen]).mean(axis=0)
        mean_map = (mean_map / max(float(mean_map.max()), 1e-12)).astype(np.float32)
        row, column = np.unravel_index(int(np.argmax(mean_map)), mean_map.shape)
        peak = ((column + 0.5) / mean_map.shape[1], (row + 0.5) / mean_map.shape[0])
        flagged, reason, concentration, spread = flag(sharp_mean, sketch.peaks[chosen], peak, input_size)
        clusters.append(Cluster(
            index, tuple(sketch.images[i] for i in chosen), mean_map,
            sketch.thumbs[chosen].mean(axis=0).round().astype(np.uint8),
            (min(input_size[0] - 1, int(peak[0] * input_size[0])),
             min(input_size[1] - 1, int(peak[1] * input_size[1]))),
            (float(peak[0]), float(peak[1])), flagged, reason, concentration, spread))
    clusters.sort(key=lambda cluster: (-len(cluster.members), cluster.members[0]))
    return ClassStrategies(index, label, images, len(sketch.images), tuple(clusters), gaps)
