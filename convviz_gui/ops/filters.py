"""The filters family: gradient-ascent patterns of some filters (or units, or classes)."""

from __future__ import annotations

from dataclasses import dataclass

from convviz_gui.engine.featurevis.results import FilterResult
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.layers import LayerPath
from convviz_gui.ops.base import ModelRef, Request
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.registry import operation


@dataclass(frozen=True)
class Filters(Request):
    """Gradient-ascent patterns for some filters of one layer (long, cancellable), in the
    settings' style; for the clear style's class objective ``layer`` is ``()`` (the
    model's output layer is used) and ``indices`` are classes."""

    model: ModelRef
    layer: LayerPath
    indices: tuple[int, ...]
    settings: FilterSettings = FilterSettings()


@dataclass(frozen=True)
class FiltersResult:
    """Gradient-ascent patterns (possibly partial after a cancel)."""

    filters: FilterResult


@operation(Filters, long=True)
def filters(request: Filters, context: OpContext) -> FiltersResult:
    """Gradient ascent with progress (``FilterProgress``, with previews: only when someone
    listens) and cancel between steps. The
    engine checks the layer, objective and indices (``featurevis.targeting``, the sentences
    the window and the CLI give too)."""
    from convviz_gui.engine.featurevis import visualize_filters

    loaded = context.workspace.model(request.model)
    result = visualize_filters(loaded, request.layer, list(request.indices), request.settings,
                               progress=context.progress if context.listening else None,
                               should_cancel=lambda: context.cancelled)
    return FiltersResult(result)
