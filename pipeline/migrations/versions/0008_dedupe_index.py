"""dedupe blocking keys: a prefilter so that dedupe's candidates do not grow with the database

Revision ID: 0008_dedupe_index
Revises: 0005_run_verdicts
Create Date: 2026-12-07

`dedupe_keys` holds each stored call's blocking keys (word prefixes of its title, identifiers,
its numbered round, the pages an aggregator's copy links to) with the call's deadline and
funder, indexed by (key, deadline) and (key, funder): dedupe's fuzzy candidates are the calls
sharing a key with the item inside its deadline window (`pipeline.dedupe.blocking`). The keys
of the calls already stored are computed here, with the code of this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_dedupe_index"
down_revision: str | None = "0006_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dedupe_keys",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("funder", sa.String(length=300), nullable=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id", "key"),
    )
    op.create_index("ix_dedupe_keys_key_deadline", "dedupe_keys", ["key", "deadline"])
    op.create_index("ix_dedupe_keys_key_funder", "dedupe_keys", ["key", "funder"])
    _backfill()


def _backfill() -> None:
    import json

    from fundradar.pipeline.dedupe.blocking import key_rows

    bind = op.get_bind()
    calls = sa.table(
        "calls", sa.column("id"), sa.column("title"), sa.column("url"), sa.column("source"),
        sa.column("source_ref"), sa.column("extra"), sa.column("deadline"), sa.column("funder"),
    )  # fmt: skip
    keys = sa.table(
        "dedupe_keys", sa.column("call_id"), sa.column("key"), sa.column("deadline"),
        sa.column("funder"), sa.column("words"),
    )  # fmt: skip
    batch: list[dict] = []  # type: ignore[type-arg]
    for row in bind.execute(sa.select(calls)).mappings():
        values = dict(row)
        extra = values.get("extra")
        if isinstance(extra, str):
            try:
                values["extra"] = json.loads(extra)
            except ValueError:
                values["extra"] = {}
        batch += key_rows(values["id"], values)  # the deadline as stored: naive UTC
        if len(batch) >= 5000:
            bind.execute(sa.insert(keys), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(keys), batch)


def downgrade() -> None:
    op.drop_index("ix_dedupe_keys_key_funder", table_name="dedupe_keys")
    op.drop_index("ix_dedupe_keys_key_deadline", table_name="dedupe_keys")
    op.drop_table("dedupe_keys")
