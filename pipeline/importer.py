"""`fundradar import FILE.jsonl`: calls received by email or typed by hand, through the same
pipeline as a crawl (bad-input screening, normalise, validate, dedupe, score, store).

One JSON object a line, with the call record's field names (`pipeline.record.Call`) and the
friendlier names of `fundradar score` and the labelled calls of `../eval/`:

- `title` and `url` (http or https) are required;
- `summary`, or `text`, or `description`: the summary (HTML allowed; cleaned);
- `deadline` / `deadlines` / `deadline_texts`: text or a list of texts, free text allowed
  ("30 avril 2027 à 12h00", "March 31, 2027");
- `opens` / `opens_at` / `opens_text`; `period`, `published`, `status`: read like a page's;
- `budget`: free text ("up to USD 100,000"), or a number (with `currency`); also `budget_text`,
  `budget_min`, `budget_max`, `currency`;
- `eligibility` / `eligibility_text`, `eligible_countries` (a list);
- `funder`, `programme`, `instrument`, `language`, `source_ref` (or `id`): as named;
- `timezone` (IANA): the zone of dates written without one (default: `--timezone`, else the
  pipeline's Europe/Paris).

Unknown fields are ignored (and counted in the summary). The line's own `source` is ignored:
every line of a file gets the same source, "import" unless `--source` says otherwise, so a call
imported by hand is outranked by the funder's own site when a crawl finds it (`pipeline.store`).

Each line is stored, or rejected with its line number and reason (kept in quarantine with
source, URL and reason); the other lines go on. A line without a readable deadline is stored
("deadline not found — check the page", counted as `fundradar/no_deadline` in the run's
stats); only a line without a title or an http(s) link is refused. A re-import of the same line
updates the same call (its key is `source_ref`/`id`, else its URL): a field it leaves out keeps
the value the earlier import gave (`pipeline.store`), and what changed is recorded. The score
is the merged call's, computed in the store.

When the database itself fails (disk full, file gone), the import stops with one line naming
the cause and its run is closed as failed, never left "running".
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from fundradar.exceptions import DatabaseError, InputError
from fundradar.pipeline import db, db_safety, store
from fundradar.pipeline.models import CrawlRun
from fundradar.pipeline.normalise import Rejected, badinput, normalise
from fundradar.pipeline.record import Call

log = logging.getLogger(__name__)

DEFAULT_SOURCE = store.IMPORT_SOURCE
TEXT_FIELDS = {
    "title": ("title",),
    "url": ("url",),
    "summary": ("summary", "text", "description"),
    "funder": ("funder",),
    "programme": ("programme", "program"),
    "instrument": ("instrument",),
    "language": ("language", "lang"),
    "source_ref": ("source_ref", "id"),
    "opens_text": ("opens_text", "opens", "opens_at"),
    "period_text": ("period_text", "period"),
    "published_text": ("published_text", "published"),
    "status_text": ("status_text", "status"),
    "budget_text": ("budget_text",),
    "eligibility_text": ("eligibility_text", "eligibility"),
    "currency": ("currency",),
}
LIST_FIELDS = {"deadline_texts": ("deadline_texts", "deadlines", "deadline")}
NUMBER_FIELDS = ("budget_min", "budget_max")
# read separately, or ignored on purpose (the labelled calls' own bookkeeping)
OTHER_KNOWN = {"budget", "eligible_countries", "timezone", "source", "label", "rationale",
               "funder_group"}  # fmt: skip
KNOWN = {a for names in (*TEXT_FIELDS.values(), *LIST_FIELDS.values()) for a in names}
KNOWN |= set(NUMBER_FIELDS) | OTHER_KNOWN


class LineRejected(ValueError):
    """One line cannot become a call; the message is the reason shown to the user."""


@dataclass
class LineResult:
    line: int
    status: str  # new | updated | unchanged | sighting | duplicate | rejected
    reason: str = ""
    title: str | None = None
    call_id: int | None = None
    changes: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.status == "rejected":
            return f"line {self.line}: rejected: {self.reason}"
        what = f"line {self.line}: {self.status}"
        if self.reason:
            what += f" ({self.reason})"
        return f"{what}: {self.title}" if self.title else what


@dataclass
class ImportReport:
    source: str
    run_id: int | None = None
    results: list[LineResult] = field(default_factory=list)
    ignored_fields: Counter[str] = field(default_factory=Counter)

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def rejected(self) -> list[LineResult]:
        return [r for r in self.results if r.status == "rejected"]

    def summary(self) -> str:
        c = self.counts
        stored = len(self.results) - c["rejected"]
        parts = [f"{n} {k}" for k in ("new", "updated", "unchanged", "sighting", "duplicate")
                 if (n := c[k])]  # fmt: skip
        text = f"{len(self.results)} line(s): {stored} stored"
        if parts:
            text += f" ({', '.join(parts)})"
        text += f", {c['rejected']} rejected"
        if self.ignored_fields:
            names = ", ".join(f"{k} ({n})" for k, n in sorted(self.ignored_fields.items()))
            text += f"; ignored unknown fields: {names}"
        return text


# --- reading ----------------------------------------------------------------------------------


def read_lines(path: Path | str) -> list[str]:
    """The file's lines as text. Not there, or not UTF-8: `InputError` (nothing imported)."""
    if str(path) == "-":
        data = sys.stdin.buffer.read()
        name = "standard input"
    else:
        p = Path(path)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{p}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{p}: is a folder, not a JSONL file") from None
        except OSError as exc:
            raise InputError(f"{p}: cannot be read ({exc.strerror})") from None
        name = str(p)
    try:
        text = data.decode("utf-8-sig")  # a BOM from Windows editors is harmless
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8 and import it again"
        ) from None
    return text.splitlines()


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise LineRejected(f"{name}: expected text, got {type(value).__name__}")
    return str(value) if not isinstance(value, str) else value


def call_from_json(obj: Any, *, source: str, timezone: str | None = None) -> tuple[Call, set[str]]:
    """A raw `Call` from one parsed line, and the names of fields it ignored."""
    if not isinstance(obj, dict):
        raise LineRejected(f"expected a JSON object, got {type(obj).__name__}")
    values: dict[str, Any] = {}
    for target, names in TEXT_FIELDS.items():
        for name in names:
            value = _text(obj.get(name), name)
            if value is not None and value.strip():
                values[target] = value
                break
    for target, names in LIST_FIELDS.items():
        for name in names:
            raw = obj.get(name)
            if raw in (None, "", []):
                continue
            items = raw if isinstance(raw, list) else [raw]
            values[target] = [t for t in (_text(v, name) for v in items) if t and t.strip()]
            break
    for name in NUMBER_FIELDS:
        if obj.get(name) is not None:
            values[name] = _number(obj[name], name)
    budget = obj.get("budget")
    if isinstance(budget, int | float) and not isinstance(budget, bool):
        values.setdefault("budget_max", float(budget))  # a bare number: an amount, up to
    elif budget is not None:
        values.setdefault("budget_text", _text(budget, "budget"))
    if (
        values.get("budget_text")
        and values.get("currency")
        and not any(c.isalpha() or c in "$€£" for c in values["budget_text"])
    ):
        values["budget_text"] = f"{values['currency']} {values['budget_text']}"
    countries = obj.get("eligible_countries")
    if countries is not None:
        if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
            raise LineRejected("eligible_countries: expected a list of texts")
        values["eligible_countries"] = countries
    if not values.get("title"):
        raise LineRejected("no title")
    if not values.get("url"):
        raise LineRejected("no url (the call's page, http or https)")
    if values.get("currency"):
        values["currency"] = values["currency"].strip().upper()[:3]
    call = Call(source=source, **values)
    call.extra["imported"] = True  # ranked as an import whatever its --source (pipeline.store)
    zone = _text(obj.get("timezone"), "timezone") or timezone
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise LineRejected(f"timezone: {zone!r} is not an IANA zone") from None
        call.extra["timezone"] = zone
    return call, {k for k in obj if k not in KNOWN}


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LineRejected(f"{name}: expected a number")
    try:
        return float(str(value).replace(",", "").replace(" ", ""))
    except ValueError:
        raise LineRejected(f"{name}: expected a number, got {value!r}") from None


# --- the pipeline ------------------------------------------------------------------------------


def import_lines(
    lines: Iterable[str], *, source: str = DEFAULT_SOURCE, timezone: str | None = None,
    now: datetime | None = None, on_line: Callable[[LineResult | None], object] | None = None,
) -> ImportReport:  # fmt: skip
    """Run each line through the pipeline; a bad line is rejected and the others go on.

    `on_line`, when given, is called as soon as each line is done (and committed): with its
    result, or with None for a blank line, so a caller can print results and progress as they
    happen instead of all at the end.
    """
    session = db.session_factory()()
    try:
        importer = _Importer(session, source, timezone, now or datetime.now(UTC), on_line)
        return importer.run(lines)
    finally:
        session.close()


class _Importer:
    def __init__(
        self, session: Session, source: str, timezone: str | None, now: datetime,
        on_line: Callable[[LineResult | None], object] | None = None,
    ) -> None:  # fmt: skip
        from fundradar.crawlers.pipelines import (  # the crawl's item contract
            lacks_deadline,
            validate,
        )
        from fundradar.pipeline.score import load_profile

        self.session, self.source, self.timezone, self.now = session, source, timezone, now
        self.validate, self.lacks_deadline, self.profile = validate, lacks_deadline, load_profile()
        self.report = ImportReport(source=source)
        self.on_line = on_line or _ignore
        self.no_deadline = 0  # calls stored with "deadline not found", as a crawl counts them

    def run(self, lines: Iterable[str]) -> ImportReport:
        run = store.start_run(self.session, self.source, now=self.now)
        self.session.commit()
        self.report.run_id = run.id
        first_line_of: dict[int, int] = {}  # call id -> the line of this file that stored it
        number = 0
        try:
            for number, text in enumerate(lines, start=1):
                if not text.strip():
                    self.tell(None)
                    continue  # blank lines are not calls
                db_safety.take_cuts(self.session)  # this line's cuts only
                result, call = self.line_with_retry(number, text)
                self.mark_later_line(result, number, first_line_of)
                if result.status == "rejected":
                    store.quarantine(
                        self.session, source=self.source, url=call.url if call else None,
                        reason=f"line {number}: {result.reason}",
                        payload=call.to_dict() if call else {"line": text[:2000]}, run_id=run.id,
                    )  # fmt: skip
                self.session.commit()  # per line: a crash later loses nothing stored
                cuts = [f"{c} (cut to fit)" for c in db_safety.take_cuts(self.session)]
                if cuts:  # text longer than its column was stored cut: said with the line
                    result.reason = "; ".join(x for x in (result.reason, *cuts) if x)
                self.report.results.append(result)
                self.tell(result)
            self.finish(run)
            self.session.commit()
        except (SQLAlchemyError, OSError) as exc:
            # the database itself failed (disk full, gone, locked for good): stop, and never
            # leave the run "running"
            cause = db.describe(exc)
            stats = {f"fundradar/import/{k}": v for k, v in self.report.counts.items()}
            stats["fundradar/no_deadline"] = self.no_deadline
            closed = store.fail_run(self.session, run.id, f"line {number}: {cause}",
                                    datetime.now(UTC), stats)  # fmt: skip
            note = "" if closed else "; the run could not be closed and shows as interrupted"
            raise DatabaseError(
                f"import stopped at line {number}: {cause} ({len(self.report.results)} line(s) "
                f"done before, run #{run.id} marked failed{note})"
            ) from None
        return self.report

    def tell(self, result: LineResult | None) -> None:
        """Pass a line's result to `on_line`. Output that fails (a closed pipe, a full disk
        under a redirect) never stops the import: the lines are stored all the same, and the
        failure is logged once."""
        try:
            self.on_line(result)
        except Exception as exc:
            log.warning("import: per-line output stopped (%s: %s); the import goes on",
                        type(exc).__name__, exc)  # fmt: skip
            self.on_line = _ignore

    @staticmethod
    def mark_later_line(result: LineResult, number: int, first_line_of: dict[int, int]) -> None:
        """A later line of the same call: "duplicate" when it says nothing new, "updated"
        (with what changed) when it corrects the earlier line."""
        if result.status == "rejected" or result.call_id is None:
            return
        first = first_line_of.setdefault(result.call_id, number)
        if first == number:
            return
        if result.status != "updated":
            result.status = "duplicate"
        result.reason = "; ".join(
            x for x in (f"same call as line {first}", result.reason,
                        ", ".join(result.changes) and
                        f"changed: {', '.join(result.changes)}") if x
        )  # fmt: skip

    def line_with_retry(self, number: int, text: str) -> tuple[LineResult, Call | None]:
        """A line whose transaction lost to a concurrent writer ("database is locked" on
        SQLite) is rolled back and run again; other database errors stop the import."""
        for attempt in range(1, store.LOCK_RETRIES + 1):
            try:
                return self.line(number, text)
            except OperationalError as exc:
                self.session.rollback()
                if attempt == store.LOCK_RETRIES or "locked" not in str(exc.orig).lower():
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def line(self, number: int, text: str) -> tuple[LineResult, Call | None]:
        call: Call | None = None
        try:
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise LineRejected(f"not JSON ({exc.msg} at column {exc.colno})") from None
            call, ignored = call_from_json(obj, source=self.source, timezone=self.timezone)
            self.report.ignored_fields.update(ignored)
            findings = badinput.screen(call)
            fatal = next((f for f in findings if f.fatal), None)
            if fatal is not None:
                raise LineRejected(fatal.reason)
            try:
                normalise(call, now=self.now)
            except Rejected as exc:
                raise LineRejected(str(exc)) from None
            findings += badinput.after_normalise(call)
            problems = self.validate(call)
            if problems:
                # say why the date went missing when that is the cause
                raise LineRejected("; ".join([*(f.detail for f in findings), *problems]))
            # scored in the store, on the call merged from all its pages
            stored = store.upsert(self.session, call, now=self.now, run_id=self.report.run_id,
                                  profile=self.profile)  # fmt: skip
        except LineRejected as exc:
            self.session.rollback()
            title = call.title if call else None
            return LineResult(number, "rejected", str(exc), title=title), call
        except (OperationalError, InterfaceError):
            raise  # the database itself: `run` retries or stops the import
        except SQLAlchemyError as exc:  # this line's data broke a database rule
            self.session.rollback()
            return LineResult(number, "rejected", f"failed: {db.describe(exc)}"), call
        except Exception as exc:  # a bug must cost one line, never the import
            self.session.rollback()
            return LineResult(number, "rejected", f"failed: {type(exc).__name__}: {exc}"), call
        if self.lacks_deadline(call):
            self.no_deadline += 1
        notes = "; ".join(f.detail for f in findings if not f.fatal)
        return LineResult(number, stored.outcome, notes, title=call.title, call_id=stored.row.id,
                          changes=stored.changes), call  # fmt: skip

    def finish(self, run: CrawlRun) -> None:
        report, c = self.report, self.report.counts
        run.finished_at = datetime.now(UTC)
        run.items_seen = len(report.results)
        run.items_new, run.items_updated = c["new"], c["updated"]
        run.items_unchanged = c["unchanged"] + c["sighting"] + c["duplicate"]
        run.items_dropped = c["rejected"]
        if not report.results:
            run.status = "empty"
        elif not c["rejected"]:
            run.status = "ok"
        else:
            run.status = "degraded" if len(report.results) > c["rejected"] else "failed"
        run.message = report.summary()[:1000]
        run.stats = {f"fundradar/import/{k}": v for k, v in c.items()}
        run.stats["fundradar/no_deadline"] = self.no_deadline


def _ignore(result: LineResult | None) -> None:
    return None


def import_file(
    path: Path | str, *, source: str = DEFAULT_SOURCE, timezone: str | None = None,
    on_line: Callable[[LineResult | None], object] | None = None,
) -> ImportReport:  # fmt: skip
    return import_lines(read_lines(path), source=source, timezone=timezone, on_line=on_line)
