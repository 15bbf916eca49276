"""Alembic environment: run against the connection handed over by evidence.store."""

from alembic import context

from evidence.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` command line with sqlalchemy.url set
    from sqlalchemy import create_engine

    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
