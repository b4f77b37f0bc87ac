"""dedupe keys: the funder index ends with the deadline, so an undated call's lookup stays small

Revision ID: 0009_key_counts
Revises: 0008_dedupe_index
Create Date: 2026-12-07

Dedupe's candidate query for stored calls without a deadline asks for `key = ? AND funder = ?
AND deadline IS NULL`. On (key, funder) that read every posting of the word for the funder,
dated or not, and looked each row up to test its deadline: a cost that grew with the table
(a common title word of a big funder has thousands of postings). On (key, funder, deadline)
all three are equalities and the scan reads only the undated postings; the funder-only
lookup (`_BY_FUNDER`) still uses the index's first two columns.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_key_counts"
down_revision: str | None = "0008_dedupe_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_dedupe_keys_key_funder", table_name="dedupe_keys")
    op.create_index(
        "ix_dedupe_keys_key_funder_deadline", "dedupe_keys", ["key", "funder", "deadline"]
    )


def downgrade() -> None:
    op.drop_index("ix_dedupe_keys_key_funder_deadline", table_name="dedupe_keys")
    op.create_index("ix_dedupe_keys_key_funder", "dedupe_keys", ["key", "funder"])
