"""Alembic environment: run migrations on the connection the store hands over."""

from alembic import context

from directory_core.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes a connection
    raise RuntimeError("run migrations through directory_core.store.Store.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
