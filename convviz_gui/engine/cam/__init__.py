"""Explanations of a Keras CNN's answer: class activation maps and pixel attributions.

One base class (``base.Explainer``) and one small class per method, which cites its paper,
declares its options (``options.Option``) and registers itself (``registry``) when its
module is imported: the CLI flags and the window's controls are made from the registry.
Also target objects (``targets``), the explained score (``scoring``: the logit by
default), and faithfulness metrics (``metrics``).

A new method is one module in this package (see ``occlusion.py``): it is found and
imported with the package; the built-in ones are imported first, in menu order.
"""

from importlib import import_module
from pkgutil import iter_modules

from convviz_gui.engine.cam.base import (
    Attribution,
    CamResult,
    Explainer,
    ExplanationCancelled,
    Prediction,
    Progress,
    predict,
    predicted_mask,
    ranked,
    resolve_class,
)
from convviz_gui.engine.cam.options import MethodOptions, Option
from convviz_gui.engine.cam.registry import (
    CAM_METHODS,
    make_cam,
    method_class,
    method_keys,
    method_reference,
)
from convviz_gui.engine.cam.scoring import SCORES, output_head
from convviz_gui.engine.cam.targets import (
    TARGETS,
    ClassScore,
    Counterfactual,
    RegressionOutput,
    SegmentationRegion,
    SigmoidUnit,
    Target,
    make_target,
)

# The built-in method modules in menu order (CAMs, then pixel attributions); any other
# module of this package is imported after them, so a new method's file needs no entry.
MENU_ORDER = ("gradient", "perturbation", "eigen", "pixel", "occlusion", "rise")


def _import_methods() -> None:
    """Import every module of the package: each method registers itself."""
    found = sorted(module.name for module in iter_modules(__path__))
    for name in (*MENU_ORDER, *(name for name in found if name not in MENU_ORDER)):
        import_module(f"{__name__}.{name}")


_import_methods()

__all__ = [
    "Attribution", "CAM_METHODS", "CamResult", "ClassScore", "Counterfactual",
    "ExplanationCancelled", "Explainer", "MENU_ORDER", "MethodOptions", "Option", "Prediction",
    "Progress", "RegressionOutput", "SCORES", "SegmentationRegion", "SigmoidUnit", "TARGETS",
    "Target", "make_cam", "make_target", "method_class", "method_keys", "method_reference",
    "output_head", "predict", "predicted_mask", "ranked", "resolve_class",
]
