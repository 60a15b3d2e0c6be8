"""Database guards for the audit trail: refuse UPDATE of any audit row, and DELETE of rows
younger than the retention period.

The retention the trigger enforces lives in a one-row table `core_auditguard` that is not a
Django model (so a test database flush leaves it alone). It starts at
`settings.EGOV_AUDIT_RETENTION_DAYS` (180 by default); 0 switches the delete guard off.
If the row is missing the trigger falls back to 180 days. Someone with DDL rights can drop
these triggers: that is what the hash chain and `audit_verify` are for.

Note for later migrations: on SQLite an AlterField on `core_auditevent` rebuilds the table and
drops its triggers; re-create the triggers after such an operation (`audit_verify` reports a
missing guard).
"""

from django.conf import settings
from django.db import migrations

SQLITE_INSTALL = [
    "CREATE TABLE IF NOT EXISTS core_auditguard ("
    " id integer PRIMARY KEY CHECK (id = 1),"
    " retention_days integer NOT NULL CHECK (retention_days >= 0))",
    "INSERT OR IGNORE INTO core_auditguard (id, retention_days) VALUES (1, {days})",
    "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent"
    " BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END",
    "CREATE TRIGGER IF NOT EXISTS core_auditevent_retention BEFORE DELETE ON core_auditevent"
    " WHEN (SELECT COALESCE(MAX(retention_days), 180) FROM core_auditguard) > 0"
    " AND OLD.occurred_at > datetime('now', '-' ||"
    " (SELECT COALESCE(MAX(retention_days), 180) FROM core_auditguard) || ' days')"
    " BEGIN SELECT RAISE(ABORT, 'audit records inside the retention period cannot be deleted');"
    " END",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_retention",
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TABLE IF EXISTS core_auditguard",
]

POSTGRES_INSTALL = [
    "CREATE TABLE IF NOT EXISTS core_auditguard ("
    " id smallint PRIMARY KEY CHECK (id = 1),"
    " retention_days integer NOT NULL CHECK (retention_days >= 0))",
    "INSERT INTO core_auditguard (id, retention_days) VALUES (1, {days}) ON CONFLICT DO NOTHING",
    """CREATE OR REPLACE FUNCTION core_auditevent_refuse_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit records cannot be changed (seq %)', OLD.seq
            USING ERRCODE = 'restrict_violation';
    END;
    $$""",
    """CREATE OR REPLACE FUNCTION core_auditevent_guard_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        keep_days integer;
    BEGIN
        SELECT retention_days INTO keep_days FROM core_auditguard WHERE id = 1;
        keep_days := COALESCE(keep_days, 180);
        IF keep_days > 0 AND OLD.occurred_at > now() - make_interval(days => keep_days) THEN
            RAISE EXCEPTION 'audit records inside the retention period cannot be deleted (seq %)',
                OLD.seq USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END;
    $$""",
    "DROP TRIGGER IF EXISTS core_auditevent_no_update ON core_auditevent",
    "CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent"
    " FOR EACH ROW EXECUTE FUNCTION core_auditevent_refuse_update()",
    "DROP TRIGGER IF EXISTS core_auditevent_retention ON core_auditevent",
    "CREATE TRIGGER core_auditevent_retention BEFORE DELETE ON core_auditevent"
    " FOR EACH ROW EXECUTE FUNCTION core_auditevent_guard_delete()",
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_retention ON core_auditevent",
    "DROP TRIGGER IF EXISTS core_auditevent_no_update ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_guard_delete()",
    "DROP FUNCTION IF EXISTS core_auditevent_refuse_update()",
    "DROP TABLE IF EXISTS core_auditguard",
]


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    if vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_REMOVE
    return []  # other databases are not supported; the hash chain still detects tampering


def install_guards(apps, schema_editor):
    days = int(getattr(settings, "EGOV_AUDIT_RETENTION_DAYS", 180))
    if days < 0:
        raise ValueError("EGOV_AUDIT_RETENTION_DAYS must be 0 or more")
    for sql in _statements(schema_editor.connection.vendor, install=True):
        # `days` is an int checked above; statements carry no other input.
        schema_editor.execute(sql.replace("{days}", str(days)), params=None)


def remove_guards(apps, schema_editor):
    for sql in _statements(schema_editor.connection.vendor, install=False):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_plain_actor_prune_base")]

    operations = [migrations.RunPython(install_guards, remove_guards, elidable=False)]
