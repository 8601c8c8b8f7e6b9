"""Initial schema: carriers, districts, categories, offers, geocode cache, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carriers",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("website", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_carriers"),
    )
    op.create_table(
        "districts",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("polygon", sa.JSON(), nullable=True),
        sa.Column("point_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_districts"),
    )
    op.create_table(
        "categories",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("parent", sa.String(100), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_categories"),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("district_manual", sa.Boolean(), nullable=False),
        sa.Column("street", sa.String(300), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("city", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("precision", sa.String(16), nullable=True),
        sa.Column("phone", sa.String(100), nullable=False),
        sa.Column("email", sa.String(300), nullable=False),
        sa.Column("website", sa.String(500), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("wheelchair", sa.Boolean(), nullable=False),
        sa.Column("hearing_loop", sa.Boolean(), nullable=False),
        sa.Column("easy_language", sa.Boolean(), nullable=False),
        sa.Column("accessibility_note", sa.Text(), nullable=False),
        sa.Column("free_of_charge", sa.Boolean(), nullable=False),
        sa.Column("cost_note", sa.Text(), nullable=False),
        sa.Column("target_groups", sa.JSON(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["carrier"], ["carriers.key"], name="fk_offers_carrier_carriers"),
        sa.ForeignKeyConstraint(
            ["district"], ["districts.key"], name="fk_offers_district_districts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        sa.UniqueConstraint("carrier", "external_id", name="uq_offers_carrier_external_id"),
    )
    op.create_index("ix_offers_status", "offers", ["status"])
    op.create_table(
        "offer_categories",
        sa.Column("offer_id", sa.String(36), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name="fk_offer_categories_offer_id_offers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category"], ["categories.key"], name="fk_offer_categories_category_categories"
        ),
        sa.PrimaryKeyConstraint("offer_id", "category", name="pk_offer_categories"),
    )
    op.create_index("ix_offer_categories_category", "offer_categories", ["category"])
    op.create_table(
        "geocode_cache",
        sa.Column("query", sa.String(500), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("precision", sa.String(16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("query", name="pk_geocode_cache"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("offer_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sync_state"),
    )


def downgrade() -> None:
    for table in (
        "sync_state",
        "outbox",
        "geocode_cache",
        "offer_categories",
        "offers",
        "categories",
        "districts",
        "carriers",
    ):
        op.drop_table(table)
