"""The Live tab's newest-frame pump, driven without Qt: frames arrive faster than a fake
engine answers, and the pump keeps one in the engine and only the newest one waiting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convviz_gui.ui.frame_pump import FramePump


class FakeEngine:
    """Records what is sent; answers when the test says so; a clock the test moves."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.now = 0.0

    def send(self, frame_id: int, frame: str) -> str | None:
        if frame == "garbled":
            return None
        self.sent.append((frame_id, frame))
        return frame.upper()

    def clock(self) -> float:
        return self.now


def answer(pump: FramePump, engine: FakeEngine, seconds: float = 0.1) -> str:
    """The engine answers the frame in flight after ``seconds``; returns its payload."""
    engine.now += seconds
    sent = pump.answer(pump.in_flight.frame_id)
    pump.done()
    return sent.payload


def test_the_newest_frame_waits_older_ones_are_dropped():
    engine = FakeEngine()
    pump = FramePump(engine.send, clock=engine.clock)
    for name in ("a", "b", "c", "d"):  # b and c wait in turn while a is in the engine
        pump.arrive(name)
    assert engine.sent == [(1, "a")]
    assert (pump.received, pump.dropped, pump.explained) == (4, 2, 0)
    assert answer(pump, engine) == "A"
    assert engine.sent[-1] == (4, "d")  # the newest, sent as soon as the engine is free
    assert answer(pump, engine) == "D"
    assert pump.in_flight is None
    assert [(shown.frame_id, shown.newest_at_submit) for shown in pump.shown] == [(1, 1), (4, 4)]
    assert pump.shown[0].latency == pytest.approx(0.1)
    assert pump.shown[1].latency == pytest.approx(0.2)  # arrived at 0, shown at 0.2
    assert pump.received == pump.explained + pump.dropped


def test_a_stale_answer_is_not_shown_and_a_garbled_frame_is_skipped():
    engine = FakeEngine()
    pump = FramePump(engine.send, clock=engine.clock)
    pump.arrive("garbled")
    assert pump.in_flight is None and engine.sent == []
    pump.arrive("a")
    assert pump.answer(99) is None and pump.explained == 0  # an answer to a forgotten frame
    assert pump.in_flight.payload == "A"


def test_an_engine_that_fails_inside_send_leaves_the_pump_free():
    pump: FramePump

    def failing_send(frame_id: int, frame: str) -> str:
        pump.done()  # the runner reports the failure before submit returns
        return frame

    pump = FramePump(failing_send)
    pump.arrive("a")
    assert pump.in_flight is None


def test_paused_frames_are_counted_not_sent_and_step_sends_one():
    engine = FakeEngine()
    pump = FramePump(engine.send, clock=engine.clock)
    pump.set_paused(True)
    pump.arrive("a")
    pump.arrive("b")
    assert engine.sent == [] and pump.received == 2 and pump.dropped == 0
    pump.step()
    pump.arrive("c")
    pump.arrive("d")  # after the step: paused again
    assert engine.sent == [(3, "c")] and pump.paused
    pump.set_paused(False)
    answer(pump, engine)
    pump.arrive("e")
    assert engine.sent[-1] == (5, "e")
    pump.restart()
    assert (pump.received, pump.explained, pump.dropped, len(pump.shown)) == (0, 0, 0, 0)


def test_frames_per_second_over_the_last_two_seconds():
    engine = FakeEngine()
    pump = FramePump(engine.send, clock=engine.clock)
    assert pump.frames_per_second() == 0.0
    for _ in range(10):  # 10 frames at 5 per second, then 20 at 10 per second
        pump.arrive("x")
        answer(pump, engine, 0.2)
    for _ in range(20):
        pump.arrive("x")
        answer(pump, engine, 0.1)
    assert pump.frames_per_second() == pytest.approx(10.0)
    assert pump.explained == 30


def test_the_pump_imports_no_qt():
    code = "import sys, convviz_gui.ui.frame_pump; assert 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
