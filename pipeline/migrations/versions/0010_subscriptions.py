"""subscriptions and instant alerts: the mail an officer manages herself

Revision ID: 0010_subscriptions
Revises: 0008_dedupe_index
Create Date: 2026-12-07

`subscriptions` replaces recipients.yaml as the list of who gets mail (the file still seeds
it): one row per address with its filters, frequency and optional Apprise channel; never
deleted (an unsubscribe is a flag and a date). `instant_alerts` records each new high-band
call told at once to a subscription, per way (mail, channel), so it is never told twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_subscriptions"
down_revision: str | None = "0008_dedupe_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("min_band", sa.String(length=10), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("words", sa.String(length=200), nullable=True),
        sa.Column("call_language", sa.String(length=8), nullable=True),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("managed_by", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "instant_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("way", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "call_id", "way", name="uq_instant_alert"),
    )
    op.create_index("ix_instant_alerts_call_id", "instant_alerts", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_instant_alerts_call_id", table_name="instant_alerts")
    op.drop_table("instant_alerts")
    op.drop_table("subscriptions")
