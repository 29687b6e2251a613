"""Options of the clear style: plain, frozen, picklable data (no TensorFlow here)."""

from __future__ import annotations

from dataclasses import dataclass

# What is maximized: a channel (mean over the map, border cut as in the reference), the
# centre unit of a channel, a unit of a non-spatial layer (e.g. Dense), or a class logit.
OBJECTIVES = ("channel", "neuron", "unit", "class")
SPATIAL_OBJECTIVES = ("channel", "neuron")
# Lucid's optimizer settings (lucid.optvis.render: Adam, learning rate 0.05) and a step
# count where patterns have settled at 128-224 px.
CLEAR_STEPS = 256
CLEAR_LEARNING_RATE = 0.05


@dataclass(frozen=True)
class ClearSettings:
    """How the clear style parameterizes, transforms, regularizes and scores the image.

    Regularizer and diversity weights are relative to the objective's own magnitude, so
    the same weight means the same trade-off on every model.
    """

    objective: str = "channel"
    negative: bool = False  # minimize the target instead (what the unit responds against)
    decorrelate: bool = True  # ImageNet colour decorrelation (RGB models)
    decay_power: float = 1.0  # the Fourier coefficients' 1/f^power scaling
    transforms: bool = True  # pad, jitter, scale and rotate at random every step
    total_variation: float = 0.0
    l2: float = 0.0
    blur: float = 0.0
    variants: int = 1  # images optimized per filter (side by side in its tile)
    diversity: float = 0.0  # penalty on the similarity of a filter's variants

    @property
    def spatial(self) -> bool:
        """Whether the objective needs a layer with a spatial output."""
        return self.objective in SPATIAL_OBJECTIVES
