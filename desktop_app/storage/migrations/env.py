"""Alembic environment: always run by the app on a connection it already holds (see storage/migrate.py)."""

from __future__ import annotations

from alembic import context

from desktop_app.storage.migrate import include_name
from desktop_app.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Migrations run from the app (storage/migrate.py), which passes its own connection.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
    include_name=include_name,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
