"""Controls shared by the window, tabs and dialogs: menu actions and their shortcuts, the
method box, the CAM-layer box, number boxes that clamp what is typed, array pixmaps."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QValidator,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QMenu,
    QSpinBox,
    QToolTip,
    QWidget,
)

from convviz_gui.engine.cam import CAM_METHODS
from convviz_gui.engine.cam.registry import method_class, method_reference
from convviz_gui.engine.layers import LayerInfo, spatial_layers
from convviz_gui.figures.markers import PEAK
from convviz_gui.ops.model import ModelSummary


def add_action(menu: QMenu, parent: QObject, text: str, slot: Callable[[], object],
               shortcut: str | QKeySequence.StandardKey | None = None) -> QAction:
    """A menu entry calling ``slot()`` (never with ``triggered``'s checked flag, which would
    land in a first parameter such as a path)."""
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False, call=slot: call())
    menu.addAction(action)
    return action


# Keys a text box keeps even when a menu entry has them too (Copy, Paste… act on the text).
TEXT_EDITING_KEYS = (
    QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo,
    QKeySequence.StandardKey.SelectAll, QKeySequence.StandardKey.Delete,
    QKeySequence.StandardKey.DeleteEndOfWord, QKeySequence.StandardKey.DeleteStartOfWord,
    QKeySequence.StandardKey.MoveToNextWord, QKeySequence.StandardKey.MoveToPreviousWord,
    QKeySequence.StandardKey.SelectNextWord, QKeySequence.StandardKey.SelectPreviousWord)


class MenuShortcutsWin(QObject):
    """A window's menu shortcuts work whatever widget has the focus: a text box claims keys
    such as Ctrl+E ("end of line") through ``ShortcutOverride``; the claim is refused for
    the keys of the window's menu entries, except the text-editing ones (Copy, Paste…).

    Args:
        window: the window whose actions win; its text boxes are watched.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if (event.type() != QEvent.Type.ShortcutOverride or not isinstance(watched, QWidget)
                or watched.window() is not self._window or not isinstance(event, QKeyEvent)):
            return False
        if any(event.matches(key) for key in TEXT_EDITING_KEYS):
            return False
        pressed = QKeySequence(event.keyCombination())
        for action in self._window.findChildren(QAction):
            if action.isEnabled() and any(
                    shortcut.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                    for shortcut in action.shortcuts()):
                event.ignore()  # not the text box's: the shortcut goes to the menu entry
                return True
        return False


def methods_tooltip() -> str:
    """The method list's tooltip: the CAMs and the pixel attributions by name."""
    cams = [name for name, cls in CAM_METHODS.items() if cls.resolution == "layer"]
    pixels = [name for name, cls in CAM_METHODS.items() if cls.resolution != "layer"]
    return (f"CAMs weigh a layer's feature maps ({', '.join(cams)}); pixel attributions "
            f"score every input pixel ({', '.join(pixels)}). Hover an item for its idea.")


def ndarray_to_pixmap(pixels: np.ndarray) -> QPixmap:
    """A QPixmap of a uint8 image: (H, W) grayscale or (H, W, 3) RGB (the pixels are copied)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if pixels.ndim == 2 else QImage.Format.Format_RGB888
    return QPixmap.fromImage(QImage(pixels.data, width, height, pixels.strides[0], fmt).copy())


class MethodCombo(QComboBox):
    """The registered explanation methods by display name (a third-party method too: its
    request name ``module:Name`` is the item's data), each item's tooltip the method's idea.

    Args:
        single_pass: only the methods that need one pass (no batched ones such as Score-CAM).
    """

    def __init__(self, single_pass: bool = False) -> None:
        super().__init__()
        for name, cls in CAM_METHODS.items():
            if single_pass and cls.long:
                continue
            self.addItem(name, method_reference(cls))
            self.setItemData(self.count() - 1, cls.summary, Qt.ItemDataRole.ToolTipRole)
        self.setToolTip(methods_tooltip())

    def method(self) -> str:
        """The chosen method as a request names it (the display name of a built-in one)."""
        return self.currentData()

    def set_method(self, name: str) -> None:
        """Choose a method by display name (the first one if it is not listed)."""
        self.setCurrentIndex(max(0, self.findData(name)))

    def uses_layer(self) -> bool:
        """True when the chosen method weighs a layer's feature maps (the CAMs)."""
        return self.count() == 0 or method_class(self.method()).uses_layer


class CamLayerCombo(QComboBox):
    """A model's spatial layers, its default CAM layer chosen; greyed out for the methods
    that read no layer.

    Args:
        tip: the tooltip while the box applies.
        characters: width in characters (layer names are long); None: as wide as the longest.
    """

    def __init__(self, tip: str, characters: int | None = None) -> None:
        super().__init__()
        if characters is not None:
            self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.setMinimumContentsLength(characters)
        self._tip = tip
        self.setToolTip(tip)

    def set_model(self, model: ModelSummary) -> None:
        """List the model's spatial layers and choose its default CAM layer."""
        self.clear()
        for node in spatial_layers(list(model.layer_tree)):
            self.addItem(node.display_path, node.path)
        default = model.default_cam_layer()
        if default is not None:
            self.setCurrentIndex(self.findData(default.path))

    def show_layer(self, layer: LayerInfo | None) -> None:
        """Choose ``layer`` if it is listed (else keep the choice)."""
        index = self.findData(layer.path) if layer is not None else -1
        if index >= 0 and index != self.currentIndex():
            self.setCurrentIndex(index)

    def follow_method(self, methods: MethodCombo) -> None:
        """Enabled for a method that weighs a layer; the tooltip says why when it is not."""
        uses_layer = methods.uses_layer()
        self.setEnabled(uses_layer)
        self.setToolTip(self._tip if uses_layer else f"{methods.method()} reads no layer: it "
                        "attributes the score to the input pixels.")


def _typed_number(box: QAbstractSpinBox, text: str) -> float | None:
    """The number typed in a spin box (without its prefix and suffix), or None."""
    core = text.removeprefix(box.prefix()).removesuffix(box.suffix()).strip()
    core = core.replace(box.locale().groupSeparator(), "").replace(
        box.locale().decimalPoint(), ".")
    try:
        number = float(core)
    except ValueError:
        return None
    return None if math.isnan(number) else number


class _ClampsTyped:
    """What a number box does with a typed number outside its range: it is accepted while
    typing, then set to the nearest bound, and the box says so (a tooltip beside it, and its
    ``clamped`` signal with the sentence, which the window shows in the status bar)."""

    note = ""  # the last sentence said

    def validate(self, text: str, pos: int):
        number = _typed_number(self, text)
        if number is not None and not self.minimum() <= number <= self.maximum():
            return QValidator.State.Intermediate, text, pos
        if _typed_number(self, text + "1") is not None and number is None:
            return QValidator.State.Intermediate, text, pos  # a sign: "-7" is said, not made 7
        return super().validate(text, pos)

    def fixup(self, text: str) -> str:
        number = _typed_number(self, text)
        if number is None or self.minimum() <= number <= self.maximum():
            return super().fixup(text)
        bound = self.maximum() if number > self.maximum() else self.minimum()
        shown = self.textFromValue(bound)
        which = "at most" if number > self.maximum() else "at least"
        self.note = f"{self.name} is {which} {shown}: {text.strip()} became {shown}."
        QToolTip.showText(self.mapToGlobal(self.rect().bottomLeft()), self.note, self)
        self.clamped.emit(self.note)
        return shown


class NumberBox(_ClampsTyped, QSpinBox):
    """A ``QSpinBox`` that sets a typed number beyond its range to the bound and says so
    (a plain ``QSpinBox`` refuses the extra digits: 99999 becomes 9).

    Args:
        name: what the number is, for the sentence ("Channels per row").
        **kwargs: ``QSpinBox`` properties (minimum, maximum, value, singleStep…).
    """

    clamped = Signal(str)

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.name = name


class DecimalBox(_ClampsTyped, QDoubleSpinBox):
    """``NumberBox`` for decimals (a ``QDoubleSpinBox``)."""

    clamped = Signal(str)

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.name = name


def mark_peak(pixmap: QPixmap, peak: tuple[int, int]) -> None:
    """A "+" at ``peak`` (x, y pixels; the Live tab: where the map is highest), drawn whole
    on the frame in the figures' peak style scaled to the frame: near an edge the cross's
    centre moves inside, at most by its reach (half its size and its outline), so that no
    arm is cut."""
    size = max(8.0, min(pixmap.width(), pixmap.height()) / 15)  # pixels, end to end
    scale = size / PEAK.size
    reach = PEAK.reach * scale
    center = QPointF(_inside(peak[0], reach, pixmap.width()), _inside(peak[1], reach, pixmap.height()))
    arm = size / 2
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pens = ((PEAK.outline or PEAK.color, PEAK.outline_width, Qt.PenCapStyle.SquareCap),
            (PEAK.color, PEAK.width, Qt.PenCapStyle.FlatCap))
    for color, width, cap in pens:
        painter.setPen(QPen(QColor(color), max(1.0, width * scale), Qt.PenStyle.SolidLine, cap))
        painter.drawLine(center - QPointF(arm, 0), center + QPointF(arm, 0))
        painter.drawLine(center - QPointF(0, arm), center + QPointF(0, arm))
    painter.end()


def _inside(pixel: int, reach: float, size: int) -> float:
    """The centre of ``pixel`` (a column or a row of a frame ``size`` pixels across), or of
    the nearest pixel at least ``reach`` inside the frame (the middle of a narrower frame):
    a pixel's centre keeps a cross's lines sharp."""
    low, high = math.ceil(reach - 0.5), size - 1 - math.ceil(reach - 0.5)
    return min(max(pixel, low), high) + 0.5 if low <= high else size / 2


class ElidedLabel(QLabel):
    """One line of text cut with "…" to the label's width (whole in its tooltip): a long
    folder name or message never widens its row. ``setText`` sets the whole text."""

    def __init__(self, max_width: int, bold: bool = False) -> None:
        super().__init__()
        self._whole = ""
        self.setMaximumWidth(max_width)
        if bold:
            font = self.font()
            font.setBold(True)
            self.setFont(font)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        """Show ``text`` (cut to the width); the tooltip has it whole when it is cut."""
        self._whole = text
        self.updateGeometry()
        self._elide()

    def text(self) -> str:
        """The whole text, as set."""
        return self._whole

    def clear(self) -> None:
        """No text."""
        self.setText("")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        width = self.fontMetrics().horizontalAdvance(self._whole) + 4
        return QSize(min(width, self.maximumWidth()), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(min(self.sizeHint().width(), self.fontMetrics().horizontalAdvance("…") * 4),
                     super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._whole, Qt.TextElideMode.ElideMiddle,
                                              max(self.width(), 1))
        QLabel.setText(self, shown)
        self.setToolTip(self._whole if shown != self._whole else "")
