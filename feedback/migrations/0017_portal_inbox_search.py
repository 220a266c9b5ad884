"""The inbox: fill `Case.next_due_at` for the cases there are, and (PostgreSQL only) the GIN
indexes of its full-text search over the posts' text and the customers' names
(`feedback.cases.selectors.search_cases` queries exactly these expressions). SQLite searches
with LIKE and needs neither."""

from django.db import migrations
from django.db.models import Min, OuterRef, Subquery

SEARCH_INDEXES = [
    ("mention_text_search", "feedback_mention", "to_tsvector('english'::regconfig, text)"),
    ("customer_name_search", "customers_customer", "to_tsvector('simple'::regconfig, name)"),
]


def fill_next_due(apps, schema_editor):
    Case = apps.get_model("feedback", "Case")
    SlaClock = apps.get_model("feedback", "SlaClock")
    nearest = (
        SlaClock.objects.filter(case_id=OuterRef("pk"), stopped_at__isnull=True, paused_at__isnull=True)
        .order_by().values("case_id").annotate(due=Min("due_at")).values("due")
    )
    Case.objects.filter(status__in=["new", "open", "pending"]).update(next_due_at=Subquery(nearest))


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in SEARCH_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0016_portal_inbox"),
        ("customers", "0002_identity_handle_lower_case"),
    ]

    operations = [
        migrations.RunPython(fill_next_due, migrations.RunPython.noop),
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
