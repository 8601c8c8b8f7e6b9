"""The relational schema of the store of record (SQLAlchemy Core).

Changes to these tables go through an Alembic migration in ``migrations/versions``;
``tests/test_migrations.py`` checks that the migrations produce exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

carriers = Table(
    "carriers",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("website", String(500), nullable=False, default=""),
)

districts = Table(
    "districts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("polygon", JSON, nullable=True),
    Column("point_note", Text, nullable=False, default=""),
)

categories = Table(
    "categories",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("label", String(300), nullable=False),
    Column("parent", String(100), nullable=True),
    Column("description", Text, nullable=False, default=""),
)

offers = Table(
    "offers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("carrier", String(64), ForeignKey("carriers.key"), nullable=True),
    Column("district", String(64), ForeignKey("districts.key"), nullable=True),
    Column("district_manual", Boolean, nullable=False, default=False),
    Column("street", String(300), nullable=False, default=""),
    Column("postcode", String(10), nullable=False, default=""),
    Column("city", String(200), nullable=False, default=""),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("precision", String(16), nullable=True),
    Column("phone", String(100), nullable=False, default=""),
    Column("email", String(300), nullable=False, default=""),
    Column("website", String(500), nullable=False, default=""),
    Column("channels", JSON, nullable=False),
    Column("schedule", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("wheelchair", Boolean, nullable=False, default=False),
    Column("hearing_loop", Boolean, nullable=False, default=False),
    Column("easy_language", Boolean, nullable=False, default=False),
    Column("accessibility_note", Text, nullable=False, default=""),
    Column("free_of_charge", Boolean, nullable=False, default=True),
    Column("cost_note", Text, nullable=False, default=""),
    Column("target_groups", JSON, nullable=False),
    Column("verified_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False, default="active"),
    Column("external_id", String(200), nullable=True),
    Column("extra", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # optimistic concurrency: bumped by every write (API, import, CLI); see write path docs
    Column("version", Integer, nullable=False, server_default="1"),
    # staff only (counsellor, editor, admin): never in public answers or the index text
    Column("internal_note", Text, nullable=False, server_default=text("''")),
    Column("verified_by", String(200), nullable=True),
    # the category keys in their order, as JSON text: offer_categories' rows of the offer,
    # written with them, so that an offer is read in one statement (migration 0007; text,
    # as PostgreSQL cannot compare a json column's default)
    Column("categories", Text, nullable=False, server_default=text("'[]'")),
    UniqueConstraint("carrier", "external_id", name="uq_offers_carrier_external_id"),
    Index("ix_offers_status", "status"),
)

offer_categories = Table(
    "offer_categories",
    metadata,
    Column("offer_id", String(36), ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(100), ForeignKey("categories.key"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
    Index("ix_offer_categories_category", "category"),
    # on SQLite the table is its primary key's B-tree (migration 0006): a page's
    # categories are read without a second look-up by rowid
    sqlite_with_rowid=False,
)

geocode_cache = Table(
    "geocode_cache",
    metadata,
    Column("query", String(500), primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("precision", String(16), nullable=False),
    Column("label", Text, nullable=False, default=""),
    Column("source", String(32), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every write to offers records a row here in the same transaction; search backends
# catch up from it (see sync.py). Rows are kept, so the lag is measurable.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("offer_id", String(36), nullable=False),
    Column("action", String(16), nullable=False),  # "upsert" or "delete"
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# How far each search index has caught up with the outbox.
sync_state = Table(
    "sync_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per (non-dry) import run: who, when, what, and the counts.
import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("carrier", String(64), nullable=False),
    Column("importer", String(100), nullable=False),
    Column("source", Text, nullable=False),
    Column("user", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("full", Boolean, nullable=False),
    Column("records", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("archived", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("rejections", JSON, nullable=False),
    # "completed", or "failed" when the importer itself broke (nothing was written then)
    Column("status", String(20), nullable=False, server_default="completed"),
    Column("error", Text, nullable=True),
)

# One row: the id of this store of record, made by migration 0004. A search index records
# the id of the store it is built from, so two instances that share an index prefix (a
# copied instance file with the same key) cannot write one index (search/elastic.py).
store_identity = Table(
    "store_identity",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The audit trail: one row per change of an offer, written in the same transaction as
# the change (``history.py``): when, who, how (api, import, cli) and the changed fields.
offer_history = Table(
    "offer_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("offer_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("who", String(200), nullable=False),
    Column("how", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("changes", JSON, nullable=False),  # field -> {"old": ..., "new": ...}
    Index("ix_offer_history_offer_id", "offer_id"),
)

# API tokens: the store keeps only the SHA-256 of the secret part (``auth.py``).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("carriers", JSON, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
