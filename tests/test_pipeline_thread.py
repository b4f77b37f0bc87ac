"""The crawl's pipeline thread (crawlers/pipeline_thread.py): the item pipeline's work runs on one
thread of its own, in order, and its results come back to the loop's thread; without a running
loop the work runs in line. Through the real stages: a call's normalising and storing happen
there, its statistics on the loop's thread."""

from __future__ import annotations

import asyncio
import threading

import scrapy

from fundradar.crawlers import pipeline_thread
from fundradar.pipeline.normalise import text as normalise_text
from fundradar.pipeline.record import Call
from tests.pipeline_harness import run_pipelines


class FeedSpider(scrapy.Spider):
    name = "thread_test"


def _where() -> str:
    return threading.current_thread().name


def test_work_runs_on_one_thread_of_its_own_in_the_order_given() -> None:
    seen: list[tuple[int, str]] = []

    def job(n: int) -> int:
        seen.append((n, _where()))
        return n * 2

    async def main() -> list[int]:
        return list(await asyncio.gather(*(pipeline_thread.run(job, n) for n in range(20))))

    assert asyncio.run(main()) == [n * 2 for n in range(20)]
    assert [n for n, _ in seen] == list(range(20))  # one thread: first given, first done
    names = {name for _, name in seen}
    assert len(names) == 1 and names.pop().startswith("fundradar-pipeline")


def test_without_a_running_loop_the_work_runs_in_line() -> None:
    coro = pipeline_thread.run(_where)
    try:
        coro.send(None)
    except StopIteration as done:
        assert done.value == _where()
    else:  # pragma: no cover - it must not wait for anything
        raise AssertionError("ran on another thread")
    assert pipeline_thread.submit(_where, print) is False


def test_a_timers_work_gives_its_result_on_the_loops_thread() -> None:
    got: list[tuple[str, str]] = []

    async def main() -> None:
        loop_thread = _where()
        finished = asyncio.Event()

        def done(result: asyncio.Future[str]) -> None:
            got.append((result.result(), _where()))
            assert _where() == loop_thread
            finished.set()

        assert pipeline_thread.submit(_where, done)
        await asyncio.wait_for(finished.wait(), 10)

    asyncio.run(main())
    [(worker, callback)] = got
    assert worker.startswith("fundradar-pipeline") and callback == "MainThread"


def test_the_real_stages_normalise_and_store_on_the_pipeline_thread(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    threads: set[str] = set()
    real = normalise_text.html_to_text

    def spy(html: str, *args: object, **kwargs: object) -> str:
        threads.add(_where())
        return real(html, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("fundradar.pipeline.normalise.html_to_text", spy)
    # reconstructed — not a capture
    call = Call(
        source="thread_test",
        url="https://funder.example.org/appel/1",
        title="Appel à projets océans",
        summary="<p>Projets <b>bleus</b> aux îles.</p>",
    )
    run = run_pipelines(FeedSpider, [call])
    assert [c.summary for c in run.stored] == ["Projets bleus aux îles."]
    assert run.stats.get("fundradar/stored/new") == 1  # counted on the loop's thread
    assert len(threads) == 1 and threads.pop().startswith("fundradar-pipeline")


def test_a_timers_work_that_raises_still_reports_that_it_is_over() -> None:
    """The store's flush timer waits for the last flush before the next: a flush that raised
    must still end that wait, or no flush would run again until the spider closes."""
    errors: list[BaseException | None] = []

    def broken() -> None:
        raise OSError("disk full")

    async def main() -> None:
        finished = asyncio.Event()

        def done(result: asyncio.Future[None]) -> None:
            errors.append(result.exception())
            finished.set()

        assert pipeline_thread.submit(broken, done)
        await asyncio.wait_for(finished.wait(), 10)

    asyncio.run(main())
    [error] = errors
    assert isinstance(error, OSError) and str(error) == "disk full"
