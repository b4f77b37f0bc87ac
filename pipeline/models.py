"""Database tables, as SQLAlchemy 2 typed models.

Every schema change comes with an Alembic migration in `pipeline/migrations/versions/`; the test
suite checks that the models and the migrations agree.

Times are stored as naive UTC and handed back timezone-aware (`UTCDateTime`), because SQLite
has no time-zone type and PostgreSQL's would convert to the server's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class CallRow(Base):
    """One canonical funding call. Sightings link it to every page it was seen on."""

    __tablename__ = "calls"
    __table_args__ = (Index("uq_calls_origin_page", "origin_page", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # stable identity within the database: "<source>:<source_ref>" or "url:<canonical url>"
    key: Mapped[str] = mapped_column(String(600), unique=True)
    # sha256 of the canonical URL of the page the call was first stored from. Unique: of two
    # writers storing the same page at once (two imports, two sources), one creates the call
    # and the other's insert fails and is retried as an update (`pipeline.store.upsert`).
    origin_page: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(50), index=True)  # where first seen
    source_ref: Mapped[str | None] = mapped_column(String(300), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    canonical_url: Mapped[str] = mapped_column(String(2000), index=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    funder: Mapped[str | None] = mapped_column(String(300), index=True)  # dedupe candidates
    programme: Mapped[str | None] = mapped_column(String(300))
    instrument: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(8))
    opens_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    deadlines: Mapped[list[Any]] = mapped_column(default=list)  # ISO strings, UTC
    # datetime | date | rolling | not_found (see pipeline.record.Call.deadline_kind)
    deadline_kind: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str | None] = mapped_column(String(64))  # the funder's zone, for display
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    budget_min: Mapped[float | None] = mapped_column(Float)
    budget_max: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    budget_scope: Mapped[str | None] = mapped_column(String(20))
    cofinancing_rate: Mapped[float | None] = mapped_column(Float)
    eligibility_text: Mapped[str | None] = mapped_column(Text)
    eligible_countries: Mapped[list[Any]] = mapped_column(default=list)
    eligible_applicants: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    score: Mapped[int | None] = mapped_column(Integer, index=True)
    band: Mapped[str | None] = mapped_column(String(10), index=True)
    eligible: Mapped[bool | None] = mapped_column(Boolean)
    themes: Mapped[list[Any]] = mapped_column(default=list)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]  # last time a tracked field changed
    listed: Mapped[bool] = mapped_column(Boolean, default=True)  # False: gone from its listing
    unlisted_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the words the call is found by, folded and stemmed (`pipeline.store.search_index`):
    # indexed by FTS5 on SQLite, by a GIN index on PostgreSQL; deferred: only the search reads it
    search_doc: Mapped[str | None] = mapped_column(Text, deferred=True)

    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Sighting.id"
    )
    changes: Mapped[list[CallChange]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallChange.id"
    )
    verdicts: Mapped[list[Verdict]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Verdict.id"
    )


@event.listens_for(CallRow, "before_insert")
def _search_doc_on_insert(_mapper: Any, _conn: Any, row: CallRow) -> None:
    from fundradar.pipeline.store.search_index import refresh

    refresh(row)  # every ORM write of a call keeps its search document in step


@event.listens_for(CallRow, "before_update")
def _search_doc_on_update(_mapper: Any, _conn: Any, row: CallRow) -> None:
    from fundradar.pipeline.store.search_index import refresh

    refresh(row, changed_only=True)


class Sighting(Base):
    """A place a call was seen: the funder's page, an aggregator's copy, the other language."""

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("source", "canonical_url", name="uq_sighting_source_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(50))
    source_ref: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2000))
    canonical_url: Mapped[str] = mapped_column(String(2000), index=True)  # dedupe by URL
    title: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    # hash of the listing entry: a detail page is fetched again only when this changes
    listing_hash: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    match: Mapped[str | None] = mapped_column(String(30))  # how dedupe linked it: ref, url, title
    # what this page says about the call, normalised (`pipeline.store.merge.PAGE_FIELDS`, JSON
    # values): the call row is rebuilt from the data of all its sightings
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # field -> when this page first gave its current value (ISO, UTC): "newest wins"
    data_since: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data_changed_at: Mapped[datetime | None]  # last time a field of `data` changed
    # 0 the funder's own site, 1 an import, 2 an aggregator (`pipeline.store.source_rank`)
    rank: Mapped[int | None] = mapped_column(Integer)

    call: Mapped[CallRow] = relationship(back_populates="sightings")


class DedupeKey(Base):
    """A blocking key of a stored call (`pipeline.dedupe.blocking`): a word prefix, identifier,
    numbered round or linked page, with the call's deadline and funder beside it so that dedupe's
    candidate queries are index range scans on (key, deadline) and (key, funder)."""

    __tablename__ = "dedupe_keys"
    __table_args__ = (
        Index("ix_dedupe_keys_key_deadline", "key", "deadline"),
        Index("ix_dedupe_keys_key_funder", "key", "funder"),
    )

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    deadline: Mapped[datetime | None]  # the call's `deadline` (its next one)
    funder: Mapped[str | None] = mapped_column(String(300))
    words: Mapped[int] = mapped_column(Integer, default=0)  # the call's title-word keys


class CallChange(Base):
    """One tracked field of a call changed: old and new value, and when it was seen."""

    __tablename__ = "call_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(50))  # the sighting that brought it
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    call: Mapped[CallRow] = relationship(back_populates="changes")


class CrawlRun(Base):
    """One crawl of one source: its counts, field coverage and health."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    # the verdict (crawlers/runlog.py `verdict`): running | ok | unreachable | http-error |
    # blocked | empty | degraded | failed
    status: Mapped[str] = mapped_column(String(20), default="running")
    # the verdict in an officer's words ("site unreachable", "error 503"); None when ok
    cause: Mapped[str | None] = mapped_column(String(120))
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    items_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    items_dropped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    coverage: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> share filled
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)  # demo run on bundled pages


class SourceAlertState(Base):
    """What the maintainer was last told about a source (alerts/maintainer.py), so a failing
    source is announced once when it turns failing and once when it recovers, across restarts."""

    __tablename__ = "source_alert_states"

    source: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))  # ok | failing
    status: Mapped[str] = mapped_column(String(20))  # the verdict that was announced
    cause: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(Integer)  # the run the alert was about
    alerted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quarantine(Base):
    """An item or page the pipeline refused, kept with where and why (never silently lost)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(50), index=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(Base):
    """An officer's judgement on a call: relevant, not-relevant or shortlist."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[CallRow] = relationship(back_populates="verdicts")


class Digest(Base):
    """The digest of one ISO week ("2026-W48"); one delivery per recipient."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="digest", cascade="all, delete-orphan", order_by="Delivery.id"
    )


class Delivery(Base):
    """One recipient's copy of a digest. `status` makes sending exactly-once and resumable."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("digest_id", "recipient", name="uq_delivery_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    transport: Mapped[str | None] = mapped_column(String(20))  # smtp | outbox

    digest: Mapped[Digest] = relationship(back_populates="deliveries")
    items: Mapped[list[DigestItem]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan"
    )


class DigestItem(Base):
    """A call a delivery carried, in which section, and the call's content hash at the time.

    The hash is what lets a later digest show the call again only under *Updated*.
    """

    __tablename__ = "digest_items"
    __table_args__ = (Index("ix_digest_items_call_recipient", "call_id", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    section: Mapped[str] = mapped_column(String(20))  # new | updated | closing | reminder
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    delivery: Mapped[Delivery] = relationship(back_populates="items")


class Meta(Base):
    """Key/value facts about the database itself (e.g. dataset = sample | live)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Lease(Base):
    """A claim on a piece of work that must run on one machine at a time (`pipeline.locks`).

    Taken atomically (an INSERT ... ON CONFLICT DO UPDATE that only takes over an expired row),
    renewed by its holder's heartbeat, and free again once `expires_at` has passed, so a holder
    that died blocks nobody for longer than its time to live. Times are the database's clock.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # "crawl:eu_ft", "digest"
    holder: Mapped[str] = mapped_column(String(200))  # "<host>:<pid>:<random>", one per claimant
    # the holder's machine and process namespace (`pipeline.locks.node_id`): a claimant on the
    # same one may see that the holder's process is gone and take over before the expiry
    node: Mapped[str] = mapped_column(String(40))
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# --- partnerships (issue 15): applications, partner organisations, their links ---------------
# An application outlives its call: the call link is SET NULL on delete and the call's key,
# title, funder and deadline are copied onto the application, which is then archived
# (`archived_at`), never deleted.

APPLICATION_STAGES = ("idea", "preparing", "submitted", "awarded", "declined", "withdrawn")
ORGANISATION_KINDS = ("government", "public_agency", "university_research", "private", "ngo",
                      "regional_body", "other")  # fmt: skip


class Organisation(Base):
    """A partner or possible partner (funder, programme operator, university, firm, NGO...).

    Merging never deletes: the merged entry keeps its row and points at the one it was merged
    into (`merged_into_id`), so links made to it still resolve and the merge can be explained.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # folded name (case, accents, punctuation, articles), the merge candidate key
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    acronym: Mapped[str | None] = mapped_column(String(40), index=True)
    aliases: Mapped[list[Any]] = mapped_column(default=list)  # other names seen or typed
    kind: Mapped[str] = mapped_column(String(30), default="other")  # ORGANISATION_KINDS
    country: Mapped[str | None] = mapped_column(String(100))  # country or territory
    languages: Mapped[list[Any]] = mapped_column(default=list)  # ["fr", "en"]
    contact: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(2000))
    notes: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20), default="manual")  # calls | manual | import
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallOrganisation(Base):
    """Who funds or operates a call (seeded from the calls' funder and programme fields)."""

    __tablename__ = "call_organisations"
    __table_args__ = (UniqueConstraint("call_id", "organisation_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))  # funder | operator


class Application(Base):
    """The unit's answer to a call, from idea to award."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    # copied from the call when the application is made: still readable once it is archived
    call_key: Mapped[str | None] = mapped_column(String(600))
    title: Mapped[str] = mapped_column(Text)
    funder: Mapped[str | None] = mapped_column(String(300))
    funder_deadline: Mapped[datetime | None]
    stage: Mapped[str] = mapped_column(String(20), default="idea", index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    internal_deadline: Mapped[date | None] = mapped_column(Date, index=True)
    amount_requested: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    amount_awarded: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    currency: Mapped[str | None] = mapped_column(String(3))  # ISO 4217
    notes: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]  # its call was deleted
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    partners: Mapped[list[ApplicationPartner]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="ApplicationPartner.id",
    )  # fmt: skip
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="ApplicationEvent.id",
    )  # fmt: skip


class ApplicationPartner(Base):
    """An organisation in an application: its lead or a partner."""

    __tablename__ = "application_partners"
    __table_args__ = (UniqueConstraint("application_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="partner")  # lead | partner

    application: Mapped[Application] = relationship(back_populates="partners")
    organisation: Mapped[Organisation] = relationship()


class ApplicationEvent(Base):
    """The history of an application: each stage change (and other edits), with its author."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(200))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)  # what else changed, in words

    application: Mapped[Application] = relationship(back_populates="events")


class PastProject(Base):
    """A joint project with a partner from before fundradar (or outside it)."""

    __tablename__ = "past_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text)


class Subscription(Base):
    """One person's standing order for mail: who, in which words, which calls, how often.

    Made by an officer on the review page (`created_by` "web"), by the maintainer (`fundradar
    subscriptions add`: "cli"), or seeded from recipients.yaml ("recipients.yaml"). `managed_by`
    says whose word counts: "yaml" rows follow recipients.yaml at each seed; once the officer
    edits hers ("officer") the file no longer overwrites it. A row is never deleted: an
    unsubscribe sets `active` False and `unsubscribed_at`, and the deliveries stay as history.
    One row per address, because deliveries are keyed by week and address.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower case
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="en")  # the digest's own words
    min_band: Mapped[str] = mapped_column(String(10), default="medium")
    themes: Mapped[list[Any]] = mapped_column(default=list)  # empty: every theme
    sources: Mapped[list[Any]] = mapped_column(default=list)  # empty: every source
    words: Mapped[str | None] = mapped_column(String(200))  # every word must match
    call_language: Mapped[str | None] = mapped_column(String(8))  # None: any language
    frequency: Mapped[str] = mapped_column(String(10), default="weekly")  # weekly | instant
    # an Apprise URL (Teams, Slack, Telegram, webhook); it holds a secret: never logged in full
    channel: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unsubscribed_at: Mapped[datetime | None]
    managed_by: Mapped[str] = mapped_column(String(10), default="officer")  # yaml | officer
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstantAlert(Base):
    """A new high-band call told to one subscription at once, by mail or on its channel.

    Unique per (subscription, call, way): whatever a crawl does twice, a call is told to a
    person once per way; a way that failed has no row and is tried after the next crawl.
    """

    __tablename__ = "instant_alerts"
    __table_args__ = (
        UniqueConstraint("subscription_id", "call_id", "way", name="uq_instant_alert"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    way: Mapped[str] = mapped_column(String(10))  # mail | channel
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
