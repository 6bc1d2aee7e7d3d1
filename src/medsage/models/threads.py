"""CPU threads for in-process models: a load-aware default and calls that Ctrl-C does not wait for.

Two problems of a small machine shared with another job are solved here:

* llama.cpp uses every core by default; when another process keeps one busy, its threads
  wait for each other at every barrier and generation collapses (about 1 token/s on 2
  cores). :func:`default_threads` leaves a core free and adapts to the load average.
* ``asyncio.to_thread`` runs native calls on the default executor, which ``asyncio.run``
  joins at exit: Ctrl-C waited until the answer in flight was finished (20–60 s).
  :func:`call_in_daemon` runs the call on a daemon thread instead, so cancelling the
  awaiting task returns at once and the process can exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_DEFAULT_THREADS = 8


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_average() -> float:
    """The 1-minute load average (0.0 where the platform has none)."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def default_threads(cpus: int | None = None, load: float | None = None) -> int:
    """Threads for an in-process model when none are asked for.

    One core is left free (for the event loop, the report and whatever else runs), and
    cores already busy by the 1-minute load average are not claimed either; never fewer
    than 1 nor more than :data:`MAX_DEFAULT_THREADS`.

    Args:
        cpus: Usable CPUs (default: :func:`usable_cpus`).
        load: Load average to account for (default: :func:`load_average`).

    Returns:
        The number of threads.
    """
    cpus = usable_cpus() if cpus is None else max(1, cpus)
    load = load_average() if load is None else max(0.0, load)
    idle = int(cpus - load + 0.5)
    return max(1, min(cpus - 1, idle, MAX_DEFAULT_THREADS))


async def call_in_daemon(fn: Callable[..., T], *args: Any, name: str = "medsage-model") -> T:
    """Run the blocking ``fn(*args)`` on a daemon thread and await its result.

    Unlike :func:`asyncio.to_thread`, a cancelled caller returns immediately and nothing
    joins the thread at exit: an interrupted run stops within a second instead of after
    the native call in flight. The call's result is dropped when nobody waits for it.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            _post(loop, deliver, future.set_exception, exc)
        else:
            _post(loop, deliver, future.set_result, result)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future


def _post(loop: asyncio.AbstractEventLoop, deliver: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: the run was interrupted, nobody waits
        loop.call_soon_threadsafe(deliver, *args)
