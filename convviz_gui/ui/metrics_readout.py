"""The faithfulness numbers under a heatmap, one label each, with its meaning on hover."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from convviz_gui.engine.cam.metrics import Faithfulness

KEEP = "\u00a0"  # a value stays with its arrow when a narrow canvas wraps the line


def metric_texts(metrics: Faithfulness) -> dict[str, str]:
    """Each metric in words with the direction that is better (↓ lower, ↑ higher)."""
    raises = "yes" if metrics.average_increase else "no"
    return {"deletion_auc": f"Deletion AUC {metrics.deletion_auc:.3f}{KEEP}↓",
            "insertion_auc": f"Insertion AUC {metrics.insertion_auc:.3f}{KEEP}↑",
            "average_drop": f"Average drop {metrics.average_drop:.1%}{KEEP}↓",
            "average_increase": f"Map alone raises the score: {raises}",
            "road_morf_auc": f"ROAD MoRF {metrics.road_morf_auc:.3f}{KEEP}↓",
            "road_lerf_auc": f"ROAD LeRF {metrics.road_lerf_auc:.3f}{KEEP}↑"}


class MetricsReadout(QWidget):
    """The metrics in rows of ``COLUMNS`` (each wrapped, never cut, on a narrow canvas, so
    the readout never widens the window); hidden without metrics."""

    COLUMNS = 3

    def __init__(self) -> None:
        super().__init__()
        self.labels = {key: QLabel(toolTip=text) for key, text in Faithfulness.EXPLAINED.items()}
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 0, 4, 0)
        grid.setVerticalSpacing(0)
        for index, label in enumerate(self.labels.values()):
            label.setWordWrap(True)
            grid.addWidget(label, *divmod(index, self.COLUMNS))
        self.hide()

    def show_metrics(self, metrics: Faithfulness | None) -> None:
        """Show ``metrics``' numbers, or hide the line when there are none."""
        self.setVisible(metrics is not None)
        if metrics is None:
            return
        for key, text in metric_texts(metrics).items():
            self.labels[key].setText(text)
