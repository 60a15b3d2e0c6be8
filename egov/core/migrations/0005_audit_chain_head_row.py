"""Create the audit chain's head row, so the first append locks an existing row."""

from django.db import migrations


def create_head(apps, schema_editor):
    head_model = apps.get_model("core", "AuditChainHead")
    head_model.objects.using(schema_editor.connection.alias).get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_audit_guard_triggers")]

    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
