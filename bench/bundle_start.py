"""Start-up of the bundled app beside ``make run`` (issue 25), run by hand after ``make bundle``.

``.venv/bin/python bench/bundle_start.py [RUNS] [LABEL=PATH ...]`` starts ``dist/ConvViz/ConvViz``
and ``python main.py`` in turn (RUNS times each, default 3), and each LABEL=PATH given (another
bundle's executable, or another checkout's ``main.py``, to compare builds or branches in the
same run), each on a fresh Xvfb with an empty environment,
and measures from the start: the window shown (xdotool, polled every 0.1 s) and the demo shown
(screenshots every 0.5 s: the first one of the screen as it stays once everything is drawn, i.e.
unchanged for SETTLED_S), and the CPU seconds used by then (less disturbed than wall time on a
shared machine): in all, and by the window, the engine and the other children (multiprocessing's
resource tracker). Each command keeps one HOME across its
runs: the first run is a first start, the others are starts again; the closing JSON line gives
the minimum and the median of the starts again.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.xdisplay import (  # noqa: E402
    children,
    engine_processes,
    find_window,
    screenshot,
    start_app,
    stop_group,
    wait_until,
    x_server,
)

SETTLED_S = 8.0
CHANGED_FRACTION = 0.002  # more pixels than this differ: the screen changed (a blinking cursor does not)
BUNDLE = os.environ.get("CONVVIZ_BUNDLE", str(ROOT / "dist" / "ConvViz" / "ConvViz"))  # or another build
COMMANDS = {"bundle": [BUNDLE],
            "make run": [sys.executable, str(ROOT / "main.py")]}  # this script runs with .venv/bin/python


def command_for(path: str) -> list[str]:
    """How to start PATH: a bundle's executable as it is, a ``main.py`` with this Python."""
    return [sys.executable, path] if path.endswith(".py") else [path]


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(command: list[str], folder: Path, home: Path) -> dict[str, float]:
    """Seconds from the start to the window shown and to the demo shown."""
    folder.mkdir(parents=True)
    with x_server() as display:
        started = time.monotonic()
        app = start_app(command, display, home, folder / "app.log", cwd=Path(command[-1]).parent)
        try:
            if not wait_until(lambda: find_window(display), 180, poll_s=0.1):
                log = (folder / "app.log").read_text(errors="replace")  # the folder goes with the exit
                raise SystemExit(f"no window; its log:\n{log[-3000:]}")
            window_s = time.monotonic() - started
            last, last_change_s, shot = None, window_s, 0
            while time.monotonic() - started - last_change_s < SETTLED_S:
                taken_s = time.monotonic() - started
                current = pixels(screenshot(display, folder / f"{shot:03d}.png"))
                if last is None or np.mean(np.any(current != last, axis=-1)) > CHANGED_FRACTION:
                    last_change_s = taken_s
                last, shot = current, shot + 1
                time.sleep(0.5)
            engines = engine_processes(app.pid)
            helpers = [pid for pid in children(app.pid) if pid not in engines]  # resource tracker
            return {"window_s": round(window_s, 2), "demo_s": round(last_change_s, 2),
                    "cpu_s": round(sum(map(cpu_seconds, [app.pid, *engines, *helpers])), 2),
                    "window_cpu_s": round(cpu_seconds(app.pid), 2),
                    "engine_cpu_s": round(sum(map(cpu_seconds, engines)), 2),
                    "helper_cpu_s": round(sum(map(cpu_seconds, helpers)), 2)}
        finally:
            stop_group(app)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    commands = {**COMMANDS, **{label: command_for(str(Path(path).resolve()))
                               for label, _, path in (argument.partition("=") for argument in sys.argv[2:])}}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="convviz-start-") as scratch:
        for run in range(runs):  # run 0 is a first start (new HOME: no font cache, no settings)
            for name, command in commands.items():
                label = name.replace(" ", "-")
                home = Path(scratch) / f"home-{label}"
                home.mkdir(exist_ok=True)
                measured = measure(command, Path(scratch) / f"{label}-{run}", home)
                results[name].append(measured)
                print(name, measured, flush=True)
    print(json.dumps({name: {f"{key}_{how.__name__}": how(run[key] for run in runs_of[1:] or runs_of)
                             for key in ("window_s", "demo_s", "cpu_s", "window_cpu_s", "engine_cpu_s",
                                         "helper_cpu_s") for how in (min, statistics.median)}
                      for name, runs_of in results.items()}))


if __name__ == "__main__":
    main()
