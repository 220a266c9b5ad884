from django.db import migrations

from feedback.understanding.promises import DEFAULT_PROMISES


def create(apps, schema_editor):
    """The demo airline's nine promises, which are also the shipped model's promise labels."""
    Department = apps.get_model("teams", "Department")
    Promise = apps.get_model("feedback", "Promise")
    departments = {department.slug: department for department in Department.objects.all()}
    for spec in DEFAULT_PROMISES:
        fields = {**spec, "department": departments.get(spec["department"])}
        slug = fields.pop("slug")
        Promise.objects.get_or_create(slug=slug, defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0004_understanding"), ("teams", "0002_default_departments")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
