"""SQLite: stream heads read from each stream's last event, positions without AUTOINCREMENT (docs/adr/0026).

One writer holds SQLite's lock at a time, so the head row that serialises writers elsewhere only costs a page
per append here. ``eventlog_stream`` becomes a view of each stream's last event (same columns, read as before),
and ``eventlog_event`` is rebuilt without AUTOINCREMENT: its position is the rowid, the highest plus one, and
events are never deleted, so no position is handed out twice; ``sqlite_sequence`` was one more page per append.
PostgreSQL, MariaDB/MySQL and Oracle are unchanged.
"""

from django.db import migrations

STREAM_VIEW = """
CREATE VIEW eventlog_stream (stream_id, stream_type, version, last_hash, tenant_id) AS
SELECT e.stream_id, e.stream_type, e.version, e.hash, e.tenant_id FROM eventlog_event e
WHERE e.version = (SELECT MAX(m.version) FROM eventlog_event m WHERE m.stream_id = e.stream_id)
"""
STREAM_TABLE = (
    'CREATE TABLE "eventlog_stream" ("stream_id" varchar(100) NOT NULL PRIMARY KEY, '
    '"stream_type" varchar(100) NOT NULL, "version" integer unsigned NOT NULL CHECK ("version" >= 0), '
    '"last_hash" varchar(64) NOT NULL, "tenant_id" varchar(64) NULL)'
)


def _rebuild_events(cursor, autoincrement: bool) -> None:  # type: ignore[no-untyped-def]
    """Copy eventlog_event into a table declared the same but for AUTOINCREMENT, with its indexes."""
    (table_sql,) = cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'eventlog_event'")
    table_sql = table_sql[0]
    indexes = [
        row[0]
        for row in cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'eventlog_event' AND sql IS NOT NULL"
        )
    ]
    declared = "PRIMARY KEY AUTOINCREMENT" if autoincrement else "PRIMARY KEY"
    new_sql = table_sql.replace("PRIMARY KEY AUTOINCREMENT", "PRIMARY KEY").replace("PRIMARY KEY", declared, 1)
    new_sql = new_sql.replace('"eventlog_event"', '"eventlog_event__new"', 1)
    if new_sql == table_sql or "eventlog_event__new" not in new_sql:
        raise RuntimeError(f"unexpected eventlog_event schema: {table_sql}")
    cursor.execute(new_sql)
    cursor.execute("INSERT INTO eventlog_event__new SELECT * FROM eventlog_event")
    cursor.execute("DROP TABLE eventlog_event")
    cursor.execute("ALTER TABLE eventlog_event__new RENAME TO eventlog_event")
    for index_sql in indexes:
        cursor.execute(index_sql)
    if not autoincrement and list(cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")):
        cursor.execute("DELETE FROM sqlite_sequence WHERE name = 'eventlog_event'")


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    cursor = schema_editor.connection.connection.cursor()
    _rebuild_events(cursor, autoincrement=False)
    cursor.execute("DROP TABLE eventlog_stream")
    cursor.execute(STREAM_VIEW)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    cursor = schema_editor.connection.connection.cursor()
    cursor.execute("CREATE TABLE eventlog_stream__heads AS SELECT * FROM eventlog_stream")
    cursor.execute("DROP VIEW eventlog_stream")
    cursor.execute(STREAM_TABLE)
    cursor.execute("INSERT INTO eventlog_stream SELECT * FROM eventlog_stream__heads")
    cursor.execute("DROP TABLE eventlog_stream__heads")
    _rebuild_events(cursor, autoincrement=True)


class Migration(migrations.Migration):
    dependencies = [("eventlog", "0003_pg_append_function")]
    operations = [migrations.RunPython(forward, backward)]
