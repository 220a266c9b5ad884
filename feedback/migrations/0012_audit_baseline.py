"""The audit trail starts with the settings as they are: one "created" history record for each
existing routing rule (with its promises), promise, SLA policy, department, business schedule and
closed day, so the first change made after this shows its values before and after."""

from django.db import migrations
from django.utils import timezone

AUDITED = [
    ("feedback", "RoutingRule"), ("feedback", "Promise"), ("feedback", "SlaPolicy"),
    ("teams", "Department"), ("teams", "BusinessSchedule"), ("teams", "ClosedDay"),
]
REASON = "Audit trail started"


def record_baseline(apps, schema_editor):
    now = timezone.now()
    for app_label, name in AUDITED:
        model = apps.get_model(app_label, name)
        history = apps.get_model(app_label, f"Historical{name}")
        kept = [field.attname for field in history._meta.fields
                if not field.attname.startswith("history_") and field.attname != "id"]
        known = set(history.objects.values_list("id", flat=True))
        rows = [row for row in model.objects.order_by("pk") if row.pk not in known]
        records = history.objects.bulk_create([
            history(id=row.pk, history_date=now, history_type="+", history_change_reason=REASON,
                    **{attname: getattr(row, attname) for attname in kept})
            for row in rows
        ])
        if name == "RoutingRule":
            through = apps.get_model("feedback", "HistoricalRoutingRule_promises")
            by_rule = {record.id: record for record in records}
            links = model.promises.through.objects.filter(routingrule_id__in=by_rule)
            through.objects.bulk_create([
                through(history=by_rule[link.routingrule_id], routingrule_id=link.routingrule_id,
                        promise_id=link.promise_id)
                for link in links
            ])


class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0011_audit_history"),
        ("teams", "0005_audit_history"),
    ]

    operations = [
        migrations.RunPython(record_baseline, migrations.RunPython.noop),
    ]
