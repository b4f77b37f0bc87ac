"""Store calls idempotently, merge what each page says, keep versions, record what changed.

`upsert()` (`pipeline.store.upsert`) is the only writer of calls that are merged; a crawl's
new calls are written in batches by `pipeline.store.batch.BatchStore` (the same rows upsert
would write, built by upsert's own functions, with Core statements), which sends every item
that is not plainly new through upsert. Its rules:

- **One call, many pages.** A call seen in several places is one row with a `Sighting` per
  place (the funder's page, its other-language page, an aggregator's copy, an import). Each
  sighting keeps its own normalised fields (`Sighting.data`) and when each was first given.
- **Merge, never overwrite with less.** A page seen again changes a field of its data only
  when it brings a value (`merge.merge_page`): an import with only a new deadline keeps the
  funder, budget, summary and eligibility it gave before.
- **The call is rebuilt from all its pages** (`merge.rebuild`), field by field, by precedence:
  the funder's own site (rank 0) > `fundradar import` (1) > an aggregator (2) (`source_rank`);
  within a rank the newest value wins; ties go by source, then canonical URL, so the result
  does not depend on the order pages were seen. For each field the first page in that order
  with a value gives it (a funder page without a budget does not hide the aggregator's budget);
  title/language/URL/identifier, deadlines/kind/time zone and amounts/currency/scope each come
  from one page. The page giving the title is the *owner* (`extra["data_source"]`,
  `extra["data_page"]`); when a better-ranked owner takes a call over, its key names the row.
  A call with no deadline anywhere is kept, with `deadline_kind` "not_found" (or "rolling").
- **Scored as merged.** The score is computed on the rebuilt call with the text of every
  language version (`merge.scoring_call`), so the French and English pages give one score and
  the same pages in any order give the same scores.
- **Versions.** A change of a tracked field of the rebuilt call (`pipeline.normalise.
  TRACKED_FIELDS`: title, deadlines, status, opening date, budget) becomes one `CallChange` per
  field with the old and new value, the source whose page caused it and the time it was seen;
  `versions()` groups them back. Values are JSON the digest can phrase: dates as ISO strings
  (`deadlines` as a list of them, UTC), budgets as numbers, title/status/currency as text. A
  call leaving or coming back to its listing is recorded the same way (field `listed`).
- **Thrifty items.** An item carried back from an unchanged listing entry
  (`extra["unchanged_listing"]`) holds the row's own data, not the page's: it only marks the
  page seen (and the rebuild moves the status on when a deadline passes).
- **No twins.** Sightings are unique by (source, canonical URL), calls by key and by the page
  they were first stored from (`CallRow.origin_page`). An insert that loses a race to another
  writer is rolled back to its SAVEPOINT, looked up again and stored as an update.
- **Never deleted.** `mark_unlisted()` marks what a complete crawl no longer lists.
- **Quarantine.** Refused items are kept with source, URL and reason (`quarantine()`);
  `quarantine_counts()` feeds `fundradar sources list`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from fundradar.pipeline.models import CallRow
from fundradar.pipeline.store.listing import mark_unlisted, touch_seen
from fundradar.pipeline.store.runs import (
    fail_run,
    finish_stale_runs,
    quarantine,
    quarantine_counts,
    start_run,
)
from fundradar.pipeline.store.upsert import (
    IMPORT_SOURCE,
    LOCK_RETRIES,
    RANK_AGGREGATOR,
    RANK_FUNDER,
    RANK_IMPORT,
    Stored,
    source_rank,
    store_one,
    upsert,
)

__all__ = [
    "IMPORT_SOURCE", "LOCK_RETRIES", "RANK_AGGREGATOR", "RANK_FUNDER", "RANK_IMPORT", "Stored",
    "fail_run", "finish_stale_runs", "mark_unlisted", "quarantine", "quarantine_counts",
    "source_rank", "start_run", "store_one", "touch_seen", "upsert", "versions",
]  # fmt: skip


def versions(row: CallRow) -> list[dict[str, Any]]:
    """The call's history, oldest first: one entry per time it was seen changed.

    [{"seen_at": datetime, "run_id": int | None, "changes": {field: (old, new)}}, ...]
    """
    grouped: dict[tuple[datetime, int | None], dict[str, tuple[Any, Any]]] = defaultdict(dict)
    for ch in row.changes:
        grouped[(ch.seen_at, ch.run_id)][ch.field] = (ch.old_value, ch.new_value)
    return [
        {"seen_at": seen, "run_id": run, "changes": changes}
        for (seen, run), changes in sorted(grouped.items(), key=lambda kv: kv[0][0])
    ]
