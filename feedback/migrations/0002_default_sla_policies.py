from django.db import migrations

from feedback.defaults import SLA_TARGETS


def create(apps, schema_editor):
    Department = apps.get_model("teams", "Department")
    SlaPolicy = apps.get_model("feedback", "SlaPolicy")
    for department in Department.objects.all():
        for priority, (first, resolution) in SLA_TARGETS.items():
            SlaPolicy.objects.get_or_create(
                department=department, priority=priority,
                defaults={"first_reply_minutes": first, "resolution_minutes": resolution},
            )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial"), ("teams", "0002_default_departments")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
