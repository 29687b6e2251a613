"""The method list and the chosen method's options, made from the methods' declarations."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from convviz_gui.engine.cam import method_class
from convviz_gui.engine.cam.options import (
    SIGN,
    MethodOptions,
    Option,
    OptionValue,
    declared_options,
)
from convviz_gui.ui.controls import DecimalBox, NumberBox

OptionWidget = QComboBox | NumberBox | DecimalBox


def option_widget(option: Option, tooltip: str) -> OptionWidget:
    """A combo box (choices), or a number box (int or float) that sets a typed number beyond
    the option's range to the bound and says so."""
    widget: OptionWidget
    low = -2**31 + 1 if option.minimum is None else option.minimum
    high = 2**31 - 1 if option.maximum is None else option.maximum
    if option.choices:
        widget = QComboBox()
        for value, meaning in option.choices.items():
            widget.addItem(option.texts.get(value, value), value)
            widget.setItemData(widget.count() - 1, meaning, Qt.ItemDataRole.ToolTipRole)
        widget.setCurrentIndex(widget.findData(option.default))
    elif option.kind is int:
        widget = NumberBox(option.label, minimum=int(low), maximum=int(high), value=int(option.default))
        widget.setSpecialValueText(option.special)
    else:
        widget = DecimalBox(option.label, minimum=low, maximum=high, value=float(option.default))
        widget.setSingleStep(option.step or 1.0)
        widget.setSpecialValueText(option.special)
    widget.setToolTip(tooltip)
    return widget


def _value(widget: OptionWidget) -> OptionValue:
    return widget.currentData() if isinstance(widget, QComboBox) else widget.value()


class MethodOptionsBar(QWidget):
    """A labelled widget per declared method option, only the chosen method's shown;
    ``changed`` when the user edits one. ``bar.top_n`` is the widget of option ``top_n``.
    The Sign box (how a signed map is drawn) sits in ``drawing``, a widget of its own that
    the tab puts beside its other drawing controls."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        self.drawing = QWidget()
        drawing = QHBoxLayout(self.drawing)
        for margins in (layout, drawing):
            margins.setContentsMargins(0, 0, 0, 0)
        self._widgets: dict[str, OptionWidget] = {}
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        for option, owners in declared_options():
            if not owners:
                continue  # the general options (batch size, metric steps): CLI only
            tooltip = option.describe(owners, option.special) + "."
            widget = option_widget(option, tooltip)
            label = QLabel(option.label)
            label.setBuddy(widget)
            label.setToolTip(tooltip)
            row = drawing if option == SIGN else layout
            row.addWidget(label)
            row.addWidget(widget)
            self._widgets[option.name] = widget
            self._rows[option.name] = (label, widget)
            signal = widget.currentIndexChanged if isinstance(widget, QComboBox) else \
                widget.valueChanged
            signal.connect(lambda *_: self.changed.emit())
        self.show_for("Grad-CAM")

    def __getattr__(self, name: str) -> QWidget:
        widgets = self.__dict__.get("_widgets", {})
        if name in widgets:
            return widgets[name]
        raise AttributeError(f"MethodOptionsBar has no attribute or option '{name}'")

    def show_for(self, method: str) -> None:
        """Show the options ``method`` reads (none for most)."""
        cls = method_class(method)
        for name, widgets in self._rows.items():
            for widget in widgets:
                widget.setVisible(name in cls.option_fields)
        self.drawing.setVisible(SIGN.name in cls.option_fields)
        sign = self._widgets.get(SIGN.name)
        if isinstance(sign, QComboBox) and cls.sign_default:  # what "auto" is for this one
            sign.setItemText(sign.findData("auto"), f"auto ({cls.sign_default})")

    def options(self) -> MethodOptions:
        """The options on screen."""
        return MethodOptions(**{name: _value(widget) for name, widget in self._widgets.items()})
