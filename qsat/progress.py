"""Progress of long commands, on stderr: a bar on a terminal, plain lines otherwise.

:class:`Stages` follows the stages of a command (``qsat run``: passes, link, keys, budget,
montecarlo, then writing): on a terminal one line redrawn in place twice a second, with the
stage, its number and the time elapsed; in a log (stderr not a terminal) a line when each
stage starts and a "still running" line every ``interval`` seconds of a long stage, so a
silent minute never looks like a hang. A stage that knows its size (``qsat run``'s groups of
passes, ``qsat passes``' blocks) reports it with :meth:`Stages.advance`; both forms then show
how far it is and its ETA. :class:`Progress` is the bar of the Monte Carlo's
chunks, with its ETA. ``quiet`` shows nothing.

Messages printed while a bar is drawn (warnings) go through :func:`clear_line` first, so
they start on a line of their own.
"""

from __future__ import annotations

import math
import sys
import threading
import time

_ACTIVE: list = []  # bars now drawn in place on a terminal


def clear_line(stream=None) -> None:
    """Erase a bar drawn in place, so that the next message starts on a clean line."""
    for bar in _ACTIVE:
        if stream is None or bar.stream is stream:
            bar.stream.write("\r\033[K")
            bar.stream.flush()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _is_tty(stream) -> bool:
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class Stages:
    """Stage-by-stage progress of one command (see the module's docstring).

    ``names``: the stages to expect, in order (a stage not named is added as it starts).
    Use :meth:`start` (or call the bar) as each begins (``execute(..., progress=bar)``) and :meth:`close`
    at the end (also as a context manager).
    """

    def __init__(self, names, *, label: str = "qsat", stream=None, quiet: bool = False, interval: float = 15.0,
                 width: int = 20, tty: bool | None = None):
        self.names = list(names)
        self.label = label
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.width = width
        self.tty = _is_tty(self.stream) if tty is None else tty
        self.current: str | None = None
        self.t0 = self.t_stage = time.monotonic()
        self.part: tuple[int, int, str] | None = None  # (done, total, unit) of the stage now running
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        """Stage ``name`` begins (the previous one is done)."""
        if name not in self.names:
            self.names.append(name)
        with self._lock:
            self.current, self.t_stage, self.part = name, time.monotonic(), None
            if self.quiet:
                return
            if self.tty:
                self._draw()
            else:
                self._write(f"{self.label}: [{self._number()}/{len(self.names)}] {name} "
                            f"(elapsed {_clock(time.monotonic() - self.t0)})\n")
        if self._thread is None and not self.quiet:
            self._thread = threading.Thread(target=self._tick, name="qsat-progress", daemon=True)
            self._thread.start()
            if self.tty:
                _ACTIVE.append(self)

    __call__ = start  # a Stages is itself the ``progress(name)`` callback of qsat.pipeline.execute

    def advance(self, done: int, total: int, unit: str = "groups") -> None:
        """``done`` of the running stage's ``total`` parts are finished (shown with an ETA)."""
        with self._lock:
            self.part = (int(done), int(total), unit)
            if self.tty and not self.quiet:
                self._draw()

    def _fraction(self) -> str:
        """The running stage's size, e.g. ' 12/365 groups, ETA 0:03:10'; empty when it reported none."""
        if self.part is None:
            return ""
        done, total, unit = self.part
        elapsed = time.monotonic() - self.t_stage
        eta = elapsed / done * (total - done) if done else float("nan")
        return f" {done}/{total} {unit}, ETA {_clock(eta)}"

    def _number(self) -> int:
        return self.names.index(self.current) + 1 if self.current in self.names else 0

    def line(self) -> str:
        """The bar: stages done out of all, the stage now running, time elapsed."""
        done = self._number() - 1 if self.current is not None else 0
        filled = int(round(self.width * done / len(self.names))) if self.names else self.width
        return (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {self._number()}/{len(self.names)} "
                f"{self.current or ''}{self._fraction()} {_clock(time.monotonic() - self.t0)}")

    def _draw(self) -> None:
        self._write("\r\033[K" + self.line())

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _tick(self) -> None:
        period = 0.5 if self.tty else self.interval
        while not self._stop.wait(period):
            with self._lock:
                if self.tty:
                    self._draw()
                elif self.current is not None:
                    self._write(f"{self.label}: [{self._number()}/{len(self.names)}] {self.current} still running "
                                f"({_clock(time.monotonic() - self.t_stage)} in this stage, "
                                f"{_clock(time.monotonic() - self.t0)} in all){self._fraction()}\n")

    def close(self) -> None:
        """Stop drawing; on a terminal the bar's line is erased."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
                self._write("\r\033[K")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Progress:
    """A one-line text progress bar with elapsed time and ETA (chunks of this session)."""

    def __init__(self, total: int, done: int, stream=None, enabled: bool = True, width: int = 30):
        self.total, self.start_done, self.done = total, done, done
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.t0 = time.monotonic()
        self.tty = _is_tty(self.stream)
        self._last_decile = -1

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        decile = int(10 * self.done / self.total) if self.total else 10
        if not self.tty and decile == self._last_decile and self.done < self.total:
            return
        self._last_decile = decile
        self.stream.write(("\r" if self.tty else "") + self.line() + ("" if self.tty else "\n"))
        self.stream.flush()

    def line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(self.width * frac))
        elapsed = time.monotonic() - self.t0
        new = self.done - self.start_done
        remaining = self.total - self.done
        eta = elapsed / new * remaining if new else float("nan")
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} chunks {100 * frac:5.1f}% "
                f"elapsed {_clock(elapsed)} ETA {_clock(eta)}")

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


__all__ = ["Stages", "Progress", "clear_line"]
