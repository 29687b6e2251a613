"""Explanations of a Keras CNN's answer: class activation maps and pixel attributions.

One base class (``base.Explainer``), one small class per method (``gradient``,
``perturbation``, ``eigen``, ``pixel``), target objects (``targets``), the explained
score (``scoring``: the logit by default), and faithfulness metrics (``metrics``).
"""

from convviz_gui.engine.cam.base import (
    Attribution,
    CamResult,
    Explainer,
    ExplanationCancelled,
    MethodOptions,
    Prediction,
    Progress,
    predict,
    predicted_mask,
    ranked,
    resolve_class,
)
from convviz_gui.engine.cam.eigen import EigenCAM
from convviz_gui.engine.cam.gradient import (
    GradCAM,
    GradCAMPlusPlus,
    GradientCAM,
    HiResCAM,
    LayerCAM,
    XGradCAM,
)
from convviz_gui.engine.cam.perturbation import AblationCAM, Occlusion, ScoreCAM
from convviz_gui.engine.cam.pixel import (
    GuidedBackprop,
    GuidedGradCAM,
    IntegratedGradients,
    Saliency,
    SmoothGrad,
)
from convviz_gui.engine.cam.registry import CAM_METHODS, make_cam, method_class
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

BaseCAM = GradientCAM  # the name of the gradient skeleton before the package split

__all__ = [
    "AblationCAM", "Attribution", "BaseCAM", "CAM_METHODS", "CamResult", "ClassScore",
    "Counterfactual", "EigenCAM", "ExplanationCancelled", "Explainer", "GradCAM",
    "GradCAMPlusPlus", "GradientCAM", "GuidedBackprop", "GuidedGradCAM", "HiResCAM",
    "IntegratedGradients", "LayerCAM", "MethodOptions", "Occlusion", "Prediction", "Progress",
    "RegressionOutput", "SCORES", "Saliency", "ScoreCAM", "SegmentationRegion", "SigmoidUnit",
    "SmoothGrad", "TARGETS", "Target", "XGradCAM", "make_cam", "make_target", "method_class",
    "output_head", "predict", "predicted_mask", "ranked", "resolve_class",
]
