"""JobControls, the one run/cancel/progress lifecycle, against a runner that the test drives
(the widgets are real; the jobs finish when the test says so)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QWidget

from convviz_gui.ui.job_controls import JobControls
from convviz_gui.ui.workers import Job


@dataclass
class Update:
    """A progress update as the engine sends them."""

    fraction: float

    def __str__(self) -> str:
        return f"{self.fraction:.0%} done"


class ScriptedRunner(QObject):
    """``submit``/``running`` and ``dropped`` as the JobRunner has them; the test finishes
    the jobs."""

    dropped = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, Job] = {}
        self.callbacks: dict[int, dict] = {}
        self.sent: list[tuple] = []

    def submit(self, kind, request, on_result=None, on_error=None, on_progress=None,
               on_finished=None, quiet=False) -> Job:
        job = Job(len(self.callbacks) + 1, kind, request, self.sent.append)
        self.jobs[kind] = job
        self.callbacks[job.id] = {"result": on_result, "progress": on_progress,
                                  "finished": on_finished}
        return job

    def running(self, kind: str) -> Job | None:
        return self.jobs.get(kind)

    def progress(self, kind: str, fraction: float) -> None:
        self.callbacks[self.jobs[kind].id]["progress"](Update(fraction))

    def finish(self, kind: str, result: object = "done") -> None:
        job = self.jobs.pop(kind)
        if not job.cancelled or job.keep_result:
            self.callbacks[job.id]["result"](result)
        self.callbacks[job.id]["finished"]()


def _in_a_window(qtbot, controls: JobControls) -> QWidget:
    window = QWidget()
    row = QHBoxLayout(window)
    row.addWidget(QLineEdit())
    row.addWidget(controls)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    return window


def test_run_cancel_and_progress_with_a_run_button(qtbot):
    runner, results, texts, runs = ScriptedRunner(), [], [], []
    controls = JobControls(runner, "filters", on_run=lambda: runs.append(1), keep_partial=True)
    window = _in_a_window(qtbot, controls)  # noqa: F841 (kept alive)
    controls.progress_text.connect(texts.append)
    assert controls.progress.isHidden() and not controls.cancel_button.isEnabled()
    qtbot.mouseClick(controls.run_button, Qt.MouseButton.LeftButton)
    assert runs == [1]  # Run calls the owner, who builds the request
    controls.run_button.setFocus()
    controls.start("request", on_result=results.append, on_error=print)
    assert controls.progress.isVisible() and controls.progress.value() == 0
    assert controls.cancel_button.isEnabled() and not controls.run_button.isEnabled()
    assert controls.cancel_button.hasFocus()  # not handed to the line edit
    runner.progress("filters", 0.25)
    assert controls.progress.value() == 250 and texts == ["25% done"]
    cancelled = []
    controls.cancelled.connect(lambda: cancelled.append(True))
    qtbot.mouseClick(controls.cancel_button, Qt.MouseButton.LeftButton)
    assert cancelled and runner.jobs["filters"].cancelled and runner.jobs["filters"].keep_result
    assert not controls.run_button.isEnabled()  # until the job has really stopped
    runner.finish("filters", "partial patterns")
    assert results == ["partial patterns"]  # kept: keep_partial
    assert controls.progress.isHidden() and controls.run_button.isEnabled()
    assert not controls.cancel_button.isEnabled() and controls.run_button.hasFocus()


def test_a_replaced_job_leaves_the_controls_running(qtbot):
    runner = ScriptedRunner()
    controls = JobControls(runner, "compare", on_run=lambda: None)
    window = _in_a_window(qtbot, controls)  # noqa: F841 (kept alive)
    finished = []
    controls.start("first", on_result=print, on_error=print, on_finished=lambda: finished.append(1))
    first = runner.jobs["compare"]
    controls.start("second", on_result=print, on_error=print)
    runner.callbacks[first.id]["finished"]()  # the stale job ends while the new one runs
    assert finished == [1] and controls.progress.isVisible() and controls.cancel_button.isEnabled()
    runner.finish("compare")
    assert controls.progress.isHidden() and controls.run_button.isEnabled()


def test_without_a_run_button_cancel_shows_only_while_a_long_job_runs(qtbot):
    runner = ScriptedRunner()
    controls = JobControls(runner, "gradcam", parts=("progress", "cancel"))
    window = _in_a_window(qtbot, controls)  # noqa: F841 (kept alive)
    assert controls.run_button is None
    assert controls.progress.isHidden() and controls.cancel_button.isHidden()
    controls.start("quick", on_result=print, on_error=print, cancellable=False)
    assert controls.progress.isHidden() and controls.cancel_button.isHidden()
    runner.finish("gradcam")
    controls.start("long", on_result=print, on_error=print)
    assert controls.progress.isVisible() and controls.cancel_button.isVisible()
    assert controls.cancel()
    assert controls.progress.isHidden() and controls.cancel_button.isHidden()  # at once
    assert runner.jobs["gradcam"].cancelled and not runner.jobs["gradcam"].keep_result
    runner.finish("gradcam")
    assert not controls.cancel()  # nothing runs any more
