"""crawl runs: the verdict's cause; the maintainer's alert state per source

Revision ID: 0005_run_verdicts
Revises: 0004_sightings_data
Create Date: 2026-12-07

Every crawl run gets a verdict with a cause in an officer's words (crawl_runs.cause: "site
unreachable", "error 503", ...), next to the technical message. source_alert_states keeps what
the maintainer was last told per source, so a failure is announced once, not every run, even
across restarts. Existing runs keep a NULL cause: their message still says what happened.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_run_verdicts"
down_revision: str | None = "0004_sightings_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("cause", sa.String(length=120), nullable=True))
    op.create_table(
        "source_alert_states",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("alerted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("source_alert_states")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("cause")
