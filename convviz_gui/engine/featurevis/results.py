"""What a feature visualization reports: progress after every step, the patterns with each
filter's values, and the grid the patterns are shown in (NumPy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.layers import LayerPath

# A filter whose value moved less than this (relative) over the whole ascent never moved.
STILL = 1e-5


@dataclass
class FilterProgress:
    """Reported after every ascent step."""

    step: int
    steps: int
    filters_done: int
    filters_total: int
    batch: int = 0  # filters being optimized in this batch
    previews: dict[int, np.ndarray] = field(default_factory=dict)  # filter index -> uint8 image

    @property
    def fraction(self) -> float:
        """Overall completion in [0, 1]."""
        batch_share = self.step / self.steps if self.steps else 1.0
        done = self.filters_done + batch_share * self.batch
        return min(1.0, done / self.filters_total) if self.filters_total else 1.0

    def __str__(self) -> str:
        """The same fraction as the progress bar, then where the ascent is: "Filters 15%:
        filters 1-2 of 8, step 162/256"."""
        first = self.filters_done + 1
        which = f"filter {first}" if self.batch <= 1 else f"filters {first}-{first + self.batch - 1}"
        return (f"Filters {int(self.fraction * 100)}%: {which} of {self.filters_total}, "
                f"step {self.step}/{self.steps}")


Progress = Callable[[FilterProgress], None]  # called after every step
ShouldCancel = Callable[[], bool]  # checked before every step


@dataclass
class FilterResult:
    """Patterns (uint8, cropped) with each filter's final loss."""

    layer: LayerPath
    patterns: dict[int, np.ndarray]
    losses: dict[int, float]
    start_losses: dict[int, float]
    settings: FilterSettings
    seconds: float
    size_used: tuple[int, int]  # (height, width) of the optimized images
    size_note: str = ""  # why size_used is not the chosen size; "" when it is
    cancelled: bool = False
    partial: set[int] = field(default_factory=set)  # filters cut short by a cancel
    input_range: tuple[float, float] | None = None  # min, max of the optimized inputs (model units)
    model_range: tuple[float, float] | None = None  # what the preset makes of pixels in [0, 255]
    optimized: str = "layer output"  # or the pre-activation, when a ReLU is bypassed
    step_scale: float = 1.0  # reference style: learning rate multiplier (``step_scale``)
    dead: dict[int, str] = field(default_factory=dict)  # filter -> why it never moved

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: per filter the target's final and start value (``loss``,
        ``start_loss``) and whether it is dead (with the reason), what was optimized, and
        the range of the optimized inputs beside the model's own."""
        summary: dict[str, Any] = {
            "layer": "/".join(self.layer),
            "style": self.settings.style,
            "optimized": self.optimized,
            "filters": [{"index": i, "loss": self.losses[i], "start_loss": self.start_losses.get(i),
                         "dead": i in self.dead,
                         **({"reason": self.dead[i]} if i in self.dead else {})}
                        for i in sorted(self.losses)],
            "size": list(self.size_used),
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
        }
        if self.settings.style == "clear":
            summary["objective"] = self.settings.clear.objective
            summary["negative"] = self.settings.clear.negative
        if self.input_range is not None:
            summary["input_range"] = list(self.input_range)
        if self.model_range is not None:
            summary["model_range"] = list(self.model_range)
        if self.size_note:
            summary["size_note"] = self.size_note
        if self.step_scale != 1.0:
            summary["learning_rate_used"] = self.settings.learning_rate * self.step_scale
        return summary

    def dead_label(self, index: int) -> str:
        """The short note on a dead filter's tile ("" when it is alive)."""
        if index not in self.dead:
            return ""
        # A value of 1e-36 (a kernel decayed to nothing) is zero too.
        return "dead: never activated" if self.losses[index] <= 1e-6 else "dead: constant"

    def keep(self, chunk: list[int], patterns: list[np.ndarray], losses: Any,
             input_range: tuple[float, float], partial: bool,
             seen: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Store a batch's patterns, final losses and input range; with ``seen`` (each
        filter's lowest and highest value over the ascent) a filter that never moved is
        marked dead."""
        self.patterns.update(zip(chunk, patterns))
        self.losses.update(zip(chunk, (float(value) for value in np.asarray(losses))))
        if seen is not None and not partial:
            low, high = seen
            still = (high - low) <= STILL * np.maximum(1.0, np.abs(high))
            self.dead.update((index, f"its value stayed {self.losses[index]:.4g} for all "
                                     f"{self.settings.steps} steps: the image does not change it "
                                     "(zero gradient)")
                             for index, dead in zip(chunk, still) if dead)
        if self.input_range is not None:
            input_range = (min(self.input_range[0], input_range[0]),
                           max(self.input_range[1], input_range[1]))
        self.input_range = input_range
        if partial:
            self.partial.update(chunk)


def stitch_patterns(patterns: list[np.ndarray], columns: int = 8, margin: int = 5) -> np.ndarray:
    """Reference filter grid: patterns side by side with ``margin`` px black gaps."""
    if not patterns:
        raise ConvVizError("There are no filter patterns to show.")
    height, width = patterns[0].shape[:2]
    channels = patterns[0].shape[2] if patterns[0].ndim == 3 else 1
    columns = max(1, min(columns, len(patterns)))
    rows = -(-len(patterns) // columns)
    grid = np.zeros(
        (rows * height + (rows - 1) * margin, columns * width + (columns - 1) * margin, channels),
        dtype=np.uint8,
    )
    for slot, pattern in enumerate(patterns):
        row, col = divmod(slot, columns)
        top, left = row * (height + margin), col * (width + margin)
        grid[top : top + height, left : left + width] = pattern.reshape(height, width, channels)
    return grid[..., 0] if channels == 1 else grid
