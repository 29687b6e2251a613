"""Weights canvas: the selected convolution's kernels (as images for the first layer) and
histograms of its weights and bias."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from convviz_gui.engine.kernels import CONVOLUTION_NAMES
from convviz_gui.engine.layers import CONV_CLASSES
from convviz_gui.ops.export import Kernels, KernelsResult
from convviz_gui.ui.view_tab import ViewTab


class WeightsTab(ViewTab):
    """What a convolution learned, read from its weights (no image needed)."""

    view_name = "weights"

    def __init__(self, session, runner) -> None:
        super().__init__(session, runner, "Open a model and select a convolution layer to see "
                                          "its kernels and weight histograms.")
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.controls.addWidget(self.info, 1)

    def refresh(self) -> None:
        """Recompute if stale: weights need a model, not an image."""
        if self.stale and self.session.model is not None:
            self.stale = False
            self.compute()

    def compute(self) -> None:
        self.info.clear()
        layer = self.session.layer
        if layer is None or layer.is_container or layer.class_name not in CONV_CLASSES:
            self.result = None
            self.figure_view.set_hint(f"{self._no_kernels(layer)} Select a convolution layer "
                                      f"({CONVOLUTION_NAMES}) in the model tree to see its kernels.")
            self.status.emit("This layer has no kernels to show.")
            return
        self.submit(Kernels(self.session.model_ref, layer.path),
                    f"Reading the weights of {layer.display_path}…")

    @staticmethod
    def _no_kernels(layer) -> str:
        """Why a layer (or no layer) has no kernels to draw."""
        if layer is None:
            return "No layer is selected."
        if layer.params == 0:
            return f"{layer.display_path} ({layer.class_name}) has no weights."
        return f"{layer.display_path} is a {layer.class_name} layer, not a convolution."

    def show_result(self, result: KernelsResult) -> None:
        """Describe the kernels in the info line, then draw."""
        kernel = result.kernels[0][1]
        count = sum(values.size for _, values in result.kernels)
        count += result.bias.size if result.bias is not None else 0
        channels = result.input_channels
        self.info.setText(f"{result.name} ({result.class_name}): kernel "
                          f"{'x'.join(map(str, kernel.shape))} on {channels} input "
                          f"channel{'s' * (channels != 1)}, {count:,} weights.")
        super().show_result(result)
        self.status.emit(f"Weights of {result.name} ready.")
