"""A third-party explanation method in one file, for tests/engine/test_method_plugin.py: importing
this module alone registers it (CLI flag ``--power``, a spin box in the window)."""

from __future__ import annotations

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps
from convviz_gui.engine.cam.options import Option
from convviz_gui.engine.cam.perturbation import clean_layer_pass


class MeanFeatureCAM(Explainer):
    """The layer's feature maps averaged over channels, to the power ``power`` (a toy:
    class-agnostic, no gradient, no paper)."""

    name = "Toy-CAM"
    key = "toycam"
    summary = "mean feature map to a power (a test's toy)"
    declared_options = (Option("power", "Power", "exponent of the mean feature map", 1,
                               minimum=1, maximum=4),)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        features, _, clean = clean_layer_pass(self, batch, weights)
        return Attribution(features.mean(axis=-1) ** self.options.power, clean)
