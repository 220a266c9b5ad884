import json
from pathlib import Path

from django.db import migrations

# The same file `feedback.understanding.promises.DEFAULT_PROMISES` is read from; read here
# directly, so that the migration imports no app code.
DEFAULT_PROMISES_FILE = Path(__file__).resolve().parent.parent / "understanding" / "fixtures" / "default_promises.json"


def create(apps, schema_editor):
    """The demo airline's nine promises, which are also the shipped model's promise labels."""
    Department = apps.get_model("teams", "Department")
    Promise = apps.get_model("feedback", "Promise")
    known = {field.name for field in Promise._meta.get_fields()}  # the fields Promise has at this migration
    departments = {department.slug: department for department in Department.objects.all()}
    specs = json.loads(DEFAULT_PROMISES_FILE.read_text(encoding="utf-8"))
    for spec in specs:
        fields = {key: value for key, value in spec.items() if key in known}
        fields["department"] = departments.get(spec["department"])
        slug = fields.pop("slug")
        Promise.objects.get_or_create(slug=slug, defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0004_understanding"), ("teams", "0002_default_departments")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
