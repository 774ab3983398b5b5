"""Alembic environment: footfall always hands over an open connection (see store/migrate.py)."""

from alembic import context

from footfall.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
context.run_migrations()
