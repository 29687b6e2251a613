"""The loop both styles share: filters optimized a batch at a time at one image size, with
progress, previews, cancel and dead-filter detection. A style supplies its batches
(``AscentBatch``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from convviz_gui.engine.featurevis.results import FilterProgress, FilterResult, Progress, ShouldCancel
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.layers import LayerPath
from convviz_gui.engine.model_cache import cached
from convviz_gui.engine.taps import InputSizeError, build_sized_tap_model

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


class AscentBatch(Protocol):
    """The images of one batch of filters being optimized (one style's state)."""

    @property
    def start_losses(self) -> np.ndarray | None:
        """Each filter's target on its start image, once known (after the first step)."""

    def step(self) -> np.ndarray:
        """One optimization step; returns each filter's target as the step saw it."""

    def patterns(self) -> list[np.ndarray]:
        """Each filter's image for display (uint8)."""

    def previews(self) -> list[np.ndarray]:
        """Each filter's image so far for a preview (uint8), without running the network."""

    def evaluate(self) -> tuple[np.ndarray, tuple[float, float]]:
        """Each filter's target on its current image, and the images' range in model units."""


def ascent_size(loaded: LoadedModel, layer: LayerPath, settings: FilterSettings
                ) -> tuple[tuple[int, int], str]:
    """(height, width) the filters of ``layer`` are optimized at, and a note when it is not
    ``settings.size``: the model's own size when a layer up to ``layer`` needs it.
    """
    chosen = (settings.size, settings.size)

    def check() -> tuple[tuple[int, int], str]:
        own = loaded.input_shape[:2]
        try:
            if own != chosen:
                build_sized_tap_model(loaded.keras_model, layer, *chosen)
        except InputSizeError as error:
            own_height, own_width = own
            if own_height is None or own_width is None:  # dynamic: no size of its own to use
                raise
            return (own_height, own_width), (
                f"{error.target} needs the model's own {own[0]}x{own[1]} input ({error.cause}); "
                f"optimized at {own[0]}x{own[1]} instead of {chosen[0]}x{chosen[1]}."
            )
        return chosen, ""

    return cached(loaded, ("ascent_size", layer, chosen), check)


def chunks(indices: list[int], batch_size: int, first_size: int | None = None) -> list[list[int]]:
    """``indices`` in batches of ``batch_size``, the first of ``first_size`` (default the same)."""
    first_size = first_size or batch_size
    head, rest = indices[:first_size], indices[first_size:]
    return [head][: len(head)] + [rest[at : at + batch_size] for at in range(0, len(rest), batch_size)]


def run_batches(
    result: FilterResult,
    indices: list[int],
    batch_size: int,
    start: Callable[[list[int]], AscentBatch],
    progress: Progress | None,
    should_cancel: ShouldCancel | None,
    started: float,
    first_size: int | None = None,
) -> FilterResult:
    """Optimize ``indices`` ``batch_size`` filters at a time, ``first_size`` in the first
    batch (``start`` makes a batch), for ``result.settings.steps`` steps each, with
    progress, previews and cancel. A filter whose value never moved (start, every step and
    end) is marked dead."""
    settings = result.settings
    for chunk in chunks(indices, batch_size, first_size):
        batch = start(chunk)
        seen = []  # each filter's value as every step saw it
        for step_number in range(1, settings.steps + 1):
            if should_cancel is not None and should_cancel():
                result.keep(chunk, batch.patterns(), *batch.evaluate(), partial=True)
                result.cancelled = True
                result.seconds = time.perf_counter() - started
                return result
            seen.append(batch.step())
            if step_number == 1:
                result.start_losses.update(zip(chunk, map(float, _start_losses(batch))))
            if progress is not None:
                last = step_number == settings.steps
                previews = {}
                if last:  # the final images (``patterns`` settles them, as ``keep`` needs)
                    previews = dict(zip(chunk, batch.patterns()))
                elif step_number % max(1, settings.preview_every) == 0:
                    previews = dict(zip(chunk, batch.previews()))
                progress(FilterProgress(step_number, settings.steps, len(result.patterns),
                                        len(indices), len(chunk), previews))
        final, input_range = batch.evaluate()
        values = np.stack([_start_losses(batch), *seen, final])  # (steps + 2, filters)
        result.keep(chunk, batch.patterns(), final, input_range, partial=False,
                    seen=(values.min(axis=0), values.max(axis=0)))
    result.seconds = time.perf_counter() - started
    return result


def _start_losses(batch: AscentBatch) -> np.ndarray:
    """The batch's values on its start images (every batch knows them after a step)."""
    if batch.start_losses is None:
        raise RuntimeError("An ascent batch must know its start values after its first step.")
    return batch.start_losses
