"""Progress for long commands: rate and ETA on a terminal and in plain-line mode.

On a terminal a rich bar shows done/total, the rate, the elapsed time and the ETA. Elsewhere
(CI logs, ``nohup``, pipes) one line goes to stderr every ``every_s`` seconds or every
``every_frac`` of the work, whichever comes first, and one at the end::

    exam-sample · local/smollm2: 46/230 (20%) · 0.93/s · 49 s elapsed · ETA 3 min 18 s

The ``every_s`` line comes even while no step finishes (a heartbeat thread), so a slow model
call never looks like a hang. Everything goes to stderr: ``--json`` output on stdout stays clean.

Two shapes of work, one implementation:

* **Many items** (``bench`` samples, ``kb build`` chunks, ``data`` records, ``train`` optimiser
  steps): a :class:`Progress` of known (or unknown, then count and rate only) total.
* **One item through stages** (``note``: draft → grounding → codes → safety; ``consult``;
  ``train``: load → steps → save; ``data``: read → filter → write): a :class:`StageProgress`.
  A stage that iterates (the note's model calls, the trainer's steps) reports ``(stage, done,
  total)`` and gets a full :class:`Progress` with rate and ETA. A stage of one step
  (``total`` = 1) gets no ``1/1`` bar, which would say nothing: in plain mode it prints a
  heartbeat line while it runs (``note · codes … 20 s elapsed``) and, when it took
  ``long_s`` or more, ``note · codes: done in 3.2 s``. :meth:`StageProgress.close` prints one
  summary line with each stage's time::

    note: draft 41 s → grounding 3.2 s → codes 0.1 s → safety 0.2 s · 45 s in all

  ``consult`` cannot know how many agent calls a consultation will take (consensus may end it
  early), so it counts model calls with rate and elapsed time (:func:`count_calls`), no ETA.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

StageCallback = Callable[[str, int, int], None]
"""``(stage, done, total)``: how library code reports progress (``total`` 1 = a one-step stage)."""


def fmt_duration(seconds: float) -> str:
    """``3 min 18 s``, ``49 s``, ``1 h 02 min``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def fmt_seconds(seconds: float) -> str:
    """A stage time: ``0.4 s``, ``3.2 s`` below ten seconds, else :func:`fmt_duration`."""
    return f"{max(0.0, seconds):.1f} s" if seconds < 9.95 else fmt_duration(seconds)


def fmt_rate(per_s: float, unit: str = "") -> str:
    """A rate with two significant figures, per minute when below one per second."""
    tail = f" {unit}" if unit else ""
    if per_s <= 0:
        return f"–{tail}/s"
    if per_s < 1:
        per_min = per_s * 60
        return (f"{per_min:.2g}" if per_min < 10 else f"{per_min:.0f}") + f"{tail}/min"
    return (f"{per_s:.3g}" if per_s < 100 else f"{per_s:,.0f}") + f"{tail}/s"


def _heartbeat(ref: weakref.ReferenceType[Progress], stop: threading.Event, tick: float) -> None:
    """Ask the progress behind ``ref`` for a due line every ``tick`` seconds until ``stop`` is set."""
    while not stop.wait(tick):
        progress = ref()
        if progress is None:
            return
        progress._beat()
        del progress


class Progress:
    """Progress of ``total`` steps; call :meth:`step` after each and :meth:`close` at the end.

    Args:
        total: Steps expected (0 = unknown: lines show the count and rate only).
        label: What is being done (shown first).
        enabled: True = rich bar, False = plain lines, None = bar when stderr is a terminal.
        every_s: Plain mode: a line at least this often (seconds), steps finishing or not.
        every_frac: Plain mode: a line every this fraction of ``total``.
        stream: Where plain lines go (default stderr).
        quiet: No output at all (tests, embedding callers).
        unit: Name of one step in lines ("samples", "chunks" …).
        counted: False for a one-step stage: no count or rate, a heartbeat line while it runs
            and a ``done in`` line at the end when it took ``long_s`` or more.
        long_s: See ``counted``.
        min_s: Plain mode: no line before this many seconds (a fast stage of a one-item command
            shows up in its :class:`StageProgress` summary only).
    """

    def __init__(self, total: int, label: str, enabled: bool | None = None, *, every_s: float = 10.0,  # noqa: PLR0913 - keyword-only display options; StageProgress and ~20 call sites pass them by name
                 every_frac: float = 0.05, stream: TextIO | None = None, quiet: bool = False,
                 unit: str = "", counted: bool = True, long_s: float = 2.0, min_s: float = 0.0) -> None:
        self.total, self.label, self.n, self.unit = max(0, int(total)), label, 0, unit
        self.stream = stream if stream is not None else sys.stderr
        self.quiet, self.counted, self.long_s, self.min_s = quiet, counted, long_s, min_s
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if enabled is None else enabled
        self.every_s, self.every_frac = every_s, every_frac
        self.start = self._last_line = time.perf_counter()
        self._last_n = 0
        self.detail = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._bar: Any = None
        if quiet:
            return
        if self.tty:
            self._start_bar()
        elif every_s > 0:
            tick = max(0.05, min(1.0, every_s / 4))
            threading.Thread(target=_heartbeat, args=(weakref.ref(self), self._stop, tick), daemon=True,
                             name=f"progress {label}").start()
            weakref.finalize(self, self._stop.set)

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        columns: list[Any] = [TextColumn("{task.description}")]
        if self.counted:
            columns += [BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                        TextColumn("ETA"), TimeRemainingColumn()]
        else:
            columns += [SpinnerColumn(), TimeElapsedColumn()]
        self._bar = RichProgress(*columns, transient=True, console=Console(file=self.stream))
        self._bar.start()
        self._id = self._bar.add_task(self.label, total=(self.total or None) if self.counted else None, rate="")

    @property
    def elapsed(self) -> float:
        """Seconds since this progress started."""
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

    def describe(self, detail: str) -> None:
        """Show ``detail`` after the label from now on (``loss 1.23``)."""
        self.detail = detail
        if self._bar is not None:
            self._bar.update(self._id, description=f"{self.label} ({detail})" if detail else self.label)

    def line(self) -> str:
        """The plain progress line for the current state."""
        if not self.counted:
            return f"{self.label} … {fmt_duration(self.elapsed)} elapsed"
        head = f"{self.label}: {self.n}/{self.total} ({self.n / self.total:.0%})" if self.total else \
            f"{self.label}: {self.n}"
        parts = [head, fmt_rate(self.rate, self.unit), f"{fmt_duration(self.elapsed)} elapsed"]
        eta = self.eta()
        if eta is not None and self.n < self.total:
            parts.append(f"ETA {fmt_duration(eta)}")
        if self.detail:
            parts.append(self.detail)
        return " · ".join(parts)

    def step(self, n: int = 1) -> None:
        """``n`` more steps are done."""
        self.n += n
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._id, advance=n, rate=fmt_rate(self.rate, self.unit))
            return
        if not self.counted:
            return
        with self._lock:
            now = time.perf_counter()
            if now - self.start < self.min_s:
                return
            frac_step = max(1, int(self.total * self.every_frac)) if self.total else 0
            due_frac = bool(frac_step) and self.n // frac_step > self._last_n // frac_step
            if self.n == self.total or due_frac or now - self._last_line >= self.every_s:
                self._emit(now)

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, one step after each."""
        for item in items:
            yield item
            self.step()

    def _beat(self) -> None:
        """Heartbeat: a line when none came for ``every_s`` seconds."""
        with self._lock:
            now = time.perf_counter()
            if not self._stop.is_set() and now - self._last_line >= self.every_s:
                self._emit(now)

    def _emit(self, now: float, text: str | None = None) -> None:
        try:
            self.stream.write((text or self.line()) + "\n")
            self.stream.flush()
        except (ValueError, OSError):  # the stream was closed under us (a finished CLI test, a pipe)
            self._stop.set()
        self._last_line, self._last_n = now, self.n

    def close(self) -> None:
        """Stop the bar (a final line in plain mode when the last one is stale)."""
        self._stop.set()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            return
        if self.quiet:
            return
        with self._lock:
            if not self.counted:
                if self.elapsed >= self.long_s:
                    self._emit(time.perf_counter(), f"{self.label}: done in {fmt_seconds(self.elapsed)}")
            elif self.n and self.n != self._last_n and self.elapsed >= self.min_s:
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
        yield from progress.iterate(items)


class StageProgress:
    """A ``(stage, done, total)`` callback (:data:`StageCallback`) shown as one :class:`Progress` per stage.

    A new stage name ends the previous stage; ``done >= total`` ends the current one. ``total``
    1 marks a one-step stage (no count, see the module docstring). :meth:`close` ends the last
    stage and prints the summary line of stage times (when ``summary``).

    Args:
        label: What is being done ("note", "kb", "data dedup" …).
        summary: Print the stage-times line on :meth:`close`.
        units: Step name per stage (``{"draft": "calls"}``), over ``unit``.
        **kw: Passed to every :class:`Progress` (``enabled``, ``stream``, ``quiet``, ``unit`` …).
    """

    def __init__(self, label: str, *, summary: bool = True, units: dict[str, str] | None = None,
                 **kw: Any) -> None:
        self.label, self.kw, self.summary, self.units = label, kw, summary, units or {}
        self.start = time.perf_counter()
        self.times: list[tuple[str, float]] = []
        self._stage: str | None = None
        self._cur: Progress | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Report ``done`` of ``total`` in ``stage``, starting or ending a stage line as needed."""
        if self._cur is None or stage != self._stage:
            self._end()
            counted = total != 1
            self._stage = stage
            kw = {**self.kw, "unit": self.units[stage]} if stage in self.units else self.kw
            self._cur = Progress(total if counted else 0, f"{self.label} · {stage}", counted=counted, **kw)
        if done > self._cur.n:
            self._cur.step(done - self._cur.n)
        if total and done >= total:
            self._end()

    @contextmanager
    def stage(self, name: str, total: int = 1) -> Iterator[Progress]:
        """A stage around a block; the block may :meth:`Progress.step` the yielded progress."""
        self(name, 0, total)
        cur = self._cur
        if cur is None:  # pragma: no cover - a stage was just started
            raise RuntimeError("no current stage")
        try:
            yield cur
        finally:
            if self._cur is cur:
                self._end()

    @property
    def current(self) -> Progress | None:
        """The progress of the stage under way (None between stages)."""
        return self._cur

    def _end(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self.times.append((self._stage or "", self._cur.elapsed))
            self._cur = None
            self._stage = None

    def line(self) -> str:
        """The summary line: each stage's time and the total."""
        stages = " → ".join(f"{name} {fmt_seconds(secs)}" for name, secs in self.times)
        return f"{self.label}: {stages} · {fmt_seconds(time.perf_counter() - self.start)} in all"

    def close(self) -> None:
        """End the current stage; print the summary line."""
        self._end()
        if self.summary and self.times and not self.kw.get("quiet"):
            stream = self.kw.get("stream") or sys.stderr
            try:
                stream.write(self.line() + "\n")
                stream.flush()
            except (ValueError, OSError):
                pass
            self.summary = False

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.summary = False  # an error message says more than stage times
        self.close()


def count_calls(model: T, progress: Progress) -> T:
    """Step ``progress`` after each ``generate`` call of ``model`` (the instance is patched)."""
    inner = model.generate  # type: ignore[attr-defined]

    async def generate(*args: Any, **kwargs: Any) -> Any:
        try:
            return await inner(*args, **kwargs)
        finally:
            progress.step()

    model.generate = generate  # type: ignore[attr-defined]
    return model
