# The journey: handoffs waiting for acceptance, feedback up, problems (and their timeline events).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0005_default_promises'),
        ('teams', '0002_default_departments'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FeedbackNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='feedback_acknowledged', to=settings.AUTH_USER_MODEL)),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='feedback_sent', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='feedback_notes', to='feedback.case')),
                ('from_department', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='feedback_out', to='teams.department')),
                ('to_department', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='feedback_in', to='teams.department')),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('acknowledged_at__isnull', True)), fields=['to_department'], name='feedbacknote_unacknowledged')],
            },
        ),
        migrations.CreateModel(
            name='Handoff',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('note', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('status', models.CharField(choices=[('pending', 'Pending acceptance'), ('accepted', 'Accepted'), ('returned', 'Sent back')], default='pending', max_length=10)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('reason', models.TextField(blank=True, help_text='Why the receiving department sent it back.')),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='handoffs_made', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='handoffs', to='feedback.case')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='handoffs_decided', to=settings.AUTH_USER_MODEL)),
                ('from_department', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='handoffs_out', to='teams.department')),
                ('to_department', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='handoffs_in', to='teams.department')),
            ],
            options={
                'indexes': [models.Index(fields=['to_department', 'status'], name='handoff_to_status')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('case',), name='handoff_one_pending_per_case')],
            },
        ),
        migrations.CreateModel(
            name='Problem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('status', models.CharField(choices=[('open', 'Open'), ('resolved', 'Resolved')], default='open', max_length=10)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolution', models.TextField(blank=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='problems_created', to=settings.AUTH_USER_MODEL)),
                ('owner_department', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='problems', to='teams.department')),
            ],
            options={
                'indexes': [models.Index(fields=['owner_department', 'status'], name='problem_owner_status')],
            },
        ),
        migrations.AddField(
            model_name='case',
            name='problem',
            field=models.ForeignKey(blank=True, help_text='The underlying cause this case belongs to, if any.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='cases', to='feedback.problem'),
        ),
        migrations.AlterField(
            model_name='caseevent',
            name='kind',
            field=models.CharField(choices=[('created', 'Case created'), ('mention', 'Mention attached'), ('note', 'Note'), ('handoff', 'Handed off'), ('accepted', 'Handoff accepted'), ('reply', 'Reply'), ('status', 'Status changed'), ('escalation', 'Escalation'), ('returned', 'Handoff sent back'), ('feedback', 'Feedback up'), ('acknowledged', 'Feedback acknowledged'), ('stage', 'Customer stage changed'), ('problem', 'Linked to a problem'), ('problem_fix', 'Problem resolved')], max_length=12),
        ),
    ]
