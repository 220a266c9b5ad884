import django.db.models.deletion
from django.db import migrations, models

import teams.models


class Migration(migrations.Migration):
    dependencies = [("teams", "0002_default_departments")]

    operations = [
        migrations.CreateModel(
            name="BusinessSchedule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("time_zone", models.CharField(default="UTC", help_text="An IANA name, e.g. Europe/Berlin.", max_length=64)),
                ("week", models.JSONField(default=teams.models._default_week, help_text='Open intervals per weekday, local time: {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...}; a day left out is closed.')),
                ("holiday_country", models.CharField(blank=True, help_text="ISO country code whose public holidays are closed (e.g. DE, US).", max_length=10)),
                ("holiday_subdivision", models.CharField(blank=True, help_text="Optional state or region, e.g. BY.", max_length=10)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("department", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="business_schedule", to="teams.department")),
            ],
        ),
        migrations.CreateModel(
            name="ClosedDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField()),
                ("name", models.CharField(blank=True, max_length=100)),
                ("schedule", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="closed_days", to="teams.businessschedule")),
            ],
            options={
                "ordering": ["date"],
                "constraints": [models.UniqueConstraint(fields=("schedule", "date"), name="closedday_unique_schedule_date")],
            },
        ),
    ]
