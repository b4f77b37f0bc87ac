"""The crawl process's pipeline thread: the item pipeline's heavy work, off the reactor.

Normalising a call, looking it up, scoring and writing it cost about 7 ms of CPU a call
(bench/crawl.py). Done on the reactor's thread, that work held back the downloader's timers, so
every site of the process waited longer than its delay between two requests (0.32 s instead of
0.25 s, 20 sites in one process). Done here, the reactor sends each request on time while the
previous page's call is stored.

One thread, not a pool: the batch store and its database session belong to it, and calls are
stored in the order they came. The stages keep their statistics and run log on the reactor's
thread (Scrapy's stats are not made for two threads), from what the work here returns.

Without a running asyncio loop (another Twisted reactor, or none) the work runs in line, as it
did before this thread existed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="fundradar-pipeline")
        return _executor


async def run(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` on the pipeline thread, awaited from the reactor's."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    return await asyncio.wrap_future(_pool().submit(fn, *args), loop=loop)


def submit(fn: Callable[[], T], done: Callable[[asyncio.Future[T]], None]) -> bool:
    """Start `fn()` on the pipeline thread and give its finished future to `done` on the loop's
    thread (a timer's work: nothing awaits it), whether `fn` returned or raised, so the caller
    always learns it is over. False, and nothing started, without a running loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    future = asyncio.wrap_future(_pool().submit(fn), loop=loop)
    future.add_done_callback(done)
    return True
