"""Helpers shared by the benchmark scripts (timing, tables, memory); not product code."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_IMAGES = ROOT.parent / "shared" / "data" / "images"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN kernels are on in this process (imports TensorFlow)."""
    from convviz_gui.engine.runtime import load_keras

    load_keras()
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def run_json(script: Path, args: list[str], env: dict[str, str] | None = None,
             timeout: float = 3600) -> tuple[int, dict | None]:
    """Run ``python script args`` in a fresh process (own memory and caches).

    Returns its exit code (negative: killed by that signal) and its last stdout line
    parsed as JSON (None when it printed none). ``env`` entries override this environment;
    the end of its stderr is shown when it fails.
    """
    completed = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                               env={**os.environ, **(env or {})}, timeout=timeout)
    if completed.returncode:
        print(f"[{Path(script).name} {' '.join(args)}: exit {completed.returncode}]\n"
              f"{completed.stderr[-1500:]}", file=sys.stderr)
    lines = completed.stdout.strip().splitlines()
    try:
        return completed.returncode, json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return completed.returncode, None


def median_seconds(function: Callable[[], object], runs: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``function`` over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def current_rss_mib() -> float:
    """Resident memory now, MiB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        statm = Path("/proc/self/statm").read_text()
        return int(statm.split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mib()


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """Rows of (measure, value, target) under a title."""
    print(f"\n{title}")
    print(f"{'measure':<52} {'value':>12}   target")
    for name, value, target in rows:
        print(f"{name:<52} {value:>12}   {target}")


def verdict(ok: bool) -> str:
    """'met' / 'NOT met'."""
    return "met" if ok else "NOT met"


def print_json(figures: dict) -> None:
    """The one JSON line that ends every benchmark."""
    print(json.dumps({key: (round(value, 4) if isinstance(value, float) else value)
                      for key, value in figures.items()}))


class RssSampler:
    """Context manager sampling resident memory every millisecond; ``growth_mib`` after exit."""

    def __init__(self) -> None:
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.start_mib = self.peak_mib = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak_mib = max(self.peak_mib, current_rss_mib())

    def __enter__(self) -> RssSampler:
        self.start_mib = self.peak_mib = current_rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, current_rss_mib())

    @property
    def growth_mib(self) -> float:
        """Peak resident memory during the block minus the memory at its start."""
        return self.peak_mib - self.start_mib


def wait_until(app, condition: Callable[[], bool], timeout_s: float = 900,
               poll_s: float = 0.002) -> None:
    """Run the Qt event loop until ``condition()`` holds; exit the benchmark on timeout."""
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(poll_s)
