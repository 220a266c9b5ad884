"""SLA: targets for next reply and handoff acceptance, warning share and business hours per policy;
clocks that store their target, pause, and carry their next escalation; notifications."""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_policies(apps, schema_editor):
    """Existing policies get the default next-reply and handoff-acceptance targets of their priority."""
    from feedback.defaults import HANDOFF_ACCEPTANCE_TARGETS, NEXT_REPLY_TARGETS

    SlaPolicy = apps.get_model("feedback", "SlaPolicy")
    for priority, minutes in NEXT_REPLY_TARGETS.items():
        SlaPolicy.objects.filter(priority=priority).update(
            next_reply_minutes=minutes, handoff_acceptance_minutes=HANDOFF_ACCEPTANCE_TARGETS[priority]
        )


def fill_running_clocks(apps, schema_editor):
    """Give running clocks what the sweep now reads: their target, department and next escalation."""
    SlaClock = apps.get_model("feedback", "SlaClock")
    changed = []
    for clock in SlaClock.objects.filter(stopped_at__isnull=True).select_related("case").iterator(chunk_size=2000):
        target = clock.due_at - clock.started_at
        clock.target_minutes = max(int(target.total_seconds() // 60), 0)
        clock.department_id = clock.case.department_id
        if clock.breached_at is None and clock.warned_at is None:
            clock.next_level, clock.next_escalation_at = 1, clock.warn_at
            clock.escalation_level = 0
        elif clock.breached_at is None:
            clock.next_level, clock.next_escalation_at = 2, clock.due_at
            clock.escalation_level = 1
        else:
            clock.next_level, clock.next_escalation_at = 3, clock.due_at + timedelta(seconds=target.total_seconds() / 2)
            clock.escalation_level = 2
        changed.append(clock)
        if len(changed) >= 2000:
            SlaClock.objects.bulk_update(changed, ["target_minutes", "department", "next_level", "next_escalation_at",
                                                   "escalation_level"])
            changed = []
    SlaClock.objects.bulk_update(changed, ["target_minutes", "department", "next_level", "next_escalation_at",
                                           "escalation_level"])


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0006_journey"),
        ("teams", "0003_business_hours"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="slapolicy", name="business_hours",
            field=models.BooleanField(default=False, help_text="Count only the department's business hours (else calendar hours)."),
        ),
        migrations.AddField(
            model_name="slapolicy", name="handoff_acceptance_minutes", field=models.PositiveIntegerField(default=240),
        ),
        migrations.AddField(
            model_name="slapolicy", name="next_reply_minutes", field=models.PositiveIntegerField(default=240),
        ),
        migrations.AddField(
            model_name="slapolicy", name="warn_share",
            field=models.FloatField(default=0.75, help_text="The warning fires at this share of the target."),
        ),
        migrations.RemoveIndex(model_name="slaclock", name="slaclock_due"),
        migrations.RemoveIndex(model_name="slaclock", name="slaclock_warn"),
        migrations.AddField(model_name="slaclock", name="business_hours", field=models.BooleanField(default=False)),
        migrations.AddField(
            model_name="slaclock", name="department",
            field=models.ForeignKey(blank=True, help_text="Whose policy (and business hours) the target came from.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="teams.department"),
        ),
        migrations.AddField(model_name="slaclock", name="escalation_level", field=models.PositiveSmallIntegerField(default=0)),
        migrations.AddField(model_name="slaclock", name="next_escalation_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="slaclock", name="next_level", field=models.PositiveSmallIntegerField(blank=True, null=True)),
        migrations.AddField(model_name="slaclock", name="paused_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="slaclock", name="remaining_minutes", field=models.FloatField(blank=True, null=True)),
        migrations.AddField(model_name="slaclock", name="target_minutes", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="slaclock", name="warn_share", field=models.FloatField(default=0.75)),
        migrations.AlterField(
            model_name="slaclock", name="metric",
            field=models.CharField(choices=[("first_reply", "First reply"), ("next_reply", "Next reply"), ("resolution", "Resolution"), ("handoff_acceptance", "Handoff acceptance")], max_length=20),
        ),
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(condition=models.Q(("next_escalation_at__isnull", False), ("paused_at__isnull", True), ("stopped_at__isnull", True)), fields=["next_escalation_at"], name="slaclock_next_escalation"),
        ),
        migrations.RunPython(fill_policies, migrations.RunPython.noop),
        migrations.RunPython(fill_running_clocks, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Notification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("sla_warning", "SLA warning"), ("sla_breach", "SLA breached"), ("sla_head", "SLA breached long ago"), ("sla_board", "Urgent case breached")], max_length=20)),
                ("text", models.CharField(max_length=500)),
                ("created_at", models.DateTimeField()),
                ("read_at", models.DateTimeField(blank=True, null=True)),
                ("emailed_at", models.DateTimeField(blank=True, null=True)),
                ("case", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to="feedback.case")),
                ("escalation", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to="feedback.escalation")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["user", "-created_at"], name="notification_user_created"),
                    models.Index(condition=models.Q(("read_at__isnull", True)), fields=["user"], name="notification_user_unread"),
                ],
                "constraints": [models.UniqueConstraint(fields=("escalation", "user"), name="notification_unique_escalation_user")],
            },
        ),
    ]
