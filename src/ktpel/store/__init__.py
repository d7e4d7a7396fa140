"""Storage: SQLAlchemy tables, a unit of work, Alembic migrations (SQLite by default, PostgreSQL in production)."""
