from django.db import migrations

# (first reply, resolution) in calendar minutes, per priority.
TARGETS = {
    "urgent": (60, 8 * 60),
    "high": (2 * 60, 24 * 60),
    "normal": (4 * 60, 72 * 60),
    "low": (24 * 60, 7 * 24 * 60),
}


def create(apps, schema_editor):
    Department = apps.get_model("teams", "Department")
    SlaPolicy = apps.get_model("feedback", "SlaPolicy")
    for department in Department.objects.all():
        for priority, (first, resolution) in TARGETS.items():
            SlaPolicy.objects.get_or_create(
                department=department, priority=priority,
                defaults={"first_reply_minutes": first, "resolution_minutes": resolution},
            )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial"), ("teams", "0002_default_departments")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
