"""The window's tabs, declared once: ``TAB_SPECS`` drives the tab bar, the View menu and its
shortcuts, what a tab says while a model opens, and which session changes make it stale.

Adding a tab: write its widget (a ``ViewTab`` for a figure computed from the session) and
add one ``TabSpec`` here. The window keeps each tab as the attribute ``<key>_tab``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from convviz_gui.ui.activations_tab import ActivationsTab
from convviz_gui.ui.dataset_tab import DatasetTab
from convviz_gui.ui.filters_tab import FiltersTab
from convviz_gui.ui.gradcam_tab import GradCamTab
from convviz_gui.ui.live_tab import LiveTab
from convviz_gui.ui.session import Session
from convviz_gui.ui.weights_tab import WeightsTab
from convviz_gui.ui.workers import JobRunner

EVERY_FIELD = frozenset({"model", "image", "layer", "preset", "fit"})
MODEL_AND_LAYER = frozenset({"model", "layer"})


@dataclass(frozen=True)
class TabSpec:
    """One tab of the window.

    Attributes:
        key: short name; the window's attribute is ``<key>_tab``.
        title: the tab's title and its View menu entry.
        factory: builds the tab from the session and the job runner.
        shortcut: the View menu's key for it.
        invalidated_by: the session fields whose change makes its view stale.
        needs_image: it is made stale only once an image is open too (else: with a model).
        shows_loading: its canvas says "Loading <model>…" while a model opens.
    """

    key: str
    title: str
    factory: Callable[[Session, JobRunner], QWidget]
    shortcut: str
    invalidated_by: frozenset[str] = frozenset()
    needs_image: bool = True
    shows_loading: bool = True


TAB_SPECS = (
    TabSpec("activations", "Activations", ActivationsTab, "Ctrl+1", EVERY_FIELD),
    # Filter patterns and weights depend on the model and the layer, not on the image.
    TabSpec("filters", "Filters", FiltersTab, "Ctrl+2", MODEL_AND_LAYER, needs_image=False),
    TabSpec("gradcam", "Grad-CAM", GradCamTab, "Ctrl+3", EVERY_FIELD),
    TabSpec("weights", "Weights", WeightsTab, "Ctrl+4", MODEL_AND_LAYER, needs_image=False),
    TabSpec("live", "Live", LiveTab, "Ctrl+5", shows_loading=False),  # refreshes itself
    # A scan of a folder: started by Run (or File > Analyze Dataset…), never by a change.
    TabSpec("dataset", "Dataset", DatasetTab, "Ctrl+6", needs_image=False, shows_loading=False),
)
