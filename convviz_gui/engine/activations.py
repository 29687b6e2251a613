"""Intermediate activations: one forward pass for many layers, channel grids and statistics."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath
from convviz_gui.engine.normalize import display_uint8
from convviz_gui.engine.taps import compiled_taps

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

GRID_COLUMNS = 16
BLANK_RELATIVE = 1e-6  # a channel below this fraction of its layer's max |x| is blank
CACHE_BUDGET_BYTES = 256 * 2**20  # activations kept for quick re-display, per model


@dataclass(frozen=True)
class ChannelStats:
    """Summary of one channel of one layer's activation."""

    index: int
    mean: float
    std: float
    min: float
    max: float
    blank: bool
    blank_reason: str = ""  # why the channel is blank ("" when it is not)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready statistics."""
        return {"index": self.index, "mean": self.mean, "std": self.std,
                "min": self.min, "max": self.max, "blank": self.blank}


def blank_reason(low: float, high: float, layer_peak: float) -> str:
    """Why a channel with values in [low, high] is blank in a layer whose max |x| is
    ``layer_peak``, or "" when it is not.

    Blank means nothing to see at the layer's scale: all zero, every value below
    ``BLANK_RELATIVE`` of the layer's max |x| (e.g. 1e-34 next to channels near 1), or
    constant to that precision.
    """
    peak = max(abs(low), abs(high))
    floor = BLANK_RELATIVE * layer_peak
    if peak == 0:
        return "all zero"
    if peak < floor:
        return f"near zero: max |x| {peak:.2g} < {BLANK_RELATIVE:g} of the layer's max {layer_peak:.3g}"
    if high - low <= floor:
        return f"constant {(low + high) / 2:.4g}"
    return ""


@dataclass(frozen=True)
class LayerActivations:
    """The activation of one layer for one image: (height, width, channels) float32."""

    path: LayerPath
    values: np.ndarray

    @property
    def name(self) -> str:
        """Slash path of the layer."""
        return "/".join(self.path)

    @property
    def channel_count(self) -> int:
        """Number of channels."""
        return int(self.values.shape[-1])

    def stats(self) -> list[ChannelStats]:
        """Per-channel mean/std/min/max, and whether the channel is blank (``blank_reason``)."""
        return list(self._stats)

    @cached_property
    def _stats(self) -> tuple[ChannelStats, ...]:
        """Computed once per activation (every redraw of a grid asks for the blank channels)."""
        flat = self.values.reshape(-1, self.channel_count).astype(np.float64)
        means, stds = flat.mean(axis=0), flat.std(axis=0)
        lows, highs = flat.min(axis=0), flat.max(axis=0)
        layer_peak = float(np.max(np.maximum(np.abs(lows), np.abs(highs)), initial=0.0))
        stats = []
        for i in range(self.channel_count):
            reason = blank_reason(float(lows[i]), float(highs[i]), layer_peak)
            stats.append(ChannelStats(i, float(means[i]), float(stds[i]), float(lows[i]),
                                      float(highs[i]), bool(reason), reason))
        return tuple(stats)

    def blank_channels(self) -> list[int]:
        """Indices of blank channels (all zero, near zero at the layer's scale, or constant)."""
        return [item.index for item in self.stats() if item.blank]

    def channel_image(self, index: int) -> np.ndarray:
        """One channel normalized for display as uint8 (reference normalization); a blank
        channel is flat zero, never its rounding noise stretched to full contrast."""
        if not 0 <= index < self.channel_count:
            raise ConvVizError(f"{self.name} has {self.channel_count} channels; no channel {index}.")
        return self.display[..., index]

    @cached_property
    def display(self) -> np.ndarray:
        """Every channel normalized for display as uint8, blank ones flat zero; computed once
        (by the engine, before the result crosses to the window, see ``prepared``)."""
        normalized = display_uint8(self.values, axis=(0, 1))
        for index in self.blank_channels():
            normalized[..., index] = 0  # flat: one colour, not stretched noise
        return normalized

    def prepared(self) -> LayerActivations:
        """This activation with its statistics and display copy computed, so that whoever
        draws it (the window) does not compute them again; returns self."""
        _ = self.display
        return self

    def grid(
        self, columns: int = GRID_COLUMNS, start: int = 0, count: int | None = None
    ) -> np.ndarray:
        """Channels ``start..start+count`` tiled with 1-px gaps; gaps are NaN (float32).

        Blank channels are drawn flat (zero, the colormap's low end).
        """
        stop = self.channel_count if count is None else min(self.channel_count, start + count)
        indices = list(range(start, stop))
        if not indices:
            raise ConvVizError(f"{self.name} has no channels from {start}.")
        height, width = self.values.shape[:2]
        columns = max(1, min(columns, len(indices)))
        rows = -(-len(indices) // columns)
        mosaic = np.full(((height + 1) * rows - 1, (width + 1) * columns - 1), np.nan, np.float32)
        normalized = self.display[..., start:stop]
        for slot, _ in enumerate(indices):
            row, col = divmod(slot, columns)
            top, left = row * (height + 1), col * (width + 1)
            mosaic[top : top + height, left : left + width] = normalized[..., slot]
        return mosaic


def image_key(batch: np.ndarray) -> str:
    """A digest identifying a preprocessed input batch (for result caches)."""
    return hashlib.blake2b(np.ascontiguousarray(batch).tobytes(), digest_size=16).hexdigest()


def compute_activations(
    loaded: LoadedModel, batch: np.ndarray, paths: list[LayerPath]
) -> dict[LayerPath, LayerActivations]:
    """Activations of every layer in ``paths`` for the first image, in ONE forward pass.

    Results are cached on the model per (image, layer set) within ``CACHE_BUDGET_BYTES``;
    a request for layers that an earlier call for the same image already computed is
    served from that call's result.
    """
    if not paths:
        raise ConvVizError("Choose at least one layer.")
    cache: OrderedDict = loaded.cache.setdefault("activation_results", OrderedDict())
    digest = image_key(batch)
    for (cached_digest, cached_paths), cached in reversed(cache.items()):
        if cached_digest == digest and all(path in cached for path in paths):
            cache.move_to_end((cached_digest, cached_paths))
            return cached if cached_paths == tuple(paths) else {path: cached[path] for path in paths}
    function = compiled_taps(loaded, list(paths), with_outputs=False)
    outputs = function(np.asarray(batch, dtype=np.float32))
    result = {}
    for path, tensor in zip(paths, outputs):
        values = np.asarray(tensor)[0]
        if values.ndim != 3:
            raise ConvVizError(f"{'/'.join(path)} has no spatial output (shape {values.shape}).")
        if not np.all(np.isfinite(values)):
            raise ConvVizError(f"{'/'.join(path)} produced NaN or infinite values for this image.")
        result[path] = LayerActivations(path, values.astype(np.float32, copy=False))
    cache[(digest, tuple(paths))] = result
    while len(cache) > 1 and _cache_bytes(cache) > CACHE_BUDGET_BYTES:
        cache.popitem(last=False)
    return result


def _cache_bytes(cache: OrderedDict) -> int:
    return sum(acts.values.nbytes for entry in cache.values() for acts in entry.values())


def overview_tiles(
    loaded: LoadedModel, batch: np.ndarray, paths: list[LayerPath], channels: int = 8
) -> list[tuple[str, np.ndarray]]:
    """First ``channels`` channels of every layer as small grids, from one forward pass.

    Only the small grids are kept, so the overview stays light even for big models.
    """
    function = compiled_taps(loaded, list(paths), with_outputs=False, channels=channels)
    outputs = function(np.asarray(batch, dtype=np.float32))
    tiles = []
    for path, tensor in zip(paths, outputs):
        values = np.asarray(tensor)[0]
        tiles.append(("/".join(path), LayerActivations(path, values).grid(columns=channels)))
    return tiles
