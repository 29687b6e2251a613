"""Which layers, objectives and indices a feature visualization accepts (no TensorFlow).

The window checks a request here before sending it, the CLI before running it, and the
engine again before optimizing, so one bad request gets one sentence everywhere. A model
is anything with a ``name``, a ``layer_tree`` and a ``class_count``: the engine's
``LoadedModel`` or the window's and the CLI's ``ModelSummary``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.settings import OBJECTIVES, SPATIAL_OBJECTIVES
from convviz_gui.engine.layers import LayerInfo, LayerPath, find_layer

# What the indices count for each objective, and one of them (ranges, messages, labels).
COUNTED = {"channel": "filters", "neuron": "filters", "unit": "units", "class": "classes"}
ONE = {"filters": "filter", "units": "unit", "classes": "class"}
MAX_INDICES = 100_000  # more than any layer's channels or any model's classes


class DescribedModel(Protocol):
    """What the checks read of a model (``LoadedModel`` and ``ModelSummary`` both have it)."""

    @property
    def name(self) -> str: ...

    @property
    def layer_tree(self) -> Sequence[LayerInfo]: ...

    @property
    def class_count(self) -> int: ...


@dataclass(frozen=True)
class FilterTarget:
    """What a request's indices choose from: the filters of a convolution or pooling layer,
    the units of a flat layer, or the model's classes."""

    name: str  # the layer's name; the model's for the class objective
    path: LayerPath  # () for the class objective: the engine reads the model's output layer
    objective: str
    count: int  # filters, units or classes

    @property
    def counted(self) -> str:
        """``filters``, ``units`` or ``classes``."""
        return COUNTED[self.objective]

    def check(self, indices: Sequence[int]) -> None:
        """Raise ``ConvVizError`` unless ``indices`` is a non-empty choice among ``count``."""
        if not indices:
            raise ConvVizError("Choose at least one filter.")
        self.check_highest(max(indices))

    def check_highest(self, index: int) -> None:
        """Raise ``ConvVizError`` unless ``index`` is one of the ``count``."""
        if index >= self.count:
            raise ConvVizError(f"{self.name} has {self.count} {self.counted} (0-{self.count - 1}); "
                               f"{ONE[self.counted]} {index} does not exist.")


def parse_filter_spans(text: str) -> list[tuple[int, int]]:
    """Parse ``0-63``, ``5`` or ``0-7,12,20-23`` into (first, last) spans, without listing
    their indices (``0-99999999999`` costs nothing until it is checked against a layer)."""
    spans: list[tuple[int, int]] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            low, dash, high = part.partition("-")
            span = (int(low), int(high) if dash else int(low))
            if span[1] < span[0]:
                raise ValueError
            spans.append(span)
    except ValueError as exc:
        raise ConvVizError(f"'{text}' is not a filter range such as 0-63 or 0,4,8-15.") from exc
    if not spans or min(low for low, _ in spans) < 0:
        raise ConvVizError(f"'{text}' selects no valid filter indices.")
    return spans


def parse_filter_range(text: str, limit: int = MAX_INDICES) -> list[int]:
    """Parse ``0-63``, ``5`` or ``0-7,12,20-23`` into a list of indices (duplicates dropped);
    more than ``limit`` indices is refused (a typing slip, not a request)."""
    return span_indices(text, parse_filter_spans(text), limit)


def span_indices(text: str, spans: list[tuple[int, int]], limit: int = MAX_INDICES) -> list[int]:
    """The indices of parsed ``spans`` (of the typed ``text``), duplicates dropped."""
    if sum(high - low + 1 for low, high in spans) > limit:
        raise ConvVizError(f"'{text}' selects more than {limit} indices.")
    return list(dict.fromkeys(index for low, high in spans for index in range(low, high + 1)))


def check_objective(objective: str) -> None:
    """Raise ``ConvVizError`` unless ``objective`` is one of ``OBJECTIVES``."""
    if objective not in OBJECTIVES:
        raise ConvVizError(f"Unknown objective '{objective}'; use one of {', '.join(OBJECTIVES)}.")


def check_layer(info: LayerInfo, objective: str) -> None:
    """Raise ``ConvVizError`` unless ``objective`` can read ``info``: channels and neurons
    need a spatial output (a convolution or pooling layer), units a flat one (Dense)."""
    shape = info.output_shape or ()
    if objective in SPATIAL_OBJECTIVES and (not info.spatial or info.is_container):
        raise ConvVizError(f"{info.name} has output {shape}: the {objective} objective needs a "
                           "convolution or pooling layer; use 'unit' for a Dense layer.")
    if objective == "unit" and (len(shape) != 2 or info.is_container):
        raise ConvVizError(f"{info.name} has output {shape}: the unit objective needs a layer "
                           "with a flat output such as Dense.")


def find_target(model: DescribedModel, layer: str | LayerPath | None, objective: str) -> FilterTarget:
    """The target of ``objective`` at ``layer`` (a name or path; ignored for the class
    objective, which reads the model's output), checked.

    Raises:
        ConvVizError: an unknown objective, no layer or a missing one, or one the objective
            cannot read.
    """
    check_objective(objective)
    if objective == "class":
        return FilterTarget(model.name, (), objective, model.class_count)
    name = layer if isinstance(layer, str) else "/".join(layer or ())
    if not name:
        raise ConvVizError(f"Choose a layer: the {objective} objective reads one (only the class "
                           "objective needs none).")
    info = find_layer(list(model.layer_tree), name)
    if info is None:
        raise ConvVizError(f"No layer named '{name}' in {model.name}; see 'convviz inspect'.")
    check_layer(info, objective)
    return FilterTarget(info.name, info.path, objective, int((info.output_shape or (0,))[-1] or 0))


def choose_filters(model: DescribedModel, layer: str | LayerPath | None, objective: str,
                   filters: str) -> tuple[FilterTarget, list[int]]:
    """The target and the indices a request names (``filters`` as the user typed it), both
    checked: what the window and the CLI call before running a request."""
    target = find_target(model, layer, objective)
    spans = parse_filter_spans(filters)
    target.check_highest(max(high for _, high in spans))  # before listing a huge range
    indices = span_indices(filters, spans)
    target.check(indices)
    return target, indices


def class_objective_size(input_shape: Sequence[int | None]) -> int | None:
    """The size the class objective draws at: the model's own input size (its larger side;
    a class is drawn best at the size the model was trained on), None when it is dynamic."""
    known = [side for side in input_shape[:2] if side]
    return max(known) if known else None
