"""Tables and domain rules of alumni-bot. Knows nothing of Slack: no `slack_*` import, no message text.

`models.tables.import_all()` registers every table on `SQLModel.metadata` (Alembic and the tests call it).
"""
