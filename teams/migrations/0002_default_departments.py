from django.db import migrations

DEPARTMENTS = [
    ("marketing", "Marketing", "Sets the expectations: campaigns, promises, the social team."),
    ("sales", "Sales", "Turns purchase intent into customers."),
    ("after-sales", "After-sales", "Warranty, returns, refunds and changes after a purchase."),
    ("service", "Customer service", "Complaints and questions: fixes what broke."),
    ("product", "Product", "Ideas and defects that change what we make."),
    ("hr", "HR", "Praise of named employees, conduct issues."),
    ("legal", "Legal", "Reviews press and legally sensitive replies."),
]


def create(apps, schema_editor):
    Department = apps.get_model("teams", "Department")
    for slug, name, description in DEPARTMENTS:
        Department.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
