"""Alembic migrations of the store (run by :func:`evidence.store.upgrade`)."""
