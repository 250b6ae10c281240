"""Database access: engines, the embedded cluster and the Alembic migrations."""
