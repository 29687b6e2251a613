"""The one worker mechanism for every long job: requests sent to the engine process.

A job is a request of the operations layer (``convviz_gui.ops``) with a kind
("activations", "filters", ...). The ``JobRunner`` sends it to the engine process,
and progress, result and error come back as Qt signals on the GUI thread. Submitting
a job of a kind that is still live cancels the stale one, whose result is dropped.

The window's process never imports TensorFlow. If the engine process dies (native
crash, out of memory, killed), the runner starts a new one, tells the window
(``engine_restarted``: it re-opens the model and image), and re-sends every live job
once.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from convviz_gui.ops.base import ImageRef, ModelRef
from convviz_gui.ops.engine_process import EngineProcess

RESTARTS_PER_MINUTE = 3  # more deaths than this in a minute: the engine cannot start at all


def request_refs(request: Any, depth: int = 2) -> list[ModelRef | ImageRef]:
    """The model and image references a request names (in its fields, or one level down
    in a nested settings dataclass such as an explanation spec)."""
    found: list[ModelRef | ImageRef] = []
    if depth == 0 or not dataclasses.is_dataclass(request):
        return found
    for field in dataclasses.fields(request):
        value = getattr(request, field.name, None)
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, (ModelRef, ImageRef)):
                found.append(item)
            elif dataclasses.is_dataclass(item) and not isinstance(item, type):
                found.extend(request_refs(item, depth - 1))
    return found


class JobSignals(QObject):
    """Signals of one job, delivered on the GUI thread."""

    progress = Signal(object)
    result = Signal(object)
    error = Signal(str, str)  # one-sentence message, technical details ("" for user errors)
    finished = Signal()


class Job:
    """One request in flight, with its signals and cancel state."""

    def __init__(self, job_id: int, kind: str, request: Any, send: Callable[[tuple], bool]) -> None:
        self.id = job_id
        self.kind = kind
        self.request = request
        self.signals = JobSignals()
        self.cancelled = False
        self.keep_result = False
        self.attempts = 0
        self.error_type = ""
        self.quiet = False  # does not make the runner busy (see ``JobRunner.submit``)
        self.precision = "float32"  # what its model passes run in (``JobRunner.precision``)
        self._send = send

    def cancel(self, keep_result: bool = False) -> None:
        """Ask the engine to stop this job at its next step.

        ``keep_result`` delivers what the job returns after stopping (partial results
        the user asked to keep), instead of dropping it as stale.
        """
        self.keep_result = self.keep_result or keep_result
        if not self.cancelled:
            self.cancelled = True
            self._send(("cancel", self.id))


class _Receiver(QThread):
    """Blocks on the engine's pipe and forwards each message as a signal."""

    message = Signal(int, object)  # engine generation, message

    def __init__(self, engine: EngineProcess, generation: int) -> None:
        super().__init__()
        self._engine = engine
        self._generation = generation

    def run(self) -> None:  # noqa: D401 (Qt override)
        while True:
            try:
                message = self._engine.receive()
            except (EOFError, OSError):
                self.message.emit(self._generation, ("died",))
                return
            except Exception as exc:  # a message that cannot be unpickled
                message = ("garbled", repr(exc))
            self.message.emit(self._generation, message)


class JobRunner(QObject):
    """Owns the engine process; one live job per kind, newer requests replace older ones."""

    busy_changed = Signal(bool)
    dropped = Signal(str)  # the kind of a live job cancelled because the session moved on
    engine_restarted = Signal(str)  # one sentence for the status bar
    engine_failed = Signal(str)  # the engine cannot be started again
    versions_ready = Signal(dict)  # the engine's versions, and what precision ``auto`` runs

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[str, Job] = {}  # the live job of each kind
        self._alive: dict[int, Job] = {}  # every job not finished yet
        self._generation = 0
        self._deaths: list[float] = []
        self._closing = False
        self.engine: EngineProcess | None = None
        self.versions: dict[str, str] | None = None  # TensorFlow, Keras, NumPy of the engine
        self.last_error_type = ""  # exception class name of the last error delivered
        self.precision = "auto"  # what the next jobs run in (``engine.precision.PRECISIONS``)
        self._receiver: _Receiver | None = None
        self._start_engine()

    # ----- the process ---------------------------------------------------------------------
    def _start_engine(self) -> None:
        if self._receiver is not None:
            # It ends right after reporting the death; a QThread object destroyed while its
            # thread still runs aborts the whole process.
            self._receiver.wait(5000)
        self._generation += 1
        self.engine = EngineProcess()
        self._receiver = _Receiver(self.engine, self._generation)
        self._receiver.message.connect(self._on_message)
        self._receiver.start()

    def _send(self, message: tuple) -> bool:
        return self.engine is not None and self.engine.send(message)

    @property
    def alive(self) -> bool:
        """True while the engine process runs."""
        return self.engine is not None and self.engine.process.is_alive()

    def _on_message(self, generation: int, message: tuple) -> None:
        if generation != self._generation:
            return  # from an engine that has been replaced
        kind = message[0]
        if kind == "died":
            self._engine_died()
            return
        if kind == "versions":
            self.versions = message[1]
            self.versions_ready.emit(message[1])
        if kind in ("ready", "versions", "garbled"):
            return
        job = self._alive.get(message[1])
        if job is None:
            return
        if kind == "progress":
            if not job.cancelled:
                job.signals.progress.emit(message[2])
            return
        if kind == "result" and (not job.cancelled or job.keep_result):
            job.signals.result.emit(message[2])
        elif kind == "error" and not job.cancelled:
            job.error_type = self.last_error_type = message[4]
            job.signals.error.emit(message[2], message[3])
        self._done(job)

    def _engine_died(self) -> None:
        if self._closing:
            return
        how = self.engine.exit_description() if self.engine else "unknown"
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < 60] + [now]
        if len(self._deaths) > RESTARTS_PER_MINUTE:
            self.engine = None
            message = (f"The computation engine stopped {len(self._deaths)} times in a minute "
                       f"({how}); restart ConvViz.")
            for job in list(self._alive.values()):
                self._fail(job, message)
            self.engine_failed.emit(message)
            return
        self._start_engine()
        retried = [job for job in self._alive.values() if not job.cancelled and job.attempts < 2]
        given_up = [job for job in self._alive.values() if job not in retried]
        text = f"The computation engine stopped unexpectedly ({how}) and was restarted"
        text += "; retrying your last request." if retried else "."
        self.engine_restarted.emit(text)  # the window re-opens its model and image first
        for job in given_up:
            self._fail(job, f"The computation engine stopped twice on this request ({how}).")
        for job in retried:
            self._dispatch(job)

    def _fail(self, job: Job, message: str) -> None:
        if not job.cancelled:
            job.error_type = self.last_error_type = "EngineCrash"
            job.signals.error.emit(message, "")
        self._done(job)

    # ----- jobs ----------------------------------------------------------------------------
    def submit(
        self, kind: str, request: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        quiet: bool = False,
    ) -> Job:
        """Send ``request`` to the engine, cancelling any stale job of the same kind.

        ``quiet`` jobs (the Live tab's frames, one after another) do not make the runner
        ``busy``: the window's busy bar is for work the user waits for.
        """
        if self._closing:
            raise RuntimeError("the job runner has been shut down")
        self.cancel(kind)
        job = Job(next(self._ids), kind, request, self._send)
        job.quiet = quiet
        job.precision = self.precision  # kept when the job is re-sent after a restart
        for signal, slot in ((job.signals.result, on_result), (job.signals.error, on_error),
                             (job.signals.progress, on_progress),
                             (job.signals.finished, on_finished)):
            if slot is not None:
                signal.connect(slot)
        self._jobs[kind] = job
        was_busy = self.busy
        self._alive[job.id] = job
        if self.busy and not was_busy:
            self.busy_changed.emit(True)
        if self.engine is None:
            self._fail(job, "The computation engine is not running; restart ConvViz.")
        else:
            self._dispatch(job)
        return job

    def _dispatch(self, job: Job) -> None:
        job.attempts += 1
        self._send(("run", job.id, job.request, job.precision))  # a dead engine is noticed by the receiver

    def running(self, kind: str) -> Job | None:
        """The live job of that kind, if any."""
        return self._jobs.get(kind)

    def cancel(self, kind: str) -> None:
        """Cancel the job of that kind, if any (its result is dropped)."""
        job = self._jobs.pop(kind, None)
        if job is not None:
            job.cancel()

    def cancel_stale(self, stale: Callable[[Job], bool], keep: frozenset[str] = frozenset()
                     ) -> list[str]:
        """Cancel every live job ``stale`` says belongs to what the window no longer shows
        (its result and errors are dropped); ``keep``: kinds that always finish (files the
        user asked for). Returns the kinds cancelled; ``dropped`` is emitted for each."""
        kinds = [kind for kind, job in self._jobs.items() if kind not in keep and stale(job)]
        for kind in kinds:
            self.cancel(kind)
            self.dropped.emit(kind)
        return kinds

    def cancel_all(self) -> None:
        """Cancel every job."""
        for kind in list(self._jobs):
            self.cancel(kind)

    @property
    def busy(self) -> bool:
        """True while any job (but a quiet one) is queued or running."""
        return any(not job.quiet for job in self._alive.values())

    def _done(self, job: Job) -> None:
        was_busy = self.busy
        if self._alive.pop(job.id, None) is None:
            return
        if self._jobs.get(job.kind) is job:
            del self._jobs[job.kind]
        job.signals.finished.emit()
        if was_busy and not self.busy:
            self.busy_changed.emit(False)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything and stop the engine process (window closing)."""
        self._closing = True
        self.cancel_all()
        for job in list(self._alive.values()):
            job.cancel()
        if self.engine is not None:
            self.engine.stop(timeout_ms / 1000)
        if self._receiver is not None:
            self._receiver.wait(timeout_ms)
        return not self.alive
