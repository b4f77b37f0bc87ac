"""dedupe indexes: sightings by canonical URL, calls by funder

Revision ID: 0002_dedupe
Revises: 0001
Create Date: 2026-11-27

`pipeline.dedupe.find_match` looks a page up among every source's sightings, and narrows the
fuzzy candidates of a call without a deadline by funder. Without these two indexes both are
full-table scans for every item of every crawl (quadratic in the number of stored calls).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_dedupe"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sightings_canonical_url", "sightings", ["canonical_url"])
    op.create_index("ix_calls_funder", "calls", ["funder"])


def downgrade() -> None:
    op.drop_index("ix_calls_funder", table_name="calls")
    op.drop_index("ix_sightings_canonical_url", table_name="sightings")
