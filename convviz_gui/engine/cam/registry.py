"""Every method by display name and by CLI name."""

from __future__ import annotations

from typing import Any

from convviz_gui.engine.cam.base import Explainer, MethodOptions
from convviz_gui.engine.cam.eigen import EigenCAM
from convviz_gui.engine.cam.gradient import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from convviz_gui.engine.cam.perturbation import AblationCAM, Occlusion, ScoreCAM
from convviz_gui.engine.cam.pixel import (
    GuidedBackprop,
    GuidedGradCAM,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
)
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath

# Display name -> class, in the order menus list them: CAMs, then pixel attributions.
CAM_METHODS: dict[str, type[Explainer]] = {cls.name: cls for cls in (
    GradCAM, GradCAMPlusPlus, HiResCAM, XGradCAM, LayerCAM, ScoreCAM, AblationCAM, EigenCAM,
    Saliency, SmoothGrad, IntegratedGradients, GuidedBackprop, GuidedGradCAM, Occlusion)}


def _normal(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").split())


_LOOKUP = {_normal(alias): cls for cls in CAM_METHODS.values() for alias in (cls.name, cls.key)}


def method_class(name: str) -> type[Explainer]:
    """A method by CLI name (``scorecam``) or display name (``Score-CAM``), any case."""
    cls = _LOOKUP.get(_normal(name))
    if cls is None:
        raise ConvVizError(f"Unknown method '{name}'. Choose one of "
                           f"{', '.join(cls.key for cls in CAM_METHODS.values())}.")
    return cls


def make_cam(loaded: Any, layer: LayerPath | None = None, method: str = "Grad-CAM",
             score: str = "logit", options: MethodOptions | None = None,
             preset: str | None = None) -> Explainer:
    """An explainer by method name (``layer`` is ignored by methods that use none)."""
    return method_class(method)(loaded, layer, score, options, preset)
