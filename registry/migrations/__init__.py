"""Alembic migrations of the node's database (SQLite and PostgreSQL alike).

They run programmatically, without an ``alembic.ini``: :func:`registry.storage.migrate.upgrade`
(called by ``registry db upgrade`` and at node start-up) points Alembic at this directory and
hands ``env.py`` an open connection through ``Config.attributes["connection"]``.
"""
