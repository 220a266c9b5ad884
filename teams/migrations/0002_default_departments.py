from django.db import migrations

from teams.defaults import DEPARTMENTS


def create(apps, schema_editor):
    Department = apps.get_model("teams", "Department")
    for slug, name, description in DEPARTMENTS:
        Department.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
