"""Progress for long commands: rate and ETA on a terminal and in plain-line mode.

On a terminal a rich bar shows done/total, the rate, the elapsed time and the ETA. Elsewhere
(CI logs, ``nohup``, pipes) one line goes to stderr every ``every_s`` seconds or every
``every_frac`` of the work, whichever comes first, and one at the end::

    exam-sample · local/smollm2: 46/230 (20%) · 0.93/s · 49 s elapsed · ETA 3 min 18 s

Used by ``bench``, ``kb build``, ``note``, ``consult``, ``train`` and ``data``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def fmt_duration(seconds: float) -> str:
    """``3 min 18 s``, ``49 s``, ``1 h 02 min``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def fmt_rate(per_s: float, unit: str = "") -> str:
    """A rate with two significant figures, per minute when below one per second."""
    tail = f" {unit}" if unit else ""
    if per_s <= 0:
        return f"–{tail}/s"
    if per_s < 1:
        per_min = per_s * 60
        return (f"{per_min:.2g}" if per_min < 10 else f"{per_min:.0f}") + f"{tail}/min"
    return (f"{per_s:.3g}" if per_s < 100 else f"{per_s:,.0f}") + f"{tail}/s"


class Progress:
    """Progress of ``total`` steps; call :meth:`step` after each and :meth:`close` at the end.

    Args:
        total: Steps expected (0 = unknown: lines show the count and rate only).
        label: What is being done (shown first).
        enabled: True = rich bar, False = plain lines, None = bar when stderr is a terminal.
        every_s: Plain mode: a line at least this often (seconds) while steps finish.
        every_frac: Plain mode: a line every this fraction of ``total``.
        stream: Where plain lines go (default stderr).
        quiet: No output at all (``--json`` pipelines, tests).
        unit: Name of one step in lines ("samples", "chunks" …).
    """

    def __init__(self, total: int, label: str, enabled: bool | None = None, *, every_s: float = 10.0,
                 every_frac: float = 0.05, stream: TextIO | None = None, quiet: bool = False,
                 unit: str = "") -> None:
        self.total, self.label, self.n, self.unit = max(0, int(total)), label, 0, unit
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if enabled is None else enabled
        self.every_s, self.every_frac = every_s, every_frac
        self.start = self._last_line = time.perf_counter()
        self._last_n = 0
        self._bar: Any = None
        if self.tty and not quiet:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                     TextColumn("ETA"), TimeRemainingColumn(), transient=True,
                                     console=Console(file=self.stream))
            self._bar.start()
            self._id = self._bar.add_task(label, total=self.total or None, rate="")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def rate(self) -> float:
        """Steps per second so far."""
        return self.n / max(self.elapsed, 1e-9)

    def eta(self) -> float | None:
        """Seconds left at the rate so far (None when unknown)."""
        if not self.total or not self.n:
            return None
        return max(0, self.total - self.n) / max(self.rate, 1e-9)

    def line(self) -> str:
        """The plain progress line for the current state."""
        head = f"{self.label}: {self.n}/{self.total} ({self.n / self.total:.0%})" if self.total else \
            f"{self.label}: {self.n}"
        parts = [head, fmt_rate(self.rate, self.unit), f"{fmt_duration(self.elapsed)} elapsed"]
        eta = self.eta()
        if eta is not None and self.n < self.total:
            parts.append(f"ETA {fmt_duration(eta)}")
        return " · ".join(parts)

    def step(self, n: int = 1) -> None:
        """``n`` more steps are done."""
        self.n += n
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._id, advance=n, rate=fmt_rate(self.rate, self.unit))
            return
        now = time.perf_counter()
        frac_step = max(1, int(self.total * self.every_frac)) if self.total else 0
        due_frac = bool(frac_step) and self.n // frac_step > self._last_n // frac_step
        if self.n == self.total or due_frac or now - self._last_line >= self.every_s:
            self._emit(now)

    def _emit(self, now: float) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()
        self._last_line, self._last_n = now, self.n

    def close(self) -> None:
        """Stop the bar (a final line in plain mode when the last one is stale)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif not self.quiet and self.n and self.n != self._last_n:
            self._emit(time.perf_counter())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], total: int | None, label: str, **kw: Any) -> Iterator[T]:
    """Iterate ``items`` with a :class:`Progress` (``total`` from ``len`` when not given)."""
    if total is None:
        total = len(items) if hasattr(items, "__len__") else 0  # type: ignore[arg-type]
    with Progress(total, label, **kw) as progress:
        for item in items:
            yield item
            progress.step()


class StageProgress:
    """A ``(stage, done, total)`` callback (``medsage.kb.build``'s) shown as one :class:`Progress` per stage."""

    def __init__(self, label: str, **kw: Any) -> None:
        self.label, self.kw = label, kw
        self._stage: str | None = None
        self._cur: Progress | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._cur is None or stage != self._stage:
            self.close()
            self._stage, self._cur = stage, Progress(total, f"{self.label} · {stage}", **self.kw)
        if done > self._cur.n:
            self._cur.step(done - self._cur.n)
        if total and done >= total:
            self.close()

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None
