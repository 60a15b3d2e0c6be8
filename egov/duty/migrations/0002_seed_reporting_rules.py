"""Default reporting time limits (rows without a province); each province may override them.

重大 and 特别重大: by phone within 30 minutes and in writing within 1 hour of the event;
较大 and 一般 longer; sensitive events whatever their grade as for 重大.
"""

from django.db import migrations

# grade: (phone, written, follow-up every, daily after hours, escalate after) in minutes/hours
DEFAULTS = {
    "I": (30, 60, 120, 72, 10),
    "II": (30, 60, 120, 72, 10),
    "III": (60, 120, 240, 72, 20),
    "IV": (120, 240, 720, 72, 30),
    "sensitive": (30, 60, 120, 72, 10),
}


def seed(apps, schema_editor):
    ReportingRule = apps.get_model("duty", "ReportingRule")
    for grade, (phone, written, follow_up, daily_after, escalate) in DEFAULTS.items():
        ReportingRule.objects.get_or_create(
            province=None,
            category="",
            grade=grade,
            defaults={
                "phone_minutes": phone,
                "written_minutes": written,
                "follow_up_minutes": follow_up,
                "daily_after_hours": daily_after,
                "escalation_minutes": escalate,
                "escalation_role": "signer",
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("duty", "ReportingRule").objects.filter(
        province=None, category="", grade__in=list(DEFAULTS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("duty", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
