"""The one worker mechanism for every long job: a QThread serving a job queue.

A job is a plain function ``fn(context, *args)``; it reports with
``context.progress(value)`` and polls ``context.cancelled``. Jobs run one at a time
on one long-lived engine thread (TensorFlow work is serialized); submitting a job of
a kind that is already queued or running cancels the stale one, whose result is
dropped. The thread keeps one Python frame alive for its whole life: TensorFlow
caches per-thread state that breaks (segfaults) when a pool thread's Python thread
state is torn down and re-created between jobs.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from convviz_gui.engine.errors import ConvVizError


class JobSignals(QObject):
    """Signals of one job, delivered on the GUI thread."""

    progress = Signal(object)
    result = Signal(object)
    error = Signal(str, str)  # one-sentence message, technical details ("" for user errors)
    finished = Signal()


# The GUI thread re-takes the GIL after every Qt call; with Python's default 5 ms switch
# interval each re-take can wait 5 ms behind a busy engine thread, which adds up to
# stalls of hundreds of ms while a figure is drawn. 1 ms keeps the GUI fluid.
GIL_SWITCH_INTERVAL_S = 0.001
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates per second reach the GUI


class JobContext:
    """What a running job sees: progress reporting and a cooperative cancel flag."""

    def __init__(self, signals: JobSignals) -> None:
        self._signals = signals
        self._cancel = threading.Event()
        self._last_progress = 0.0

    @property
    def cancelled(self) -> bool:
        """True once someone asked the job to stop."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._cancel.set()

    def progress(self, value: Any) -> None:
        """Report progress (any object) to the GUI thread.

        Updates closer than ``PROGRESS_INTERVAL_S`` to the last one are dropped: a fast
        job must not flood the event loop (the result follows the last update anyway).
        """
        now = time.monotonic()
        if not self.cancelled and now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._signals.progress.emit(value)


class Job:
    """A function run on the engine thread with ``progress/result/error/finished`` signals."""

    def __init__(self, kind: str, fn: Callable[..., Any], *args: Any) -> None:
        self.kind = kind
        self.signals = JobSignals()
        self.context = JobContext(self.signals)
        self._fn, self._args = fn, args
        self.keep_result = False

    def cancel(self, keep_result: bool = False) -> None:
        """Cooperatively cancel; a job not yet started never runs.

        ``keep_result`` delivers what the job returns after stopping (partial results
        the user asked to keep), instead of dropping it as stale.
        """
        self.keep_result = self.keep_result or keep_result
        self.context.cancel()

    def run(self) -> None:
        """Execute on the engine thread; emits result or error, then finished."""
        try:
            if self.context.cancelled:
                return
            value = self._fn(self.context, *self._args)
            if not self.context.cancelled or self.keep_result:
                self.signals.result.emit(value)
        except ConvVizError as exc:
            if not self.context.cancelled:
                self.signals.error.emit(str(exc), "")
        except Exception as exc:  # unexpected: report with details, never crash the app
            if not self.context.cancelled:
                message = f"Unexpected {type(exc).__name__}: {str(exc).splitlines()[0][:200]}" \
                    if str(exc) else f"Unexpected {type(exc).__name__}."
                self.signals.error.emit(message, traceback.format_exc())
        finally:
            self.signals.finished.emit()


class _EngineThread(QThread):
    """Runs queued jobs in order until it receives ``None``."""

    def __init__(self, jobs: queue.Queue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = jobs

    def run(self) -> None:  # noqa: D401 (Qt override)
        while (job := self._queue.get()) is not None:
            job.run()


class JobRunner(QObject):
    """Owns the engine thread; one live job per kind, newer requests replace older ones."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        self._queue: queue.Queue = queue.Queue()
        self._thread = _EngineThread(self._queue)
        self._thread.setStackSize(64 * 1024 * 1024)  # TensorFlow tracing recurses deeply
        self._thread.start()
        self._jobs: dict[str, Job] = {}
        self._alive: set[Job] = set()

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Job:
        """Queue ``fn(context, *args)``, cancelling any stale job of the same kind."""
        if not self._thread.isRunning():
            raise RuntimeError("the job runner has been shut down")
        self.cancel(kind)
        job = Job(kind, fn, *args)
        for signal, slot in ((job.signals.result, on_result), (job.signals.error, on_error),
                             (job.signals.progress, on_progress),
                             (job.signals.finished, on_finished)):
            if slot is not None:
                signal.connect(slot)
        job.signals.finished.connect(lambda: self._done(job))
        self._jobs[kind] = job
        self._alive.add(job)
        self.busy_changed.emit(True)
        self._queue.put(job)
        return job

    def running(self, kind: str) -> Job | None:
        """The live job of that kind, if any."""
        return self._jobs.get(kind)

    def cancel(self, kind: str) -> None:
        """Cancel the job of that kind, if any."""
        job = self._jobs.pop(kind, None)
        if job is not None:
            job.cancel()

    def cancel_all(self) -> None:
        """Cancel every job."""
        for kind in list(self._jobs):
            self.cancel(kind)

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel everything and stop the engine thread (window closing)."""
        self.cancel_all()
        for job in list(self._alive):
            job.cancel()
        if not self._thread.isRunning():
            return True
        self._queue.put(None)
        return self._thread.wait(timeout_ms)

    @property
    def busy(self) -> bool:
        """True while any job is queued or running."""
        return bool(self._alive)

    def _done(self, job: Job) -> None:
        self._alive.discard(job)
        if self._jobs.get(job.kind) is job:
            del self._jobs[job.kind]
        if not self._alive:
            self.busy_changed.emit(False)
