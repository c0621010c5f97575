"""Progress of long work on stderr, only when stderr is a terminal.

``simulate``, ``report``, ``db upgrade`` and the benchmarks show how far they are
(``done/total``, the rate and the time left) on one line that is redrawn in place.
Nothing is written when the stream is not a terminal (piped, redirected, under a
test runner) or when the command prints ``--json``: the output a program reads
never changes.

Two forms, one class:

>>> import io
>>> out = io.StringIO()  # not a terminal: nothing is shown
>>> with Progress(3, "simulate", stream=out) as shown:
...     for _ in range(3):
...         shown.advance()
>>> out.getvalue()
''
>>> list(progress(range(3), label="report", stream=out))
[0, 1, 2]

``Progress(total, label)`` is a context manager with :meth:`Progress.advance`
(``total`` may be ``None`` when it is not known: the count and rate are shown);
:func:`progress` wraps an iterable and advances once per item. ``enabled=False``
turns it off whatever the stream (pass ``enabled=not args.json``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from types import TracebackType
from typing import TextIO, TypeVar

__all__ = ["Progress", "format_seconds", "progress", "shows_progress"]

T = TypeVar("T")

REDRAW_EVERY = 0.1
"""Seconds between two redraws of the line (the last state is always drawn)."""


def shows_progress(stream: TextIO | None = None, *, enabled: bool = True) -> bool:
    """True when progress would be drawn on ``stream`` (default ``sys.stderr``)."""
    target = sys.stderr if stream is None else stream
    if not enabled:
        return False
    try:
        return target.isatty()
    except ValueError:  # a closed stream
        return False


def format_seconds(seconds: float) -> str:
    """``"4s"``, ``"2m05s"``, ``"1h02m"``: a short duration for the line.

    >>> format_seconds(4.2), format_seconds(125), format_seconds(3720)
    ('4s', '2m05s', '1h02m')
    """
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """One progress line: ``label: done/total (pct%), rate/s, time left``.

    ``stream`` defaults to ``sys.stderr``; the line is drawn only when it is a
    terminal and ``enabled``. ``clock`` (seconds, monotonic) is for tests.
    Leaving the ``with`` block ends the line with the total time taken.
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        unit: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.unit = unit
        self._stream = sys.stderr if stream is None else stream
        self.shown = shows_progress(self._stream, enabled=enabled)
        self._clock = clock
        self._start = clock()
        self._drawn_at: float | None = None
        self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(finished=kind is None)

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more done; redraw when the last redraw is old enough."""
        self.done += count
        if not self.shown:
            return
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= REDRAW_EVERY:
            self._draw(self.line(now))
            self._drawn_at = now

    def relabel(self, label: str) -> None:
        """Name what is being done now (``benchmarks (routing)``) and redraw at once."""
        self.label = label
        if self.shown:
            now = self._clock()
            self._draw(self.line(now))
            self._drawn_at = now

    def line(self, now: float | None = None) -> str:
        """The text of the line at ``now`` (the clock's time by default).

        >>> ticks = iter([0.0, 2.0])
        >>> shown = Progress(10, "simulate", clock=lambda: next(ticks))
        >>> shown.done = 4
        >>> shown.line()
        'simulate: 4/10 (40%), 2.0/s, 3s left'
        """
        elapsed = max((self._clock() if now is None else now) - self._start, 1e-9)
        rate = self.done / elapsed
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None:
            return f"{self.label}: {self.done:,}{unit}, {_rate(rate)}/s"
        pct = 100 * self.done / self.total if self.total else 100.0
        text = f"{self.label}: {self.done:,}/{self.total:,}{unit} ({pct:.0f}%), {_rate(rate)}/s"
        if rate > 0 and self.done < self.total:
            text += f", {format_seconds((self.total - self.done) / rate)} left"
        return text

    def close(self, *, finished: bool = True) -> None:
        """End the line: the count and the time taken (or where it stopped)."""
        if not self.shown:
            return
        elapsed = self._clock() - self._start
        how = f"done in {format_seconds(elapsed)}" if finished else "stopped"
        total = "" if self.total is None else f"/{self.total:,}"
        self._draw(f"{self.label}: {self.done:,}{total} {how}")
        self._stream.write("\n")
        self._stream.flush()
        self.shown = False

    def _draw(self, text: str) -> None:
        pad = " " * max(0, self._width - len(text))
        self._stream.write("\r" + text + pad)
        self._stream.flush()
        self._width = len(text)


def _rate(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"


def progress(
    items: Iterable[T],
    *,
    label: str,
    total: int | None = None,
    stream: TextIO | None = None,
    enabled: bool = True,
    unit: str = "",
) -> Iterator[T]:
    """Yield ``items``, advancing a :class:`Progress` once each; ``total`` defaults to
    ``len(items)`` when it has one."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with Progress(total, label, stream=stream, enabled=enabled, unit=unit) as shown:
        for item in items:
            yield item
            shown.advance()
