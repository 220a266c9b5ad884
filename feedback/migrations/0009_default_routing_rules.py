from django.db import migrations

from feedback.defaults import create_routing_rules


def create(apps, schema_editor):
    """The domain guide's routing defaults as rules (only into an empty rule table)."""
    Department = apps.get_model("teams", "Department")
    RoutingRule = apps.get_model("feedback", "RoutingRule")
    create_routing_rules(RoutingRule, {department.slug: department for department in Department.objects.all()})


class Migration(migrations.Migration):
    dependencies = [("feedback", "0008_routing_rules"), ("teams", "0004_routing_assignment")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
