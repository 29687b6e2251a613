"""The engine process: it owns TensorFlow and the Keras models and runs requests.

The window talks to it through one duplex pipe (``EngineProcess``), with messages

- window -> engine: ``("run", job_id, request, precision)`` (``auto``, ``float32``... see
  ``engine.precision``; a job keeps the precision it was sent with), ``("cancel", job_id)``,
  ``("stop",)``;
- engine -> window: ``("ready", pid)``, ``("versions", {...})`` once TensorFlow is loaded
  (with ``precision``: what ``auto`` chooses on this machine, in words),
  ``("progress", job_id, value)``, and exactly one
  of ``("result", job_id, result)`` / ``("error", job_id, message, details, error_type)``
  / ``("cancelled", job_id)`` per job.

Jobs run one at a time, in order. A long job (``registry.is_long``, e.g. filter ascent)
serves the short requests that arrived meanwhile at each of its progress points
(between two ascent steps), so a Grad-CAM asked for during a four-minute filter job
is answered within about one step. A reader thread takes messages off the pipe while
jobs run, so a cancel is seen at the very next step.

Arrays travel pickled through the pipe. ``bench/transport.py`` measured 200-300 MiB/s
on the 2-core machine (a 5 MiB activation in 17 ms; results are mostly < 5 MiB), and
shared memory was no faster once the copy out of the block is counted (250-316 MiB/s),
so the simpler pipe stays.
No Qt in here: the window's side is ``convviz_gui.ui.workers``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections import deque
from typing import Any

from convviz_gui.ops.registry import is_long, run

PROGRESS_INTERVAL_S = 0.05  # plain progress at most every 50 ms; previews always go
STOP_TIMEOUT_S = 5.0


ENGINE_NICENESS = 5  # below the window: a figure drawn on the GUI thread wins the CPU


def serve(connection: Any) -> None:
    """Entry point of the child process: answer requests until told to stop."""
    import convviz_gui.engine  # noqa: F401  (TensorFlow environment before it loads)

    lower_priority()

    EngineServer(connection).serve()


def lower_priority() -> None:
    """Run the engine below the window's priority (POSIX nice, Windows below-normal class).

    On a 2-core machine TensorFlow keeps both cores busy during a filter job; the window
    then needs the CPU only in short bursts (a figure draw) and gets it at once.
    """
    try:
        if hasattr(os, "nice"):
            os.nice(ENGINE_NICENESS)
        elif sys.platform == "win32":
            import ctypes

            below_normal = 0x4000
            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal)
    except OSError:
        pass  # not allowed here: the engine simply runs at normal priority


class EngineServer:
    """Runs requests from the pipe; see the module docstring for the protocol."""

    def __init__(self, connection: Any) -> None:
        from convviz_gui.ops.context import Workspace

        self._connection = connection
        self._send_lock = threading.Lock()
        self._condition = threading.Condition()
        self._pending: deque[tuple[int, Any, str]] = deque()
        self._cancelled: set[int] = set()
        self._stopping = False
        self._workspace = Workspace()
        self._serving_short = False
        self._last_progress: dict[int, float] = {}

    def serve(self) -> None:
        """Main loop (the process's main thread, where TensorFlow runs)."""
        threading.Thread(target=self._read, name="engine-pipe-reader", daemon=True).start()
        self._send(("ready", os.getpid()))
        from convviz_gui.engine.runtime import engine_versions

        self._send(("versions", engine_versions()))  # loads TensorFlow while the window shows itself
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    break
                job_id, request, precision = self._pending.popleft()
            self._execute(job_id, request, precision)

    def _read(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):  # the window is gone: stop too
                message = ("stop",)
            with self._condition:
                if message[0] == "run":
                    self._pending.append((message[1], message[2],
                                          message[3] if len(message) > 3 else "float32"))
                elif message[0] == "cancel":
                    self._cancelled.add(message[1])
                elif message[0] == "stop":
                    self._stopping = True
                self._condition.notify_all()
            if message[0] == "stop":
                return

    def _is_cancelled(self, job_id: int) -> bool:
        return self._stopping or job_id in self._cancelled

    def _execute(self, job_id: int, request: Any, precision: str = "float32") -> None:
        from convviz_gui.engine.errors import ConvVizError
        from convviz_gui.ops.context import OpContext

        if self._is_cancelled(job_id):
            self._finish(job_id, ("cancelled", job_id))
            return
        context = OpContext(self._workspace, lambda value: self._progress(job_id, request, value),
                            lambda: self._is_cancelled(job_id), precision)
        try:
            result = run(request, context)
        except ConvVizError as exc:
            self._finish(job_id, ("error", job_id, str(exc), "", type(exc).__name__))
        except Exception as exc:  # unexpected: one sentence plus the traceback for the log
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            message = f"Unexpected {type(exc).__name__}" + (f": {first}" if first else ".")
            self._finish(job_id, ("error", job_id, message, traceback.format_exc(),
                                  type(exc).__name__))
        else:
            self._finish(job_id, ("result", job_id, result))

    def _finish(self, job_id: int, message: tuple) -> None:
        self._cancelled.discard(job_id)
        self._last_progress.pop(job_id, None)
        self._send(message)

    def _progress(self, job_id: int, request: Any, value: Any) -> None:
        now = time.monotonic()
        if getattr(value, "previews", None) or \
                now - self._last_progress.get(job_id, 0.0) >= PROGRESS_INTERVAL_S:
            self._last_progress[job_id] = now
            if not self._is_cancelled(job_id):
                self._send(("progress", job_id, value))
        if is_long(request):
            self._serve_short_requests()

    def _serve_short_requests(self) -> None:
        """Run the short requests waiting behind a long job (never nested deeper)."""
        if self._serving_short:
            return
        self._serving_short = True
        try:
            while True:
                with self._condition:
                    waiting = next((item for item in self._pending if not is_long(item[1])), None)
                    if waiting is None or self._stopping:
                        return
                    self._pending.remove(waiting)
                self._execute(*waiting)
        finally:
            self._serving_short = False

    def _send(self, message: tuple) -> None:
        try:
            with self._send_lock:
                self._connection.send(message)
        except (BrokenPipeError, EOFError, OSError):
            with self._condition:  # the window is gone
                self._stopping = True
        except Exception as exc:  # a result that cannot be pickled: say so instead
            if message[0] == "result":
                with self._send_lock:
                    self._connection.send(("error", message[1], f"Cannot send the result: {exc}",
                                           traceback.format_exc(), type(exc).__name__))
            elif message[0] != "progress":  # a progress update that cannot travel is dropped
                raise


class EngineProcess:
    """The window's handle on one engine child process (spawned: same on every OS)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=serve, args=(child_end,), name="convviz-engine",
                                       daemon=True)
        self.process.start()
        child_end.close()  # only the child holds it now: its death ends our recv() with EOF
        self._send_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """Process id of the child."""
        return self.process.pid

    def send(self, message: tuple) -> bool:
        """Send a message; False when the engine is gone."""
        try:
            with self._send_lock:
                self._connection.send(message)
            return True
        except (BrokenPipeError, EOFError, OSError):
            return False

    def receive(self) -> tuple:
        """Block for the next message; raises ``EOFError`` when the engine died."""
        return self._connection.recv()

    def exit_description(self) -> str:
        """How the child ended, in words ('killed by signal 9', 'exit code 1')."""
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        if code is None:
            return "not responding"
        if code < 0:
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask the child to stop, then terminate it if it does not."""
        self.send(("stop",))
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        self._connection.close()
