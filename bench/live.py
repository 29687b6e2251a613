"""Live view benchmark (run by hand, offscreen): frames per second of the Live tab on the demo.

Runs the real window and engine process on 2 CPU cores (the process and its engine are
pinned to two cores where the system allows). Two measurements, each with the demo model
and Grad-CAM at its default layer:

- ``video``: a 50 fps GIF made here from the demo face panning over a 320x240 frame (50 fps
  is the fastest a GIF plays), played by Qt's FFmpeg backend for ``--seconds``: frames
  explained per second, frames received and dropped, the time from a frame's arrival to
  its overlay on screen, and the longest stall of the GUI thread (a 20 ms heartbeat).
- ``saturated``: frames handed to the tab as its video source does, every 5 ms (200 per second),
  at 320x240 and 640x480, so that a frame always waits: the most the pipeline (conversion,
  the engine, the overlay) can explain per second.

Ends with one JSON line. Target: the video's 25-30 fps of an ordinary camera or video
explained at full rate on the demo.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import numpy as np


def pin_two_cores() -> str:
    """Pin this process (and the engine it spawns) to two CPU cores; say what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cores[:2])
    return f"cores {cores[:2]} of {len(cores)}"


def face_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """The demo face (half the frame's height) panning left to right over a grey frame."""
    from PIL import Image

    from convviz_gui.engine.models import demo_image_path

    side = height // 2
    face = np.asarray(Image.open(demo_image_path()).convert("RGB").resize((side, side)))
    frames = []
    for n in range(count):
        frame = np.full((height, width, 3), 60, np.uint8)
        x = int((width - side) * n / max(1, count - 1))
        y = height // 4
        frame[y:y + side, x:x + side] = face
        frames.append(frame)
    return frames


def write_gif(path: Path, frames: list[np.ndarray], frame_ms: int) -> str:
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measurement")
    parser.add_argument("--method", default="Grad-CAM")
    args = parser.parse_args()
    pinned = pin_two_cores()

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QImage
    from PySide6.QtMultimedia import QVideoFrame
    from PySide6.QtWidgets import QApplication

    from convviz_gui.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])

    def wait(condition, timeout_s: float = 600) -> None:
        benchlib.wait_until(app, condition, timeout_s, 0.001)

    folder = Path(tempfile.mkdtemp(prefix="convviz-bench-live-"))
    video = write_gif(folder / "face_50fps.gif", face_frames(320, 240, 150), 20)
    window = MainWindow(QSettings(str(folder / "bench.ini"), QSettings.Format.IniFormat))
    window.show()
    window.files.open_model("demo")
    wait(lambda: window.session.model is not None)
    tab = window.live_tab
    window.tabs.setCurrentWidget(tab)
    tab.method.setCurrentIndex(tab.method.findData(args.method))
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    engine_ms: list[float] = []
    tab.frame_shown.connect(lambda result: engine_ms.append(result.seconds * 1000))

    def measure(seconds: float) -> dict:
        """Counts over ``seconds`` after a two-second warm-up."""
        wait(lambda: tab.pump.explained >= 3)
        warm = time.perf_counter() + 2.0
        wait(lambda: time.perf_counter() > warm)
        start = (tab.pump.received, tab.pump.explained, tab.pump.dropped, len(tab.pump.shown))
        engine_ms.clear()
        ticks.clear()
        heartbeat.start()
        began = time.perf_counter()
        wait(lambda: time.perf_counter() > began + seconds)
        heartbeat.stop()
        elapsed = time.perf_counter() - began
        received, explained, dropped = (tab.pump.received - start[0], tab.pump.explained - start[1],
                                        tab.pump.dropped - start[2])
        latencies = [item.latency * 1000 for item in list(tab.pump.shown)[-explained:]] \
            if explained else [float("nan")]
        gaps = [(b - a) * 1000 - 20 for a, b in zip(ticks, ticks[1:])]
        return {"fps": explained / elapsed, "received_per_s": received / elapsed,
                "dropped_share": dropped / max(1, received),
                "engine_ms": statistics.median(engine_ms) if engine_ms else float("nan"),
                "latency_ms": statistics.median(latencies),
                "max_stall_ms": max(gaps) if gaps else float("nan")}

    tab.open_video(video)
    played = measure(args.seconds)
    tab.stop()

    saturated = {}
    for width, height in ((320, 240), (640, 480)):
        images = [QImage(frame.data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
                  for frame in face_frames(width, height, 50)]
        counter = iter(range(10**9))

        def push(images=images, counter=counter) -> None:
            # What the video sink announces for a frame (no source is open here).
            tab.source.frame_arrived.emit(QVideoFrame(images[next(counter) % len(images)]),
                                          time.monotonic())

        feeder = QTimer()
        feeder.setInterval(5)  # 200 frames per second: one always waits, without spinning
        feeder.timeout.connect(push)
        feeder.start()
        saturated[f"{width}x{height}"] = measure(args.seconds / 2)
        feeder.stop()
    window.close()

    rows = [("video 50 fps 320x240: frames explained per second", played["fps"], "25-30+"),
            ("  frames received per second", played["received_per_s"], ""),
            ("  share of frames dropped", played["dropped_share"], ""),
            ("  engine time per frame (ms, median)", played["engine_ms"], ""),
            ("  arrival to overlay on screen (ms, median)", played["latency_ms"], ""),
            ("  longest GUI stall (ms)", played["max_stall_ms"], "<= 100")]
    for size, figures in saturated.items():
        rows += [(f"saturated {size}: frames explained per second", figures["fps"], ""),
                 ("  engine time per frame (ms, median)", figures["engine_ms"], ""),
                 ("  arrival to overlay on screen (ms, median)", figures["latency_ms"], ""),
                 ("  longest GUI stall (ms)", figures["max_stall_ms"], "<= 100")]
    benchlib.print_table(f"Live view, demo model, {args.method}, {pinned}",
                         [(name, f"{value:.2f}", target) for name, value, target in rows])
    figures = {"video_fps": played["fps"], "video_dropped_share": played["dropped_share"],
               "video_latency_ms": played["latency_ms"], "video_max_stall_ms": played["max_stall_ms"],
               "engine_ms": played["engine_ms"], "cores": pinned, "method": args.method}
    for size, values in saturated.items():
        figures[f"saturated_{size}_fps"] = values["fps"]
        figures[f"saturated_{size}_latency_ms"] = values["latency_ms"]
    benchlib.print_json(figures)


if __name__ == "__main__":
    main()
