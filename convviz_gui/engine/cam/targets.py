"""What is explained: a target object that reads one number out of the model output.

Every target here is linear in the output: ``score = sum(output * weights)``, with
``weights`` shaped like one image's output. The compiled functions therefore take the
weights as an argument and never depend on the kind of target (one trace serves all),
and a batch of perturbed images is scored with the same read-out as the clean image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convviz_gui.engine.errors import ConvVizError

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


def known_output_shape(loaded: LoadedModel) -> tuple[int, ...]:
    """One image's output shape when the model fixes it (else the output must be computed:
    ``Target.needs_output`` says so first)."""
    dims = loaded.output_shape[1:]
    if any(dim is None for dim in dims):
        raise ValueError(f"The output shape {dims} depends on the image: compute the output.")
    return tuple(int(dim) for dim in dims if dim is not None)


@dataclass(frozen=True)
class Target:
    """Base: the read-out of output ``class_index``."""

    class_index: int

    def check(self, loaded: LoadedModel) -> None:
        """Raise ``ConvVizError`` if the model has no such output."""
        if not 0 <= self.class_index < loaded.class_count:
            raise ConvVizError(
                f"Class {self.class_index} does not exist; the model has {loaded.class_count}.")

    def needs_output(self, loaded: LoadedModel) -> bool:
        """True when the weights depend on the clean image's output (a predicted region)."""
        return loaded.output_kind == "segmentation" or None in loaded.output_shape[1:]

    def weights(self, loaded: LoadedModel, output: np.ndarray | None) -> np.ndarray:
        """Read-out weights shaped like one image's output (``output``: its probabilities)."""
        shape = output.shape if output is not None else known_output_shape(loaded)
        weights = np.zeros(shape, np.float32)
        if len(shape) == 3:  # a per-pixel output: the whole image unless a subclass says
            weights[..., self.class_index] = 1.0 / (shape[0] * shape[1])
        else:
            weights[..., self.class_index] = 1.0
        return weights

    def metric(self, probabilities: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The target's score on post-activation outputs (B, ...) as used by the faithfulness
        metrics: in [0, 1] for probabilities."""
        return np.sum(probabilities * np.abs(weights), axis=tuple(range(1, probabilities.ndim)))

    def describe(self, labels: tuple[str, ...]) -> str:
        """What is explained, in words."""
        return f"'{labels[self.class_index]}'"


@dataclass(frozen=True)
class ClassScore(Target):
    """The score of one class (Selvaraju 2017, Eq. 1: y^c). On a segmentation model, the
    mean over the pixels predicted as the class (the whole image if there are none)."""

    def weights(self, loaded: LoadedModel, output: np.ndarray | None) -> np.ndarray:
        if output is not None and output.ndim == 3:
            return SegmentationRegion(self.class_index).weights(loaded, output)
        return super().weights(loaded, output)


@dataclass(frozen=True)
class Counterfactual(ClassScore):
    """Minus the class score (Selvaraju 2017, Sec. 5, "counterfactual explanations"): the
    regions whose removal would make the model surer of the class, i.e. what speaks against it."""

    def weights(self, loaded: LoadedModel, output: np.ndarray | None) -> np.ndarray:
        return -super().weights(loaded, output)

    def metric(self, probabilities: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return 1.0 - super().metric(probabilities, weights)

    def describe(self, labels: tuple[str, ...]) -> str:
        return f"against '{labels[self.class_index]}'"


@dataclass(frozen=True)
class SigmoidUnit(ClassScore):
    """One unit of a multi-label (sigmoid) output, explained on its own: the other units
    play no part (there is no softmax coupling them)."""

    def describe(self, labels: tuple[str, ...]) -> str:
        return f"unit '{labels[self.class_index]}'"


@dataclass(frozen=True)
class RegressionOutput(ClassScore):
    """The raw value of one output of a regression model (no class, no activation)."""

    def describe(self, labels: tuple[str, ...]) -> str:
        return f"output {self.class_index}"


@dataclass(frozen=True)
class SegmentationRegion(Target):
    """The mean score of a class over a region of a per-pixel output: the pixels predicted
    as the class (``box`` None; the whole image when there are none), or a rectangle
    ``box = (x0, y0, x1, y1)`` in fractions of the model input's width and height."""

    box: tuple[float, float, float, float] | None = None

    def check(self, loaded: LoadedModel) -> None:
        super().check(loaded)
        if loaded.output_kind != "segmentation":
            raise ConvVizError("A region can only be explained on a per-pixel (segmentation) output.")
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise ConvVizError("The region must be a rectangle inside the image.")

    def needs_output(self, loaded: LoadedModel) -> bool:
        return self.box is None or None in loaded.output_shape[1:]

    def weights(self, loaded: LoadedModel, output: np.ndarray | None) -> np.ndarray:
        shape = output.shape if output is not None else known_output_shape(loaded)
        height, width, classes = shape
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            region: np.ndarray = np.zeros((height, width), bool)
            region[int(y0 * height):max(int(y0 * height) + 1, round(y1 * height)),
                   int(x0 * width):max(int(x0 * width) + 1, round(x1 * width))] = True
        elif output is None:
            raise ValueError("A region without a box is read from the model's output.")
        elif classes > 1:
            region = output.argmax(axis=-1) == self.class_index
        else:  # one sigmoid channel: the pixels above one half
            region = output[..., 0] > 0.5
        if not region.any():
            region[:] = True
        weights = np.zeros(shape, np.float32)
        weights[..., self.class_index] = region / region.sum()
        return weights

    def describe(self, labels: tuple[str, ...]) -> str:
        where = "pixels predicted as it" if self.box is None else \
            "box " + ", ".join(f"{v:.2f}" for v in self.box)
        return f"'{labels[self.class_index]}' over {where}"


TARGETS = {"class": ClassScore, "counterfactual": Counterfactual, "unit": SigmoidUnit,
           "regression": RegressionOutput, "region": SegmentationRegion}


def make_target(kind: str, class_index: int,
                box: tuple[float, float, float, float] | None = None) -> Target:
    """A target by kind: class, counterfactual, unit, regression or region (with ``box``)."""
    cls = TARGETS.get(kind)
    if cls is None:
        raise ConvVizError(f"Unknown target '{kind}'. Choose one of {', '.join(TARGETS)}.")
    if cls is SegmentationRegion:
        corners = None if box is None else (box[0], box[1], box[2], box[3])  # a list too
        return SegmentationRegion(class_index, corners)
    if box is not None:
        raise ConvVizError("A box is only used by the region target of a segmentation model.")
    return cls(class_index)
