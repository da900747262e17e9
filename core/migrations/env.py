"""Alembic environment: runs against the connection core.db.migrate() hands over."""
from alembic import context

import core.accounts  # noqa: F401  (registers the core tables on Base.metadata)
from core.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` CLI use: build an engine from settings
    from core.db import get_engine

    connection = get_engine().connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
