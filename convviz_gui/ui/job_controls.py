"""Run, Cancel and a progress bar for one kind of job: the one run/cancel/progress lifecycle
of every tab and dialog that starts a long job (after napari's ``create_worker`` with its
progress bar).

Idle: the progress bar is hidden, Run enabled, Cancel disabled. Running: the bar counts from
0 to 100 %, Run is disabled and Cancel enabled (the keyboard focus follows from one to the
other), until the runner has no live job of this kind any more. Without a Run button (a job
the controls start by themselves, as the Grad-CAM tab's), Cancel and the bar are shown only
while a cancellable job runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from convviz_gui.ops.base import Request
from convviz_gui.ui.workers import Job, JobRunner

PROGRESS_STEPS = 1000
PARTS = ("run", "cancel", "progress")


class JobControls(QWidget):
    """Run/Cancel buttons and a progress bar bound to the runner's jobs of one ``kind``.

    Args:
        runner: the window's job runner.
        kind: the kind of job these controls start and cancel.
        on_run: what Run does (it builds the request and calls ``start``); None: no Run button.
        parts: the parts laid out in this widget's row, in this order; the owner places the
            others itself (e.g. in a dialog's button box).
        keep_partial: a cancelled job still delivers what it computed so far.
        progress_width: the bar's width in pixels, kept while it is hidden, so that starting
            a job never widens the row (None: as wide as the row lets it).
    """

    progress_text = Signal(str)  # the text of each update that carries a fraction
    cancelled = Signal()  # the user cancelled a running job

    def __init__(self, runner: JobRunner, kind: str, *, on_run: Callable[[], None] | None = None,
                 parts: tuple[str, ...] = PARTS, keep_partial: bool = False,
                 progress_width: int | None = None, run_tip: str = "", cancel_tip: str = "",
                 progress_tip: str = "") -> None:
        super().__init__()
        self.runner, self.kind, self.keep_partial = runner, kind, keep_partial
        self.progress = QProgressBar(maximum=PROGRESS_STEPS)
        self.progress.setFormat("%p%")
        self.progress.setToolTip(progress_tip)
        if progress_width is not None:
            self.progress.setFixedWidth(progress_width)
            policy = self.progress.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            self.progress.setSizePolicy(policy)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())
        self.run_button: QPushButton | None = None
        if on_run is not None:
            self.run_button = QPushButton("Run")
            self.run_button.setToolTip(run_tip)
            self.run_button.clicked.connect(lambda _checked=False: on_run())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        widgets = {"run": self.run_button, "cancel": self.cancel_button, "progress": self.progress}
        for part in parts:
            if widgets[part] is not None:
                row.addWidget(widgets[part])
        self.show_idle()
        runner.dropped.connect(self._dropped)

    def _dropped(self, kind: str) -> None:
        """The runner cancelled this kind's job (the model or image changed): idle at once."""
        if kind == self.kind and self.running is None:
            self.show_idle()

    @property
    def running(self) -> Job | None:
        """The live job of this kind, if any."""
        return self.runner.running(self.kind)

    def start(self, request: Request, *, on_result: Callable[[Any], None],
              on_error: Callable[[str, str], None],
              on_progress: Callable[[Any], None] | None = None,
              on_finished: Callable[[], None] | None = None, cancellable: bool = True) -> Job:
        """Send ``request`` (replacing a running job of this kind) and show it running.

        Args:
            cancellable: False for a quick job: no bar, no Cancel (without a Run button).
        """
        self.progress.setValue(0)
        self.progress.setVisible(cancellable)
        if self.run_button is None:
            self._show_cancel(cancellable)
        else:
            self.cancel_button.setEnabled(True)
            if self.run_button.hasFocus():  # else Qt hands the focus to the next widget
                self.cancel_button.setFocus()
            self.run_button.setEnabled(False)

        def progressed(update: Any) -> None:
            self._progressed(update)
            if on_progress is not None:
                on_progress(update)

        def finished() -> None:
            if self.running is None:  # not a replaced job: the controls are idle
                self.show_idle()
            if on_finished is not None:
                on_finished()

        return self.runner.submit(self.kind, request, on_result=on_result, on_error=on_error,
                                  on_progress=progressed, on_finished=finished)

    def cancel(self) -> bool:
        """Stop the running job at its next step; False when none runs."""
        job = self.running
        if job is None:
            return False
        job.cancel(keep_result=self.keep_partial)
        if self.run_button is None:  # nothing to click meanwhile: idle at once
            self.show_idle()
        self.cancelled.emit()
        return True

    def show_idle(self) -> None:
        """No job running: the bar hidden, Run enabled (it takes the focus back from Cancel)."""
        self.progress.hide()
        if self.run_button is None:
            self._show_cancel(False)
            return
        self.run_button.setEnabled(True)
        if self.cancel_button.hasFocus():  # else Qt hands the focus to the next widget
            self.run_button.setFocus()
        self.cancel_button.setEnabled(False)

    def _show_cancel(self, shown: bool) -> None:
        self.cancel_button.setVisible(shown)
        self.setVisible(shown)

    def _progressed(self, update: Any) -> None:
        if hasattr(update, "fraction"):
            # QProgressBar.setValue repaints at once; let the event loop paint it instead.
            self.progress.setUpdatesEnabled(False)
            self.progress.setValue(int(update.fraction * PROGRESS_STEPS))
            self.progress.setUpdatesEnabled(True)
            self.progress_text.emit(str(update))
