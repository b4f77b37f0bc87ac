"""search: each call's search document, indexed (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: 0012_search
Revises: 0011_partnerships
Create Date: 2026-12-07

`calls.search_doc` holds the folded, stemmed words a call is found by
(`pipeline.store.search_index`). SQLite: an FTS5 table `calls_fts` over it, kept in step by
triggers; a SQLite built without FTS5 gets the column only (the search then matches in Python,
and says so in the log). PostgreSQL: a stored generated column `search_vector`,
`to_tsvector('simple', search_doc)`, with a GIN index (PostgreSQL 12 or later). The
documents of the calls already stored are computed here, with the code of this revision.

A later migration that rebuilds the `calls` table on SQLite (batch mode: copy and rename) drops
its triggers: it must make the index again (`search_index.drop_sqlite_index` then
`create_sqlite_index`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_search"
down_revision: str | None = "0011_partnerships"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from fundradar.pipeline.store import search_index

    op.add_column("calls", sa.Column("search_doc", sa.Text(), nullable=True))
    bind = op.get_bind()
    search_index.backfill(bind)
    if bind.dialect.name == "sqlite":
        search_index.create_sqlite_index(bind)  # after the backfill: one 'rebuild', no triggers
    elif bind.dialect.name == "postgresql":
        search_index.create_pg_index(bind)


def downgrade() -> None:
    from fundradar.pipeline.store import search_index

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        search_index.drop_sqlite_index(bind)
    elif bind.dialect.name == "postgresql":
        search_index.drop_pg_index(bind)
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("search_doc")
