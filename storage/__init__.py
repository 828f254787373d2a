"""SQLAlchemy 2.0 async storage: one module per capability with its tables and repositories,
the unit of work, Alembic migrations."""
