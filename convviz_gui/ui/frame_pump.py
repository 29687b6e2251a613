"""The Live tab's newest-frame pump and frame-rate count, in plain Python (no Qt).

One frame is in the engine at a time. Frames that arrive meanwhile wait in a single
"newest frame" slot: a newer frame replaces the waiting one (counted as dropped), so the
view never falls behind the video. When the engine is done with a frame, the waiting one
is sent.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

FPS_WINDOW_S = 2.0  # frames per second over the last two seconds
HISTORY = 1000  # shown frames remembered for the readout and the tests


@dataclass(frozen=True)
class ShownFrame:
    """One explained frame: its id, the newest frame id when it was sent to the engine, and
    the seconds from its arrival to its overlay on screen."""

    frame_id: int
    newest_at_submit: int
    latency: float


@dataclass(frozen=True)
class SentFrame:
    """The frame in the engine: its id, what ``send`` made of it, when it arrived, and the
    newest frame id at that moment."""

    frame_id: int
    payload: Any
    arrived: float
    newest: int


class FramePump:
    """Sends the newest frame whenever the engine is free; counts received, explained and
    dropped frames.

    Args:
        send: sends frame ``(frame_id, frame)`` to the engine and returns what to keep for it
            until it is shown (e.g. its RGB pixels), or None when it cannot be sent (it is
            then forgotten).
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, send: Callable[[int, Any], Any | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._clock = clock
        self.paused = False
        self._step_wanted = False
        self._waiting: tuple[int, Any, float] | None = None  # the newest frame slot
        self.in_flight: SentFrame | None = None
        self.received = self.explained = self.dropped = 0
        self.shown: deque[ShownFrame] = deque(maxlen=HISTORY)
        self._shown_at: deque[float] = deque(maxlen=HISTORY)

    def restart(self) -> None:
        """A new source: counts from zero, not paused, nothing waiting."""
        self.paused = self._step_wanted = False
        self._waiting = None
        self.received = self.explained = self.dropped = 0
        self.shown.clear()
        self._shown_at.clear()

    def arrive(self, frame: Any, arrived: float | None = None) -> None:
        """A frame from the source (``arrived``: when, on ``clock``; default now)."""
        self.received += 1
        if self.paused and not self._step_wanted:
            return
        self._step_wanted = False
        if self._waiting is not None:
            self.dropped += 1  # a newer frame replaces the one that waited
        self._waiting = (self.received, frame, self._clock() if arrived is None else arrived)
        self.send_waiting()

    def send_waiting(self) -> None:
        """Send the waiting frame if no frame is in the engine."""
        if self.in_flight is not None or self._waiting is None:
            return
        frame_id, frame, arrived = self._waiting
        self._waiting = None
        # In flight before ``send``: an engine that fails at once calls ``done`` inside it.
        sent = self.in_flight = SentFrame(frame_id, None, arrived, self.received)
        payload = self._send(frame_id, frame)
        if self.in_flight is sent:
            self.in_flight = None if payload is None else replace(sent, payload=payload)

    def done(self) -> None:
        """The engine finished the frame in flight (answered, failed or cancelled)."""
        self.in_flight = None
        self.send_waiting()

    def answer(self, frame_id: int) -> SentFrame | None:
        """The engine's answer for ``frame_id`` came: the frame in flight if it is that one
        (counted as explained), else None (an answer to a frame forgotten since)."""
        sent = self.in_flight
        if sent is None or sent.frame_id != frame_id:
            return None
        now = self._clock()
        self.explained += 1
        self.shown.append(ShownFrame(frame_id, sent.newest, now - sent.arrived))
        self._shown_at.append(now)
        return sent

    def set_paused(self, paused: bool) -> None:
        """Paused: arriving frames are counted but not sent (a waiting one is forgotten)."""
        self.paused = paused
        self._step_wanted = False
        if paused:
            self._waiting = None

    def step(self) -> None:
        """Send the next frame that arrives, once, then pause (pausing first if needed)."""
        if not self.paused:
            self.set_paused(True)
        self._step_wanted = True

    def forget_waiting(self) -> None:
        """Drop the waiting frame (the source stopped, the model changed)."""
        self._waiting = None

    def frames_per_second(self) -> float:
        """Frames explained per second over the last ``FPS_WINDOW_S`` seconds."""
        if not self._shown_at:
            return 0.0
        recent = [t for t in self._shown_at if t >= self._shown_at[-1] - FPS_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / (recent[-1] - recent[0])
