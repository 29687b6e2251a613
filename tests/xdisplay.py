"""The real app on a real X server, for the bundle check (issue 25) and ``bench/bundle_start.py``.

Xvfb, the app started with an empty environment (as a double-click from a desktop whose user
never set up Python), its window found with xdotool, its processes read from /proc, screenshots
taken with ImageMagick's ``import``. Linux only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

TOOLS = ("Xvfb", "xdotool", "import")
WINDOW_TITLE = "^ConvViz"  # the main window's title: "ConvViz", then "ConvViz — MODEL"
ENGINE_ARGUMENT = "--multiprocessing-fork"  # on the command line of every spawned child


def missing_tools() -> list[str]:
    """The X tools this module runs that are not installed."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@contextmanager
def x_server(size: str = "1366x768") -> Iterator[str]:
    """A fresh Xvfb display (no window manager); yields its name, e.g. ``":57"``."""
    number = next(n for n in range(57, 99) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    display = f":{number}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 10)
        yield display
    finally:
        server.terminate()
        server.wait(10)


def wait_until(condition: Callable[[], object], timeout_s: float, poll_s: float = 0.1) -> object:
    """The first true value of ``condition()`` within ``timeout_s``; None after that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    return None


def start_app(command: list[str], display: str, home: Path, log: Path,
              cwd: Path | None = None) -> subprocess.Popen:
    """Start ``command`` as ``env -i HOME=home DISPLAY=display PATH=/usr/bin:/bin`` would: no
    virtualenv, no Python on PATH, no settings of the user who runs the tests."""
    environment = {"HOME": str(home), "DISPLAY": display, "PATH": "/usr/bin:/bin"}
    with log.open("wb") as stream:
        return subprocess.Popen(command, env=environment, cwd=cwd, stdout=stream,
                                stderr=subprocess.STDOUT, start_new_session=True)


def find_window(display: str) -> str | None:
    """The id of the visible ConvViz main window, if it is shown."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", WINDOW_TITLE],
                           env={**os.environ, "DISPLAY": display}, capture_output=True, text=True)
    return found.stdout.split()[0] if found.stdout.split() else None


def window_title(display: str, window: str) -> str:
    """The title of ``window`` ("" once it is gone)."""
    found = subprocess.run(["xdotool", "getwindowname", window], env={**os.environ, "DISPLAY": display},
                           capture_output=True, text=True)
    return found.stdout.strip()


def press_keys(display: str, window: str, keys: str) -> None:
    """Focus ``window`` (there is no window manager) and press ``keys``, e.g. ``ctrl+q``."""
    environment = {**os.environ, "DISPLAY": display}
    subprocess.run(["xdotool", "windowfocus", "--sync", window], env=environment, check=False,
                   capture_output=True, timeout=10)
    subprocess.run(["xdotool", "key", keys], env=environment, check=True, timeout=10)


def screenshot(display: str, path: Path) -> Path:
    """The whole screen as a PNG."""
    subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True, timeout=30)
    return path


def _living_processes() -> dict[int, tuple[int, int]]:
    """Process id -> (parent id, session id) of every living (not zombie) process."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if fields[0] != "Z":
            found[int(stat.parent.name)] = (int(fields[1]), int(fields[3]))
    return found


def children(pid: int) -> list[int]:
    """Every living descendant of process ``pid``."""
    processes = _living_processes()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, (its_parent, _) in processes.items() if its_parent == parent]
        found += kids
        frontier += kids
    return found


def session_processes(process: subprocess.Popen) -> list[int]:
    """The living processes of the session ``start_app`` opened (orphans included)."""
    return [pid for pid, (_, session) in _living_processes().items() if session == process.pid]


def command_line(pid: int) -> list[str]:
    """The arguments of process ``pid`` ([] once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def engine_processes(pid: int) -> list[int]:
    """The engine children of the window's process ``pid`` (spawned multiprocessing workers;
    the resource tracker, a helper of multiprocessing, is not one)."""
    return [child for child in children(pid) if ENGINE_ARGUMENT in command_line(child)]


def maps_library(pid: int, name: str) -> bool:
    """Whether a library whose file name contains ``name`` is mapped into process ``pid``."""
    try:
        return name in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def loads_tensorflow(pid: int) -> bool:
    """Whether TensorFlow's library is mapped into process ``pid``."""
    return maps_library(pid, "libtensorflow")


def stop_group(process: subprocess.Popen) -> None:
    """Kill what is left of an app started by ``start_app`` (its whole session)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
