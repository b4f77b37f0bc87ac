"""leases: claims on work that must run on one machine at a time

Revision ID: 0006_claims
Revises: 0005_run_verdicts
Create Date: 2026-12-07

Two servers on one database must never send a week's digest twice or crawl one source at once.
A lease row per piece of work (its name), held by one process (host:pid:random) until it
expires; the holder's heartbeat keeps it alive (`pipeline.locks`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_claims"
down_revision: str | None = "0005_run_verdicts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("node", sa.String(length=40), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
