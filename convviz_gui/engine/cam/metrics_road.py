"""ROAD (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy for Attribution
Methods", ICML, Sec. 4): pixels removed by noisy linear imputation instead of a black patch.

Deletion paints removed pixels black, and the model may react to the black shapes
themselves (out of distribution) rather than to the missing content; worse, the shape of
the removed set leaks the map's information back into the image. ROAD replaces every
removed pixel by the weighted mean of its eight neighbours (1/6 for the four direct ones,
1/12 for the diagonal ones; fewer at the border, renormalized), all removed pixels at
once as one sparse linear system, plus a little Gaussian noise (the paper's 0.01, here in
units of the image's standard deviation) so that the smooth fill does not itself give the
mask away. Both orders are measured: most relevant first (MoRF, lower is better) and least
relevant first (LeRF, higher is better), at the paper's removal shares 0, 10 %, ..., 90 %
(removing every pixel would leave nothing to impute from); the areas are the curves' mean
heights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# (row offset, column offset, weight) of the neighbours a removed pixel is the mean of.
NEIGHBOURS = ((-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6),
              (0, 1, 1 / 6), (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12))
NOISE = 0.01  # the imputation noise's standard deviation, in image standard deviations
SEED = 0  # the noise's seed: the same map gives the same numbers
LEVELS = np.arange(10) / 10  # shares of pixels removed: the paper's 10 % steps, and none


def impute(image: np.ndarray, removed: np.ndarray, noise: float = 0.0,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """``image`` (h, w, c) with the ``removed`` pixels ((h, w) bool) imputed: each is the
    weighted mean (``NEIGHBOURS``) of its neighbours inside the image, known or imputed
    themselves, solved as one sparse system for all channels; plus Gaussian noise of
    standard deviation ``noise`` on the imputed pixels. At least one pixel must be kept."""
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    height, width, channels = image.shape
    values = image.reshape(-1, channels).astype(np.float64)
    unknown = np.flatnonzero(removed)
    if unknown.size == 0:
        return image.copy()
    if unknown.size == values.shape[0]:
        raise ValueError("Every pixel is removed: nothing to impute from.")
    variable = np.full(values.shape[0], -1)
    variable[unknown] = np.arange(unknown.size)
    ys, xs = np.divmod(unknown, width)
    diagonal = np.zeros(unknown.size)
    known_sum = np.zeros((unknown.size, channels))
    rows, cols, entries = [], [], []
    for dy, dx, weight in NEIGHBOURS:
        inside = (ys + dy >= 0) & (ys + dy < height) & (xs + dx >= 0) & (xs + dx < width)
        diagonal[inside] += weight  # the weights of the neighbours it has
        equations = np.flatnonzero(inside)
        neighbours = (ys + dy)[inside] * width + (xs + dx)[inside]
        solved = variable[neighbours] >= 0
        rows.append(equations[solved])
        cols.append(variable[neighbours[solved]])
        entries.append(np.full(int(solved.sum()), -weight))
        np.add.at(known_sum, equations[~solved], weight * values[neighbours[~solved]])
    index = np.arange(unknown.size)
    system = csc_matrix((np.concatenate([diagonal, *entries]),
                         (np.concatenate([index, *rows]), np.concatenate([index, *cols]))),
                        shape=(unknown.size, unknown.size))
    # The system is symmetric and diagonally dominant (every group of removed pixels touches
    # a kept one), so positive definite: LU needs no pivoting, which keeps the minimum degree
    # ordering of A + A^T intact (2.5x faster than spsolve's pivoting at 299 px).
    factors = splu(system, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True})
    filled = factors.solve(known_sum).reshape(unknown.size, channels)
    if noise > 0:
        filled += noise * (rng or np.random.default_rng(SEED)).standard_normal(filled.shape)
    values[unknown] = filled
    return values.reshape(image.shape).astype(image.dtype)


def road_images(image: np.ndarray, importance: np.ndarray, levels: np.ndarray,
                steps: Any) -> np.ndarray:
    """The MoRF images then the LeRF images (2 x len(levels), h, w, c) of ``image`` (h, w, c)
    for a map ``importance`` (h, w); one imputation per image after the first of each
    order, with ``steps`` progress and cancel (``cam.base.Steps``)."""
    rng = np.random.default_rng(SEED)
    noise = NOISE * float(np.std(image))
    most_first = np.argsort(-importance.ravel(), kind="stable")
    least_first = np.argsort(importance.ravel(), kind="stable")
    counts = np.round(levels * importance.size).astype(int)
    jobs = [(order, count) for order in (most_first, least_first) for count in counts]
    images = []
    for part in steps.batches(len(jobs), 1, "ROAD: imputing removed pixels"):
        order, count = jobs[part.start]
        removed = np.zeros(importance.size, bool)
        removed[order[:count]] = True
        images.append(impute(image, removed.reshape(importance.shape), noise, rng))
    return np.stack(images)


def road_area(values: np.ndarray, levels: np.ndarray) -> float:
    """The curve's area over the removal shares, divided by their span: its mean height,
    in [0, 1] for values in [0, 1]."""
    span = float(levels[-1] - levels[0])
    return float(np.trapezoid(values, levels) / span) if span > 0 else float(values[0])
