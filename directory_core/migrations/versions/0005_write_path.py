"""The write path: offer versions, staff-only note, verifier, history, API tokens.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server defaults fill the rows that exist already (every offer starts at version 1)
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column("internal_note", sa.Text(), nullable=False, server_default=sa.text("''"))
        )
        batch.add_column(sa.Column("verified_by", sa.String(200), nullable=True))
    op.create_table(
        "offer_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("offer_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offer_history"),
    )
    op.create_index("ix_offer_history_offer_id", "offer_history", ["offer_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("carriers", sa.JSON(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_index("ix_offer_history_offer_id", table_name="offer_history")
    op.drop_table("offer_history")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("verified_by")
        batch.drop_column("internal_note")
        batch.drop_column("version")
