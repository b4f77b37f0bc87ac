"""calls: how the deadline was given (deadline_kind) and the funder's time zone

Revision ID: 0003_deadline_kind
Revises: 0002_dedupe
Create Date: 2026-12-07

A call with no readable deadline is kept (deadline_kind = not_found or rolling) instead of being
refused, and a date-only deadline is shown as the date it is, in the funder's zone (timezone),
not as a converted clock time. Existing rows keep NULL: "not decided", shown as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_deadline_kind"
down_revision: str | None = "0002_dedupe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("deadline_kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("timezone")
        batch.drop_column("deadline_kind")
