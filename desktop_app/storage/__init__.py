"""Conversation storage: SQLAlchemy models, engine set-up, Alembic migrations and the cached store."""
