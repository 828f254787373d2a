"""SQLAlchemy 2.0 async storage: models, repositories, unit of work, Alembic migrations."""
