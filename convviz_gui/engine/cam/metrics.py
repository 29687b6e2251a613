"""Faithfulness of a map: does removing what it points at change the model's answer?

Deletion and insertion (Petsiuk et al. 2018, RISE, Sec. 4.1): pixels are removed (set to
the black baseline) or inserted (into a blurred copy) in the map's order, most important
first, in ``metric_steps`` equal steps; the curve is the target's probability along the
way and its area (trapezoid over the fraction of pixels, in [0, 1]) is the metric: a
faithful map has a LOW deletion AUC and a HIGH insertion AUC. Average Drop and Average
Increase (Chattopadhay et al. 2018, Sec. 5.2) feed the image seen through the map
(baseline + map x (image - baseline)): Drop = max(0, Y - O) / Y (lower is better),
Increase = 1 when O > Y (the map alone raises confidence). Both are fractions (0.23 = 23 %).
ROAD (Rong et al. 2022, ``metrics_road``) removes pixels by noisy linear imputation instead
of black, in both orders: most relevant first (MoRF, lower is better) and least relevant
first (LeRF, higher is better). All images go through the model in batches of 16-32, with
progress and cancel between them (and between ROAD's imputations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from convviz_gui.engine.cam.base import CamResult, Steps, batch_size_for
from convviz_gui.engine.cam.baselines import black, blurred
from convviz_gui.engine.cam.metrics_road import LEVELS, road_area, road_images
from convviz_gui.engine.cam.options import MethodOptions
from convviz_gui.engine.cam.scoring import output_head, scores_of
from convviz_gui.engine.cam.targets import Target

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


@dataclass(frozen=True)
class Faithfulness:
    """The six numbers and the four curves they come from."""

    deletion_auc: float
    insertion_auc: float
    average_drop: float
    average_increase: float
    fractions: np.ndarray  # share of pixels removed / inserted at each point
    deletion: np.ndarray  # the target's probability along the deletion
    insertion: np.ndarray
    images: int  # images evaluated
    road_morf_auc: float
    road_lerf_auc: float
    road_fractions: np.ndarray  # share of pixels imputed at each point of the ROAD curves
    road_morf: np.ndarray  # the target's probability, most relevant pixels imputed first
    road_lerf: np.ndarray  # least relevant first

    EXPLAINED: ClassVar[dict[str, str]] = {
        "deletion_auc": "Deletion AUC: the class probability as the most important pixels are "
                        "removed first; lower is better (the map found what matters).",
        "insertion_auc": "Insertion AUC: the probability as the most important pixels are put "
                         "back into a blurred image first; higher is better.",
        "average_drop": "Average Drop: how much the probability falls when the model sees only "
                        "the map's regions; lower is better.",
        "average_increase": "Average Increase: 1 when seeing only the map's regions raises the "
                            "probability.",
        "road_morf_auc": "ROAD MoRF: the probability as the most important pixels are removed "
                         "first by filling them from their neighbours (no black patches for the "
                         "model to react to); lower is better. A blurry map can score well on "
                         "removal metrics: it removes whole regions at once.",
        "road_lerf_auc": "ROAD LeRF: the probability as the least important pixels are filled "
                         "in from their neighbours first; higher is better (what the map calls "
                         "unimportant really is). A blurry map can score well on removal metrics.",
    }

    def to_dict(self) -> dict[str, float]:
        """The four numbers, JSON-ready."""
        return {key: round(float(getattr(self, key)), 6) for key in self.EXPLAINED}

    def describe(self) -> str:
        """One line: the six numbers with which way is better."""
        return (f"deletion AUC {self.deletion_auc:.3f} (lower is better), insertion AUC "
                f"{self.insertion_auc:.3f} (higher), average drop {self.average_drop:.1%}, "
                f"increase {'yes' if self.average_increase else 'no'}, ROAD MoRF "
                f"{self.road_morf_auc:.3f} (lower), LeRF {self.road_lerf_auc:.3f} (higher)")


def faithfulness(loaded: LoadedModel, batch: np.ndarray, cam: CamResult, target: Target, score: str,
                 options: MethodOptions | None = None, preset: str | None = None,
                 progress: Callable[[Any], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Faithfulness:
    """Deletion/insertion AUC, Average Drop/Increase and ROAD of ``cam`` for ``target``."""
    options = options or MethodOptions()
    batch = np.asarray(batch[:1], np.float32)
    height, width = batch.shape[1:3]
    importance = cam.upsampled(width, height)
    order = np.argsort(-importance.ravel(), kind="stable")
    fractions = np.linspace(0.0, 1.0, max(1, options.metric_steps) + 1)
    counts = np.round(fractions * order.size).astype(int)
    removed, start = black(loaded, batch, preset or loaded.preset), blurred(batch)
    images = [_swap(batch, removed, order[:count]) for count in counts]
    images += [_swap(start, batch, order[:count]) for count in counts]
    images.append(removed + importance[None, ..., None] * (batch - removed))
    steps = Steps(progress, cancelled)
    images.append(road_images(batch[0], importance, LEVELS, steps))
    size = int(np.clip(batch_size_for(loaded, options), 16, 32))
    distinct, copies = _distinct(np.concatenate(images))
    _, probabilities = scores_of(loaded, "probability", distinct, np.zeros(
        [dim or 1 for dim in loaded.output_shape[1:]], np.float32), size, steps, "Faithfulness")
    probabilities = probabilities[copies]
    weights = target.weights(loaded, probabilities[0])
    values = target.metric(probabilities, weights)
    if output_head(loaded) is None:  # not a probability: relative to the clean image's score
        values = np.clip(values / max(abs(float(values[0])), 1e-7), 0.0, 1.0)
    points = len(counts)
    deletion, insertion = values[:points], values[points:2 * points]
    seen, road = float(values[2 * points]), values[2 * points + 1:]
    morf, lerf = road[:len(LEVELS)], road[len(LEVELS):]
    clean = float(deletion[0])
    return Faithfulness(
        deletion_auc=float(np.trapezoid(deletion, fractions)),
        insertion_auc=float(np.trapezoid(insertion, fractions)),
        average_drop=max(0.0, clean - seen) / clean if clean > 0 else 0.0,
        average_increase=float(seen > clean), fractions=fractions, deletion=deletion,
        insertion=insertion, images=len(distinct),
        road_morf_auc=road_area(morf, LEVELS), road_lerf_auc=road_area(lerf, LEVELS),
        road_fractions=LEVELS, road_morf=morf, road_lerf=lerf)


def _distinct(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct images of ``images`` and, for each image, the index of its copy among
    them: the clean image is the first point of deletion and of both ROAD curves and the
    last of insertion, and the model sees it once."""
    keys = [hashlib.blake2b(image.tobytes(), digest_size=16).digest() for image in images]
    slot: dict[bytes, int] = {}
    copies = np.array([slot.setdefault(key, len(slot)) for key in keys])
    return images[np.unique(copies, return_index=True)[1]], copies


def _swap(base: np.ndarray, source: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """``base`` with the flat pixel indices ``pixels`` (all channels) taken from ``source``."""
    image = base[0].copy()
    rows, cols = np.unravel_index(pixels, image.shape[:2])
    image[rows, cols] = source[0][rows, cols]
    return image[None]
