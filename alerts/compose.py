"""What goes in one recipient's digest: pure selection from the database, no sending.

The sections, in the order a reader meets them; a call appears in at most one of them per
digest, the first that claims it:

- **New and relevant**: calls never carried to this recipient, at or above their minimum band,
  on their themes, not closed, deadline not passed, not marked not-relevant. Band high first.
- **Updated**: calls carried before whose content changed since (their `content_hash` differs
  from the one the last digest recorded), with sentences saying what changed.
- **Shortlisted deadlines**: calls whose latest verdict is *shortlist*, at each of
  `reminder_days` before the deadline (14 and 3 by default), each reminder once per deadline.
- **Closing within N days**: open relevant calls whose deadline is that close, shown once per
  deadline (a weekly digest would otherwise repeat them).
- **Source health**: only what is wrong (source, verdict, cause, since when), or one line
  saying every source was checked.

A week is not quiet when a source could not be checked: then the subject and the first lines
say how many sources could not be checked and why, in an officer's words, before any call. A
week in which no source gave anything, and nothing else is to be told, is a short "could not
reach any funder" mail instead of a digest with empty sections. A database marked as sample
data (demo, `crawl --fixtures`) says so in the subject ("[SAMPLE]") and in the first line.

"Carried" means a `DigestItem` of a *sent* delivery to this recipient. Calls cut by
`max_per_section` are not carried, so they come again next week rather than being lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar.alerts import changes as change_text
from fundradar.alerts.i18n import CAUSE_ERROR, CAUSES_FR, MONTHS_SHORT, t
from fundradar.config.loader import Recipient, RecipientsFile
from fundradar.pipeline.models import (
    CallChange,
    CallRow,
    CrawlRun,
    Delivery,
    Digest,
    DigestItem,
    Meta,
)
from fundradar.pipeline.normalise.dates import deadline_day, format_deadline, format_local, to_local
from fundradar.pipeline.normalise.urls import safe_url as _pipeline_safe_url
from fundradar.pipeline.record import BANDS
from fundradar.pipeline.review import latest_verdicts
from fundradar.settings import DISPLAY_TZ


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a `javascript:` or `data:` link is never linked.

    `pipeline.normalise.urls.safe_url` decides; the scheme is checked once more here because the
    digest is the last place a hostile link could reach a reader.
    """
    if not url:
        return None
    candidate = _pipeline_safe_url(url)
    if not candidate:
        return None
    candidate = candidate.strip()
    lowered = candidate.lower()
    if not lowered.startswith(("http://", "https://")) or len(candidate) <= len("https://"):
        return None
    if any(ch in candidate for ch in ('"', "<", ">", " ", "\n", "\r", "\t")):
        return None
    return candidate


# --------------------------------------------------------------------------------------------
# Weeks


def iso_week(now: datetime, tz: str = DISPLAY_TZ) -> str:
    """'2026-W48': the ISO week of `now` in the schedule's time zone."""
    year, week, _ = now.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str, tz: str = DISPLAY_TZ) -> datetime:
    """Monday 00:00 of an ISO week, in `tz`, as an aware datetime."""
    year, num = week.split("-W")
    monday = date.fromisocalendar(int(year), int(num), 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(tz))


def week_period(week: str, lang: str, tz: str = DISPLAY_TZ) -> str:
    """'23–29 Nov 2026', '30 Nov – 6 Dec 2026', '28 Dec 2026 – 3 Jan 2027'."""
    start = week_start(week, tz).date()
    end = start + timedelta(days=6)
    months = MONTHS_SHORT.get(lang) or MONTHS_SHORT["en"]
    if start.year != end.year:
        a = f"{start.day} {months[start.month - 1]} {start.year}"
    elif start.month != end.month:
        a = f"{start.day} {months[start.month - 1]}"
    else:
        a = f"{start.day}"
    b = f"{end.day} {months[end.month - 1]} {end.year}"
    return f"{a}–{b}" if a.isdigit() else f"{a} – {b}"


# --------------------------------------------------------------------------------------------
# The digest model (what the templates read)


@dataclass
class CallView:
    id: int
    title: str
    url: str | None  # None: not an http(s) link, shown without a link
    funder: str
    programme: str
    # 'Tue 31 Mar 2026, 17:59 AST', 'Fri 15 Jan 2027 (end of day, New York time)',
    # 'Rolling (no fixed deadline)', 'Deadline not found — check the page'; '' when unknown
    deadline: str
    days_left: int | None
    days_text: str
    budget: str
    band: str
    band_label: str
    score: int | None
    reasons: list[str]
    changes: list[str] = field(default_factory=list)
    reminder_days: int | None = None
    content_hash: str | None = None
    language: str | None = None

    @property
    def urgent(self) -> bool:
        return self.days_left is not None and 0 <= self.days_left <= 3


@dataclass
class Section:
    key: str  # new | updated | reminders | closing
    title: str
    items: list[CallView]
    more: int = 0  # cut by max_per_section


@dataclass
class SourceHealth:
    source: str
    funder: str  # its name in sources.yaml ('' when it is not listed there)
    status: str | None  # latest run since the last digest; None: not crawled since
    verdict: str  # that status in the reader's words ('unreachable', 'no calls found')
    cause: str  # why, in an officer's words ('site unreachable', 'error 503'); '' when ok
    since: str  # when it went wrong ('16 Nov'); '' when ok or never crawled
    detail: str  # the run's own message, for whoever maintains the crawlers; '' when none
    calls_this_week: int | None  # None: not crawled since the last digest
    last_ok: str  # Saint Lucia time, or 'never'

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def name(self) -> str:
        """What a reader calls it: the funder's name, else the source id."""
        return self.funder or self.source

    @property
    def gave_calls(self) -> bool:
        """Were its pages read and calls found (possibly fewer than usual)?"""
        return self.status in ("ok", "degraded")


@dataclass
class Lead:
    """One of the lines a digest opens with: a bold head and the rest of the sentence."""

    kind: str  # sample | trouble
    head: str  # '3 of 13 sources could not be checked this week'
    rest: str  # '(AFD: site unreachable; ...). Calls from them may be missing.'

    @property
    def text(self) -> str:
        return f"{self.head} {self.rest}"


@dataclass
class DigestModel:
    week: str  # '2026-W48'
    week_no: int
    period: str
    lang: str
    recipient: str
    recipient_name: str | None
    generated_at: datetime
    sections: list[Section]
    health: list[SourceHealth]
    counts: dict[str, int]
    closing_days: int
    # (call id, section as stored in DigestItem, content hash): what sending records
    carried: list[tuple[int, str, str | None]]
    sample: bool = False  # the database holds sample calls (demo, crawl --fixtures)

    @property
    def quiet(self) -> bool:
        """No call to tell about (which is not the same as a quiet week: see `checked_all`)."""
        return not self.sections

    @property
    def troubled(self) -> list[SourceHealth]:
        """The sources that could not be checked (or not fully) since the last digest."""
        return [h for h in self.health if not h.ok]

    @property
    def checked_all(self) -> bool:
        return not self.troubled

    @property
    def outage(self) -> bool:
        """No source gave anything and there is nothing else to tell: the short mail."""
        return bool(self.health) and not any(h.gave_calls for h in self.health) and self.quiet

    @property
    def title(self) -> str:
        if self.outage:
            return t(self.lang, "outage_title" if self._unreached else "outage_title_checked")
        return t(self.lang, "title", week_no=self.week_no)

    @property
    def _unreached(self) -> bool:
        """Every source failed before its pages were read (rather than read and found empty)."""
        return all(h.status != "empty" for h in self.health)

    @property
    def trouble(self) -> str:
        """'3 of 13 sources could not be checked' ('' when every source was checked)."""
        bad = len(self.troubled)
        if not bad:
            return ""
        key = "trouble_1" if bad == 1 else "trouble_n"
        return t(self.lang, key, n=bad, total=len(self.health))

    @property
    def subject(self) -> str:
        prefix = SAMPLE_PREFIX if self.sample else ""
        if self.outage:
            key = "subject_outage" if self._unreached else "subject_outage_checked"
            return prefix + t(self.lang, key, week_no=self.week_no)
        n = self.counts.get("new", 0)
        key = "subject_new_0" if n == 0 else "subject_new_1" if n == 1 else "subject_new_n"
        if self.checked_all:
            summary = t(self.lang, key, n=n)
            return prefix + t(
                self.lang, "subject", week_no=self.week_no, period=self.period, summary=summary
            )
        # never "no new relevant calls" when sources were not checked: say what is known
        checked = len(self.health) - len(self.troubled)
        if n:
            summary = t(self.lang, key, n=n)
        elif checked:
            summary = t(self.lang, "subject_trouble_nothing", n=checked)
        else:
            summary = t(self.lang, "subject_trouble_nothing_all")
        return prefix + t(
            self.lang, "subject_trouble", week_no=self.week_no, trouble=self.trouble,
            summary=summary,
        )  # fmt: skip

    @property
    def leads(self) -> list[Lead]:
        """The first lines, before any call: sample data, then sources not checked."""
        out: list[Lead] = []
        if self.sample:
            out.append(Lead("sample", t(self.lang, "sample_head"), t(self.lang, "sample_rest")))
        if self.troubled and not self.outage:
            sep = " ; " if self.lang == "fr" else "; "
            colon = " : " if self.lang == "fr" else ": "
            causes = sep.join(f"{h.name}{colon}{h.cause}" for h in self.troubled)
            out.append(
                Lead(
                    "trouble",
                    t(self.lang, "trouble_head", trouble=self.trouble),
                    t(self.lang, "trouble_rest", causes=causes),
                )
            )
        return out

    @property
    def quiet_text(self) -> str:
        """What a digest with no call says; 'a quiet week' only when every source was checked."""
        if self.checked_all:
            return t(self.lang, "quiet")
        checked = len(self.health) - len(self.troubled)
        return t(self.lang, "not_quiet", n=checked) if checked else t(self.lang, "not_quiet_none")

    @property
    def health_summary(self) -> str:
        """'All 13 sources checked.', or the heading of the list of those that were not."""
        total = len(self.health)
        if not total:
            return t(self.lang, "health_no_sources")
        if self.checked_all:
            return t(self.lang, "health_all_ok_1" if total == 1 else "health_all_ok", n=total)
        return t(self.lang, "health_trouble_head", trouble=self.trouble)

    @property
    def health_others(self) -> str:
        """'The other 10 sources were checked.' ('' when none was)."""
        others = len(self.health) - len(self.troubled)
        if not others or self.checked_all:
            return ""
        return t(self.lang, "health_others_ok_1" if others == 1 else "health_others_ok", n=others)

    def t(self, key: str, **kwargs: object) -> str:
        return t(self.lang, key, **kwargs)


SAMPLE_PREFIX = "[SAMPLE] "


# --------------------------------------------------------------------------------------------
# Selection


def _band_rank(band: str | None) -> int:
    return BANDS.index(band) if band in BANDS else len(BANDS) - 1


def _days_left(row: CallRow, now: datetime) -> int | None:
    """Whole days between today in Saint Lucia and the deadline's day (a date-only deadline's
    own date in the funder's zone: `pipeline.normalise.dates.deadline_day`)."""
    day = deadline_day(row.deadline, getattr(row, "deadline_kind", None),
                       getattr(row, "timezone", None))  # fmt: skip
    if day is None:
        return None
    return (day - to_local(now).date()).days


def _days_text(days: int | None, lang: str) -> str:
    if days is None:
        return ""
    if days < 0:
        return t(lang, "days_ago")
    if days == 0:
        return t(lang, "days_left_0")
    if days == 1:
        return t(lang, "days_left_1")
    return t(lang, "days_left_n", n=days)


def _clean(text: str | None) -> str:
    """Scraped text on one line: whitespace folded, control characters dropped.

    Escaping is the template's job (autoescape); this only stops a stray newline or a
    terminal escape from breaking the plain-text layout.
    """
    if not text:
        return ""
    kept = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return " ".join(kept.split())


def _view(row: CallRow, lang: str, now: datetime, top_reasons: int) -> CallView:
    days = _days_left(row, now)
    band = row.band if row.band in BANDS else "none"
    return CallView(
        id=row.id,
        title=_clean(row.title) or "(untitled)",
        url=safe_url(row.url),
        funder=_clean(row.funder),
        programme=_clean(row.programme),
        deadline=format_deadline(row.deadline, row.deadline_kind, row.timezone, lang, DISPLAY_TZ),
        days_left=days,
        days_text=_days_text(days, lang),
        budget=change_text.budget_text(
            row.budget_min, row.budget_max, row.currency, row.budget_scope, lang
        ),
        band=band,
        band_label=t(lang, f"band_{band}"),
        score=row.score,
        reasons=[_clean(r) for r in (row.reasons or [])[:top_reasons] if _clean(r)],
        content_hash=row.content_hash,
        language=row.language,
    )


@dataclass
class _Carried:
    """What this recipient has already been sent about one call."""

    last_hash: str | None
    last_at: datetime
    sections: list[tuple[str, datetime]]


def _carried(session: Session, recipient: str, exclude_delivery: int | None) -> dict[int, _Carried]:
    stmt = (
        select(DigestItem.call_id, DigestItem.section, DigestItem.content_hash,
               DigestItem.created_at, DigestItem.id)
        .join(Delivery, Delivery.id == DigestItem.delivery_id)
        .where(DigestItem.recipient == recipient, Delivery.status == "sent")
        .order_by(DigestItem.created_at, DigestItem.id)
    )  # fmt: skip
    if exclude_delivery is not None:
        stmt = stmt.where(Delivery.id != exclude_delivery)
    out: dict[int, _Carried] = {}
    for call_id, section, chash, created, _id in session.execute(stmt):
        c = out.get(call_id)
        if c is None:
            c = out[call_id] = _Carried(chash, created, [])
        c.last_hash, c.last_at = chash, created
        c.sections.append((section, created))
    return out


def _themes_ok(row: CallRow, recipient: Recipient) -> bool:
    from fundradar.alerts.subscription_filter import matches  # themes, sources, words, language

    return matches(row, recipient)


def _last_deadline_change(session: Session, call_ids: Sequence[int]) -> dict[int, datetime]:
    if not call_ids:
        return {}
    rows = session.execute(
        select(CallChange.call_id, CallChange.seen_at).where(
            CallChange.call_id.in_(list(call_ids)), CallChange.field == "deadlines"
        )
    )
    out: dict[int, datetime] = {}
    for cid, seen in rows:
        if cid not in out or seen > out[cid]:
            out[cid] = seen
    return out


def _shown_since(carried: _Carried | None, section: str, since: datetime | None) -> bool:
    """Was this call shown in `section` to the recipient after its deadline last changed?"""
    if carried is None:
        return False
    return any(s == section and (since is None or at >= since) for s, at in carried.sections)


def compose(
    session: Session,
    recipient: Recipient,
    config: RecipientsFile,
    *,
    now: datetime,
    week: str | None = None,
    exclude_delivery: int | None = None,
    sources: Sequence[tuple[str, str]] | None = None,
) -> DigestModel:
    """The digest for one recipient as of `now` (nothing is written).

    `exclude_delivery` ignores what one delivery carried: a forced resend or a preview of a
    week already sent shows the same calls as the first send. `sources` lists (id, funder)
    for the health section; default: every source in sources.yaml plus any that has runs.
    """
    lang = recipient.language
    settings = config.digest
    tz = config.schedule.timezone
    week = week or iso_week(now, tz)
    email = recipient.email.lower()
    carried = _carried(session, email, exclude_delivery)
    verdicts = {cid: v.verdict for cid, v in latest_verdicts(session).items()}
    allowed_bands = BANDS[: _band_rank(recipient.min_band) + 1]
    # a call the scorer has not rated yet (band NULL) only reaches those who want every band
    band_ok = (
        CallRow.band.in_(allowed_bands) | CallRow.band.is_(None)
        if recipient.min_band == "none"
        else CallRow.band.in_(allowed_bands)
    )
    claimed: set[int] = set()

    def not_dismissed(row: CallRow) -> bool:
        return verdicts.get(row.id) != "not-relevant"

    # --- new and relevant
    rows = session.scalars(
        select(CallRow).where(
            band_ok,
            (CallRow.status.is_(None)) | (CallRow.status != "closed"),
            (CallRow.deadline.is_(None)) | (CallRow.deadline >= now),
        )
    ).all()
    new_rows = [
        r for r in rows if r.id not in carried and _themes_ok(r, recipient) and not_dismissed(r)
    ]
    new_rows.sort(
        key=lambda r: (
            _band_rank(r.band),
            -(r.score or 0),
            r.deadline or datetime.max.replace(tzinfo=UTC),
        )
    )
    new_views = [_view(r, lang, now, settings.top_reasons) for r in new_rows]
    claimed |= {r.id for r in new_rows}

    # --- updated: carried, content changed since the recipient last saw it
    changed_ids = [cid for cid in carried if cid not in claimed]
    updated_views: list[CallView] = []
    if changed_ids:
        candidates = session.scalars(select(CallRow).where(CallRow.id.in_(changed_ids))).all()
        for row in candidates:
            seen = carried[row.id]
            if row.content_hash == seen.last_hash or not not_dismissed(row):
                continue
            recorded = session.scalars(
                select(CallChange)
                .where(CallChange.call_id == row.id, CallChange.seen_at > seen.last_at)
                .order_by(CallChange.seen_at, CallChange.id)
            ).all()
            current = {
                "deadline": row.deadline, "budget_min": row.budget_min,
                "budget_max": row.budget_max, "currency": row.currency,
                "budget_scope": row.budget_scope,
            }  # fmt: skip
            sentences = change_text.describe(
                recorded, current=current, lang=lang, today=to_local(now, tz).date(), tz=tz
            )
            if not sentences:
                if recorded:
                    continue  # changed and changed back: nothing to tell
                sentences = [change_text.other(lang)]
            if sentences == [change_text.describe_now_closed(lang)] and (
                row.deadline is not None and row.deadline < now
            ):
                continue  # closed on its deadline as planned: not news
            view = _view(row, lang, now, settings.top_reasons)
            view.changes = sentences
            updated_views.append(view)
    updated_views.sort(key=_by_deadline)
    claimed |= {v.id for v in updated_views}

    # --- shortlisted: reminders at each of reminder_days before the deadline
    windows = sorted(set(settings.reminder_days))
    shortlisted_ids = [c for c, v in verdicts.items() if v == "shortlist" and c not in claimed]
    reminder_views: list[CallView] = []
    if shortlisted_ids and windows:
        rows = session.scalars(
            select(CallRow).where(CallRow.id.in_(shortlisted_ids), CallRow.deadline >= now)
        ).all()
        moved = _last_deadline_change(session, [r.id for r in rows])
        for row in rows:
            if row.status == "closed":
                continue
            days = _days_left(row, now)
            window = next((w for w in windows if days is not None and days <= w), None)
            if window is None:
                continue
            if _shown_since(carried.get(row.id), f"reminder-{window}", moved.get(row.id)):
                continue
            view = _view(row, lang, now, settings.top_reasons)
            view.reminder_days = window
            reminder_views.append(view)
    reminder_views.sort(key=_by_deadline)
    claimed |= {v.id for v in reminder_views}

    # --- closing soon: relevant, open, deadline within closing_within_days, once per deadline
    horizon = now + timedelta(days=settings.closing_within_days + 1)
    rows = session.scalars(
        select(CallRow).where(
            band_ok,
            (CallRow.status.is_(None)) | (CallRow.status != "closed"),
            CallRow.deadline >= now,
            CallRow.deadline < horizon,
        )
    ).all()
    rows = [
        r for r in rows
        if r.id not in claimed and _themes_ok(r, recipient) and not_dismissed(r)
        and (_days_left(r, now) or 0) <= settings.closing_within_days
    ]  # fmt: skip
    moved = _last_deadline_change(session, [r.id for r in rows])
    closing_views = [
        _view(r, lang, now, settings.top_reasons)
        for r in rows
        if not _shown_since(carried.get(r.id), "closing", moved.get(r.id))
    ]
    closing_views.sort(key=_by_deadline)

    # --- assemble, cut long sections
    cap = settings.max_per_section
    sections: list[Section] = []
    carried_now: list[tuple[int, str, str | None]] = []
    counts: dict[str, int] = {}
    for key, title, views in (
        ("new", t(lang, "sec_new"), new_views),
        ("updated", t(lang, "sec_updated"), updated_views),
        ("reminders", t(lang, "sec_reminders"), reminder_views),
        ("closing", t(lang, "sec_closing", days=settings.closing_within_days), closing_views),
    ):
        counts[key] = len(views)
        if not views:
            continue
        shown = views[:cap]
        sections.append(Section(key, title, shown, more=len(views) - len(shown)))
        for v in shown:
            stored = f"reminder-{v.reminder_days}" if key == "reminders" else key
            carried_now.append((v.id, stored, v.content_hash))

    week_no = int(week.split("-W")[1])
    health_runs: list[CrawlRun] = []
    health = source_health(
        session, now=now, week=week, tz=tz, lang=lang, sources=sources, runs_out=health_runs
    )
    return DigestModel(
        week=week,
        week_no=week_no,
        period=week_period(week, lang, tz),
        lang=lang,
        recipient=recipient.email,
        recipient_name=recipient.name,
        generated_at=now,
        sections=sections,
        health=health,
        counts=counts,
        closing_days=settings.closing_within_days,
        carried=carried_now,
        sample=is_sample(session, health_runs),
    )


def _by_deadline(v: CallView) -> tuple[int, int]:
    return (v.days_left is None, v.days_left if v.days_left is not None else 0)


# --------------------------------------------------------------------------------------------
# Source health


def _configured_sources() -> list[tuple[str, str]] | None:
    """(id, funder) of every enabled source in sources.yaml; None when it cannot be read."""
    try:
        from fundradar.config.loader import load_sources

        return [(s.id, s.funder) for s in load_sources().sources if s.enabled]
    except Exception:  # a broken sources.yaml must not stop the digest; health shows runs only
        return None


# words in a run's message that mean the site was never read (the crawler's own wording and
# Twisted's / Scrapy's exception names)
_UNREACHABLE_HINTS = (
    "dns", "timeout", "timed out", "refused", "unreachable", "no route", "tls", "ssl",
    "connection", "name or service not known", "getaddrinfo", "network is",
)  # fmt: skip
_HTTP_CODE = re.compile(r"(?i)\b(?:http|error|status|code|response)\s*[:#]?\s*([1-5]\d\d)\b")


def _http_code(message: str) -> str | None:
    m = _HTTP_CODE.search(message)
    return m.group(1) if m else None


def health_sentence(
    status: str | None, cause: str | None, message: str | None, *, lang: str = "en"
) -> str:
    """Why a source was not checked, in an officer's words ('site unreachable', 'error 503').

    The crawler's own `cause` wins when it has one; otherwise the words come from the run's
    status and message (runs stored before causes existed, or by an older crawler). `status`
    None means no run since the last digest. French recipients get the known causes in French.
    """
    text = _clean(cause)[:160] if cause else _fallback_sentence(status, _clean(message))
    return _in_lang(text, lang)


def _fallback_sentence(status: str | None, message: str) -> str:
    low = message.lower()
    code = _http_code(message)
    unreachable = any(h in low for h in _UNREACHABLE_HINTS)
    if status is None:
        return "not checked since the last digest"
    if status == "ok":
        return ""
    if status == "unreachable":
        return "site unreachable"
    if status == "http-error":
        return f"error {code}" if code else "the site answered with an error"
    if status == "blocked":
        if "robots" in low:
            return "blocked by robots.txt"
        return f"the site refused access (error {code})" if code else "the site refused access"
    if status == "empty":
        return "no calls found, the site may have changed"
    if status == "degraded":
        if "field" in low or "coverage" in low:
            return "some details are missing from its calls"
        return "far fewer calls than usual"
    if status == "failed":
        if code:
            return f"error {code}"
        return "site unreachable" if unreachable else "the crawl stopped with an error"
    if status in ("running", "interrupted"):  # interrupted: stopped by SIGTERM, caught up later
        return "the crawl did not finish"
    return f"status {_clean(status)[:40]}"


_ERROR_CODE = re.compile(r"\berror (\d{3})\b")


def _in_lang(text: str, lang: str) -> str:
    if lang != "fr" or not text:
        return text
    if text in CAUSES_FR:
        return CAUSES_FR[text]
    if text == "status" or text.startswith("status "):
        return text
    refused = re.fullmatch(r"the site refused access \(error (\d{3})\)", text)
    if refused:
        return (
            f"{CAUSES_FR['the site refused access']} ({CAUSE_ERROR['fr'].format(code=refused[1])})"
        )
    return _ERROR_CODE.sub(lambda m: CAUSE_ERROR["fr"].format(code=m[1]), text)


def _short_date(when: datetime, now: datetime, tz: str, lang: str) -> str:
    """'16 Nov' (this year) or '16 Nov 2025', in Saint Lucia time."""
    local, today = to_local(when, tz), to_local(now, tz)
    months = MONTHS_SHORT.get(lang) or MONTHS_SHORT["en"]
    text = f"{local.day} {months[local.month - 1]}"
    return text if local.year == today.year else f"{text} {local.year}"


def health_window_start(session: Session, week: str, tz: str) -> datetime:
    """Runs from this moment on count for this week's digest: since the last digest was sent.

    That is the latest *sent* delivery of an earlier week, but never more than a week before
    this one starts (an older run is stale news) nor after it starts (last week's digest sent
    late must not hide this week's crawl); with no earlier digest, the start of the week.
    """
    start = week_start(week, tz)
    last_sent = session.scalars(
        select(Delivery.sent_at)
        .join(Digest, Digest.id == Delivery.digest_id)
        .where(Digest.week < week, Delivery.status == "sent", Delivery.sent_at.is_not(None))
        .order_by(Delivery.sent_at.desc())
        .limit(1)
    ).first()
    if last_sent is None:
        return start
    if last_sent.tzinfo is None:  # SQLite hands back naive UTC
        last_sent = last_sent.replace(tzinfo=UTC)
    return min(max(last_sent, start - timedelta(days=7)), start)


def source_health(
    session: Session,
    *,
    now: datetime,
    week: str,
    tz: str,
    lang: str,
    sources: Sequence[tuple[str, str]] | None = None,
    runs_out: list[CrawlRun] | None = None,
) -> list[SourceHealth]:
    """One row per enabled source: its latest run since the last digest, and if not ok, why.

    `sources` lists (id, funder); default: the enabled sources of sources.yaml, or, when that
    file cannot be read, every source that has runs. `runs_out` receives the runs looked at.
    """
    listed = list(sources) if sources is not None else _configured_sources()
    if listed is None:
        listed = [(s, "") for s in session.scalars(select(CrawlRun.source).distinct())]
    since = health_window_start(session, week, tz)
    out: list[SourceHealth] = []
    for name, funder in listed:
        latest = session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source == name, CrawlRun.started_at >= since)
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(1)
        ).first()
        last_ok = session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source == name, CrawlRun.status == "ok")
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(1)
        ).first()
        if latest is not None and runs_out is not None:
            runs_out.append(latest)
        status = latest.status if latest is not None else None
        ok_at = (last_ok.finished_at or last_ok.started_at) if last_ok else None
        cause = since_text = detail = ""
        if status != "ok":
            message = latest.message if latest is not None else None
            cause = health_sentence(status, getattr(latest, "cause", None), message, lang=lang)
            if latest is None and ok_at is None and not _has_runs(session, name):
                cause = _in_lang("never checked", lang)
            detail = _clean(message)[:200]
            first_bad = _first_failure(session, name, last_ok)
            if first_bad is not None:
                since_text = _short_date(first_bad, now, tz, lang)
        # a crawl stopped by SIGTERM reads like one still running: it did not finish
        verdict_key = f"verdict_{'running' if status == 'interrupted' else status or 'none'}"
        verdict = t(lang, verdict_key) if verdict_key in _VERDICT_KEYS else t(lang, "verdict_other")
        out.append(
            SourceHealth(
                source=name,
                funder=_clean(funder),
                status=status,
                verdict=verdict,
                cause=cause,
                since=since_text,
                detail=detail,
                calls_this_week=(
                    max(latest.items_seen - latest.items_dropped, 0) if latest is not None
                    else None
                ),
                last_ok=format_local(ok_at, tz, lang=lang) if ok_at else t(lang, "never"),
            )
        )  # fmt: skip
    return out


def _has_runs(session: Session, source: str) -> bool:
    return (
        session.scalars(select(CrawlRun.id).where(CrawlRun.source == source).limit(1)).first()
        is not None
    )


def _first_failure(session: Session, source: str, last_ok: CrawlRun | None) -> datetime | None:
    """When the source's current run of trouble began: its first run after the last ok one."""
    stmt = select(CrawlRun.started_at).where(CrawlRun.source == source)
    if last_ok is not None:
        stmt = stmt.where(CrawlRun.started_at > last_ok.started_at)
    first = session.scalars(stmt.order_by(CrawlRun.started_at, CrawlRun.id).limit(1)).first()
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first


_VERDICT_KEYS = {
    f"verdict_{s}"
    for s in ("ok", "unreachable", "http-error", "blocked", "empty", "degraded", "failed",
              "running", "none")
}  # fmt: skip


def is_sample(session: Session, runs: Sequence[CrawlRun] = ()) -> bool:
    """Does this database hold sample calls? Marked so by the demo and `crawl --fixtures`.

    The `dataset` key of the meta table decides; a run flagged `sample` counts too, so a
    database marked before the flag existed is still recognised.
    """
    row = session.get(Meta, DATASET_KEY)
    return (row is not None and row.value == "sample") or any(r.sample for r in runs)


# the meta key `fundradar.demo` writes ("sample" | "live"); not imported from there, so the
# mail composer does not depend on the demo's module
DATASET_KEY = "dataset"
