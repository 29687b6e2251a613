"""The options of the chosen explanation method: only the ones it reads are shown."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from convviz_gui.engine.cam.base import MethodOptions
from convviz_gui.engine.cam.baselines import BASELINES
from convviz_gui.engine.cam.registry import method_class


class MethodOptionsBar(QWidget):
    """Labelled spin boxes for ``MethodOptions``; ``changed`` when the user edits one."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        defaults = MethodOptions()
        self.top_n = QSpinBox(minimum=0, maximum=4096, value=defaults.top_n)
        self.top_n.setSpecialValueText("all")
        self.top_n.setToolTip("Score-CAM: score only this many feature maps, those of highest "
                              "variance (faster); 'all' scores every map.")
        self.samples = QSpinBox(minimum=1, maximum=500, value=defaults.samples)
        self.samples.setToolTip("SmoothGrad: noisy copies of the image averaged.")
        self.noise = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=defaults.noise)
        self.noise.setToolTip("SmoothGrad: noise standard deviation, a fraction of the input's "
                              "range (0.1-0.2 in the paper).")
        self.steps = QSpinBox(minimum=2, maximum=1024, value=defaults.steps)
        self.steps.setToolTip("Integrated Gradients: points on the path from the baseline.")
        self.baseline = QComboBox()
        for name, text in BASELINES.items():
            self.baseline.addItem(name, name)
            self.baseline.setItemData(self.baseline.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.baseline.setToolTip("Integrated Gradients: the image the path starts from: "
                                 + "; ".join(f"{k}: {v}" for k, v in BASELINES.items()) + ".")
        self.patch = QSpinBox(minimum=0, maximum=1024, value=defaults.patch)
        self.patch.setSpecialValueText("auto")
        self.patch.setToolTip("Occlusion: side of the square patch in input pixels (auto: an "
                              "eighth of the input).")
        self.stride = QSpinBox(minimum=0, maximum=1024, value=defaults.stride)
        self.stride.setSpecialValueText("auto")
        self.stride.setToolTip("Occlusion: pixels between two patch positions (auto: half the "
                               "patch).")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._fields: dict[str, list[QWidget]] = {}
        for name, label_text in (("top_n", "Maps"), ("samples", "Samples"), ("noise", "Noise"),
                                 ("steps", "Steps"), ("baseline", "Baseline"), ("patch", "Patch"),
                                 ("stride", "Stride")):
            widget = getattr(self, name)
            label = QLabel(label_text)
            label.setBuddy(widget)
            label.setToolTip(widget.toolTip())
            layout.addWidget(label)
            layout.addWidget(widget)
            self._fields[name] = [label, widget]
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else \
                widget.valueChanged
            signal.connect(lambda *_: self.changed.emit())
        self.show_for("Grad-CAM")

    def show_for(self, method: str) -> None:
        """Show the options ``method`` reads (none for most)."""
        fields = method_class(method).option_fields
        for name, widgets in self._fields.items():
            for widget in widgets:
                widget.setVisible(name in fields)

    def options(self) -> MethodOptions:
        """The options on screen."""
        return replace(MethodOptions(), top_n=self.top_n.value(), samples=self.samples.value(),
                       noise=self.noise.value(), steps=self.steps.value(),
                       baseline=self.baseline.currentData(), patch=self.patch.value(),
                       stride=self.stride.value())
