from django.db import migrations

from feedback.defaults import ROUTING_RULES


def create(apps, schema_editor):
    """The domain guide's routing defaults as rules (only into an empty rule table)."""
    Department = apps.get_model("teams", "Department")
    RoutingRule = apps.get_model("feedback", "RoutingRule")
    if RoutingRule.objects.exists():
        return
    departments = {department.slug: department for department in Department.objects.all()}
    for position, (name, conditions, actions) in enumerate(ROUTING_RULES):
        actions = dict(actions)
        slug = actions.pop("department", None)
        RoutingRule.objects.create(
            name=name, position=(position + 1) * 10, is_default=position == len(ROUTING_RULES) - 1,
            department=departments.get(slug) if slug else None, **conditions, **actions,
        )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0008_routing_rules"), ("teams", "0004_routing_assignment")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
