"""sightings keep their own data; calls are rebuilt from them; one call per origin page

Revision ID: 0004_sightings_data
Revises: 0003_deadline_kind
Create Date: 2026-12-07

- `sightings.data` / `data_since` / `data_changed_at` / `rank`: what each page says about a
  call, so the call row can be rebuilt from all its pages by precedence (`pipeline.store`)
  instead of being overwritten by the last page seen.
- `call_changes.source`: the sighting whose data caused a change.
- `calls.origin_page` (unique): sha256 of the canonical URL the call was first stored from, so
  two writers storing the same page at once cannot both create it.

Existing rows: the page that owned a call's data (`extra.data_source`/`data_page`) gets the
row's fields as its data, so nothing stored is lost; the call's other pages get their title
and language. `origin_page` is set on the oldest call of each canonical URL (older twins keep
NULL rather than failing the migration).
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_sightings_data"
down_revision: str | None = "0003_deadline_kind"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the row's fields a page's data holds (pipeline.store.merge.PAGE_FIELDS at this revision)
PAGE_FIELDS = (
    "title", "language", "url", "source_ref", "summary", "funder", "programme", "instrument",
    "opens_at", "deadlines", "deadline_kind", "timezone", "status", "budget_min", "budget_max",
    "currency", "budget_scope", "cofinancing_rate", "eligibility_text", "eligible_countries",
    "eligible_applicants", "notes",
)  # fmt: skip


def _json(value):  # type: ignore[no-untyped-def]
    if value is None or isinstance(value, list | dict):
        return value
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _iso(value):  # type: ignore[no-untyped-def]
    # naive UTC in the database (pipeline.models.UTCDateTime)
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(" ", "T") + ("+00:00" if "+" not in value else "")
    return value.isoformat() + "+00:00"


def upgrade() -> None:
    with op.batch_alter_table("sightings") as batch:
        batch.add_column(sa.Column("data", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("data_since", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("data_changed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rank", sa.Integer(), nullable=True))
    with op.batch_alter_table("call_changes") as batch:
        batch.add_column(sa.Column("source", sa.String(length=50), nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("origin_page", sa.String(length=64), nullable=True))
    _backfill()
    # a unique index, not a constraint: on SQLite a new constraint means copying the calls table,
    # and dropping the old copy would cascade to every sighting, change and verdict
    op.create_index("uq_calls_origin_page", "calls", ["origin_page"], unique=True)


def _backfill() -> None:
    bind = op.get_bind()
    calls = sa.table(
        "calls", sa.column("id"), sa.column("source"), sa.column("canonical_url"),
        sa.column("extra", sa.JSON), sa.column("updated_at"), sa.column("first_seen"),
        sa.column("last_seen"),
        sa.column("deadlines", sa.JSON), sa.column("origin_page"),
        *(sa.column(f) for f in PAGE_FIELDS if f != "deadlines"),
    )  # fmt: skip
    sightings = sa.table(
        "sightings", sa.column("id"), sa.column("call_id"), sa.column("source"),
        sa.column("canonical_url"), sa.column("title"), sa.column("language"), sa.column("url"),
        sa.column("first_seen"), sa.column("data", sa.JSON), sa.column("data_since", sa.JSON),
        sa.column("data_changed_at"),
    )  # fmt: skip
    owners: dict[int, tuple[str, str, dict, str]] = {}
    seen_pages: set[str] = set()
    for row in bind.execute(sa.select(calls).order_by(calls.c.id)).mappings():
        extra = _json(row["extra"]) or {}
        data = {}
        for name in PAGE_FIELDS:
            value = row[name]
            if name in ("deadlines", "eligible_countries", "eligible_applicants", "notes"):
                value = _json(value) or []
            elif name == "opens_at":
                value = _iso(value)
            if value not in (None, "", []):
                data[name] = value
        # the owner's data as of its last visit: the newest of its rank, so the first rebuild
        # after the upgrade gives the row it had
        since = _iso(row["last_seen"] or row["updated_at"] or row["first_seen"])
        owners[row["id"]] = (
            extra.get("data_source", row["source"]),
            extra.get("data_page", row["canonical_url"]),
            data,
            since,
        )
        page = hashlib.sha256((row["canonical_url"] or "").encode("utf-8")).hexdigest()
        if page not in seen_pages:
            seen_pages.add(page)
            bind.execute(calls.update().where(calls.c.id == row["id"]).values(origin_page=page))
    for s in bind.execute(sa.select(sightings)).mappings():
        owner = owners.get(s["call_id"])
        if owner and (s["source"], s["canonical_url"]) == owner[:2]:
            data, since = dict(owner[2]), owner[3]
        else:
            data = {k: s[k] for k in ("title", "language", "url") if s[k]}
            since = _iso(s["first_seen"])
        bind.execute(
            sightings.update()
            .where(sightings.c.id == s["id"])
            .values(data=data, data_since={k: since for k in data}, data_changed_at=None)
        )


def downgrade() -> None:
    op.drop_index("uq_calls_origin_page", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("origin_page")
    with op.batch_alter_table("call_changes") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("sightings") as batch:
        batch.drop_column("rank")
        batch.drop_column("data_changed_at")
        batch.drop_column("data_since")
        batch.drop_column("data")
