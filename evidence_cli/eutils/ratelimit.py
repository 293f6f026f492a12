"""NCBI's request rate limit, shared by every process that uses the same state file.

NCBI allows 3 requests per second (10 with an API key) per key or IP address. Two cron jobs on
one machine must stay within it together, so the limiter's state lives in a small file guarded
by `fcntl.flock`: the wall-clock times of the last few requests. A caller takes the lock, sleeps
(holding it) until sending now keeps every 1-second window within the limit, records the send
time and releases the lock. Sleeping under the lock is what queues the other processes: they
would have to wait anyway, and it means a slot is never handed out and then sent late.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Headroom over the exact limit: "3 in any 1-second window" must hold at the server, where the
# arrival times differ from the send times we record by scheduling and network jitter. Measured
# against the fake on this 2-CPU machine (kernel receive times): under 15 ms at load 2-4; at load 7
# up to ~80 ms, of which 41-43 ms was a process's first request opening its connection after the
# slot (the client now connects before it) and 24-36 ms the limiter's own bookkeeping. 0.03 s
# once fell short in CI. Each 0.01 s costs a refresh about 1% of its rate (bench/refresh_requests.py).
WINDOW_SECONDS = 1.0
MARGIN_SECONDS = 0.06


def next_send_time(history: list[float], rate: float, now: float) -> float:
    """The earliest time >= now at which one more request keeps every window within `rate`.

    `history` is the send times so far, oldest first. Requests are spread at least 1/rate apart,
    and the request `rate` places back must lie more than one window (plus margin) in the past.
    """
    when = now
    if history:
        when = max(when, history[-1] + WINDOW_SECONDS / rate)
    n = int(rate)
    if n >= 1 and len(history) >= n:
        when = max(when, history[-n] + WINDOW_SECONDS + MARGIN_SECONDS)
    return when


class RateLimiter:
    """Blocks in `wait()` until one more request may be sent; `state_path` shares it between processes."""

    def __init__(
        self,
        rate: float,
        state_path: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.state_path = state_path
        self._clock = clock
        self._sleep = sleep
        self._thread_lock = threading.Lock()
        self._history: list[float] = []  # used when there is no state file
        self._keep = max(int(rate), 1)

    def wait(self) -> float:
        """Sleep until a request may go out; return its (recorded) send time."""
        with self._thread_lock:
            if self.state_path is None:
                return self._take(self._history)
            try:
                self.state_path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.state_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # a read-only cache (doctor, report): this process keeps the limit alone
                return self._take(self._history)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                history = _read_history(fd)
                sent = self._take(history)
                _write_history(fd, history[-self._keep:])
                return sent
            finally:
                os.close(fd)  # closing releases the flock

    def _take(self, history: list[float]) -> float:
        now = self._clock()
        # A state file written by a clock that has since jumped back must not stall us for ever.
        history[:] = [t for t in history if t <= now + WINDOW_SECONDS]
        when = next_send_time(history, self.rate, now)
        if when > now:
            self._sleep(when - now)
        sent = max(self._clock(), when)
        history.append(sent)
        del history[:-self._keep]
        return sent


def _read_history(fd: int) -> list[float]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096).decode("ascii", "replace")
    times = []
    for token in raw.split():
        try:
            times.append(float(token))
        except ValueError:
            return []  # a damaged state file only costs one unthrottled slot check: start afresh
    return sorted(times)


def _write_history(fd: int, history: list[float]) -> None:
    data = " ".join(f"{t:.6f}" for t in history).encode("ascii") + b"\n"
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
