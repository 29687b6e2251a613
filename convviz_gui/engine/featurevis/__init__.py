"""Feature visualization: an input image optimized to excite a filter, a unit or a class.

Two styles run through one batch loop (``batches.run_batches``):
``reference`` is the book's gradient ascent ("Deep Learning with Python" 9.4);
``clear`` follows Olah et al., "Feature Visualization", Distill 2017 (the Lucid library):
a Fourier-parameterized, colour-decorrelated image kept in the model's input range,
optimized with Adam under random transformations.

The modules import one way, plain data first:

- ``settings`` (``FilterSettings``, ``ClearSettings``), ``results`` (``FilterResult``,
  ``FilterProgress``, ``stitch_patterns``) and ``targeting`` (every check on layers,
  objectives and index ranges) need no TensorFlow: the window and the CLI import them.
- ``batches`` (the shared loop and image size), ``channels`` (reading chosen channels),
  ``preactivation``, ``preprocessing``, then the styles ``reference`` (its step compiled
  whole in ``fused``) and ``clear`` with the clear style's ``objectives``,
  ``parameterization``, ``transforms`` and ``regularizers``: TensorFlow, in the engine
  process only.

``visualize_filters`` below runs either style; it imports the style it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convviz_gui.engine.featurevis.results import FilterResult, Progress, ShouldCancel
from convviz_gui.engine.featurevis.settings import FilterSettings, check_style
from convviz_gui.engine.layers import LayerPath

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

REFERENCE = FilterSettings()  # the book's settings, the default


def visualize_filters(
    loaded: LoadedModel,
    layer: LayerPath,
    indices: list[int],
    settings: FilterSettings = REFERENCE,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> FilterResult:
    """Optimize an input image per filter (unit, class) of ``layer`` to maximize its target.

    Filters are optimized a batch at a time (``settings.batch_for``). ``progress`` is called
    after every step (with previews every ``preview_every`` steps and at the end of a
    batch); ``should_cancel`` is checked before every step. ``settings.style`` chooses the
    style: ``reference.visualize_reference`` or ``clear.visualize_clear``.

    Raises:
        ConvVizError: an unknown style, or a layer, objective or index ``targeting`` rejects.
    """
    check_style(settings.style)
    if settings.style == "clear":
        from convviz_gui.engine.featurevis.clear import visualize_clear

        return visualize_clear(loaded, layer, indices, settings, progress, should_cancel)
    from convviz_gui.engine.featurevis.reference import visualize_reference

    return visualize_reference(loaded, layer, indices, settings, progress, should_cancel)
