"""The settings of a feature visualization, both styles: plain, frozen, picklable data (no
TensorFlow here: the window builds them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convviz_gui.engine.errors import ConvVizError

# reference: the book's gradient ascent ("Deep Learning with Python" 9.4, ``reference.py``);
# clear: Olah et al., "Feature Visualization", Distill 2017 (``clear.py``).
STYLES = ("reference", "clear")
# The reference style's start image (``reference.start_images``). grey: the book's "grey
# image with noise" in pixels, U[0.4, 0.6] of the 0-255 range (102-153), through the
# model's preprocessing: the book's U[0.4, 0.6] for a [0, 1] model, U[-0.2, 0.2] for a
# [-1, 1] one, and a visible, unclipped noise for caffe/0-255 models. reference and
# centered are the book's start in model units (U[0.4, 0.6] and (U - 0.5) * 0.25),
# whatever the preprocessing: a flat image on caffe or raw 0-255 models.
START_MODES = ("grey", "reference", "centered")
# What is maximized: a channel (mean over the map, border cut as in the reference), the
# centre unit of a channel, a unit of a non-spatial layer (e.g. Dense), or a class logit.
OBJECTIVES = ("channel", "neuron", "unit", "class")
SPATIAL_OBJECTIVES = ("channel", "neuron")
# Lucid's optimizer settings (lucid.optvis.render: Adam, learning rate 0.05) and a step
# count where patterns have settled at 128-224 px.
CLEAR_STEPS = 256
CLEAR_LEARNING_RATE = 0.05
# Pixels optimized per batch when the batch size is automatic: 4 images at 200 px (16 at
# 100 px, 1 at 400 px). Measured with oneDNN on (engine/__init__.py) on a 2-core AMD EPYC
# (AVX2/FMA), the fused reference step (featurevis/fused.py), 200 px, random weights, CPU
# seconds per filter for 30 steps (the machine was shared: CPU time, not wall time):
#
#   batch                              1      2      4      8      16
#   Xception block3_sepconv1 (1.8 GFLOP/image-step)   1.24   1.19   1.17   1.31   1.21
#   VGG16 block4_conv1 (30 GFLOP/image-step)         15.6   12.1   11.1   10.7   10.8
#
# Plain convolutions want 4 or more images (VGG16: 1.4x less work per filter than one at
# a time; 4 is within 4 % of the best), Xception's mix of depthwise and pointwise
# convolutions is flat; and the first preview (after ``preview_every`` steps) comes later
# the bigger the batch, so 4 rather than 8, and a job's FIRST batch keeps 2 images at
# 200 px (``FIRST_AUTO_BATCH_PIXELS``): its preview comes as soon as it used to. (With the
# Eigen kernels the old rule of 2 was best: 0.65 s per filter, 0.76 by 4, 0.88 by 16 on
# Xception; VGG16 takes 14.7 CPU-s per filter by 4 there.)
AUTO_BATCH_PIXELS = 4 * 200 * 200
FIRST_AUTO_BATCH_PIXELS = 2 * 200 * 200
MAX_AUTO_BATCH = 16


def check_style(style: str) -> None:
    """Raise ``ConvVizError`` unless ``style`` is one of ``STYLES``."""
    if style not in STYLES:
        raise ConvVizError(f"Unknown style '{style}'; use one of {', '.join(STYLES)}.")


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


@dataclass(frozen=True)
class FilterSettings:
    """Gradient-ascent settings; defaults are the reference ones."""

    steps: int = 30
    learning_rate: float = 10.0
    size: int = 200
    border: int = 2
    crop: int | None = None  # pixels cut from every side; None = size // 8 (25 at 200 px)
    start: str = "grey"  # one of START_MODES
    batch_size: int | None = None  # None: automatic, from the image size
    preview_every: int = 5
    seed: int = 0
    style: str = "reference"  # one of STYLES
    clear: ClearSettings = ClearSettings()  # options of the clear style
    preset: str | None = None  # the preprocessing preset of the pixels; None: the model's

    @classmethod
    def for_style(cls, style: str, **changes: Any) -> FilterSettings:
        """The style's defaults (clear: 256 Adam steps at Lucid's 0.05), then ``changes``."""
        check_style(style)
        defaults = {"steps": CLEAR_STEPS, "learning_rate": CLEAR_LEARNING_RATE} if style == "clear" else {}
        return cls(style=style, **{**defaults, **changes})

    @property
    def objective(self) -> str:
        """What is maximized: the clear style's objective; a channel's mean in the reference."""
        return self.clear.objective if self.style == "clear" else "channel"

    def crop_pixels(self, size: int) -> int:
        """Border cut from the deprocessed pattern."""
        return self.crop if self.crop is not None else size // 8

    def batch_for(self, height: int, width: int, first: bool = False) -> int:
        """Filters optimized together: the set size, or as many as fit the pixel budget
        (``first``: a job's first batch, whose preview is waited for)."""
        if self.batch_size is not None:
            return self.batch_size
        budget = FIRST_AUTO_BATCH_PIXELS if first else AUTO_BATCH_PIXELS
        return max(1, min(MAX_AUTO_BATCH, budget // (height * width)))

    def check_counts(self) -> None:
        """Steps, an explicit batch size and (clear style) the variants must be positive."""
        if self.steps < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise ConvVizError("Steps and batch size must be at least 1.")
        if self.style == "clear" and self.clear.variants < 1:
            raise ConvVizError("Variants must be at least 1.")
