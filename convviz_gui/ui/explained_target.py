"""What the Grad-CAM tab says it explains, by the kind of the model's explained output: a
class of a classifier, a channel of a feature map, an output of a regression head."""

from __future__ import annotations

from convviz_gui.ops.model import ModelSummary

# What one item of the ranked list is, by output kind (a class unless said here).
EXPLAINED_UNIT = {"features": "channel", "regression": "output", "score": "score"}
REGION_TARGETS = (("region", "its pixels", "Segmentation: the class over the pixels predicted as "
                                           "it."),
                  ("box", "box you drag", "Segmentation: the class over a rectangle you drag "
                                            "on the image (left panel)."))


def explained_unit(model: ModelSummary | None) -> str:
    """What is explained, in one word: ``class``, ``channel`` of a feature map, ``output``
    of a regression head, ``score``."""
    return EXPLAINED_UNIT.get(model.output_kind, "class") if model is not None else "class"


def targets(unit: str) -> tuple[tuple[str, str, str], ...]:
    """The Explain box's (name, text, tooltip) for what is explained, ``unit`` (a class…)."""
    return (("class", f"the {unit}", f"The {unit}'s score: what makes the model give it."),
            ("counterfactual", f"against the {unit}", f"Minus the {unit}'s score: what speaks "
                                                      "against it (Selvaraju 2017, "
                                                      "counterfactual)."))
