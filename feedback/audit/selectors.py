"""The audit log: who changed what, when, with the values before and after.

Two kinds of record, merged newest first:
- the django-simple-history records of every audited model (routing rules, promises, SLA policies,
  departments, business schedules, closed days, memberships, board seats, canned responses, problems,
  people's accounts and groups, connected brand accounts and their sending credentials, API tokens, webhook
  subscriptions), each compared with the record before it of the same object, fetched for the whole page at
  once (one query per table that has rows on the page); the people, departments and accounts it names are
  shown by name (one query each). Secrets are never in a history table: a record says which of them changed
  (`config.history`);
- the case actions of people (and the system), read from the case timeline (`case_actions`).
A head sees the records of the departments they head (their members among them, the company's promises, the
cases their departments hold); a superuser sees everything.
"""

import operator
from datetime import datetime
from functools import reduce

from django.contrib.auth import get_user_model
from django.db.models import CharField, JSONField, Q, TextField
from simple_history.models import registered_models

from feedback.audit import case_actions
from feedback.audit.entries import Change, Entry
from feedback.intake.models import Account
from teams.models import BusinessSchedule, Department
from teams.selectors import headed_departments

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def audited_models() -> dict[str, type]:
    """{"feedback.routingrule": RoutingRule, ...}: the models with a history (not m2m tables)."""
    found = {}
    for model in registered_models.values():
        history = getattr(model, "history", None)
        if history is not None and hasattr(history, "model"):
            found[model._meta.label_lower] = model
    return dict(sorted(found.items()))


def may_read_audit_log(*, user) -> bool:
    return user.is_authenticated and (user.is_superuser or headed_departments(user=user).exists())


def _scope(model, history, *, user, ids: list[int]):
    rows = history.objects.all()
    if user.is_superuser:
        return rows
    names = {f.name for f in model._meta.concrete_fields}
    if model._meta.label_lower == "teams.department":
        return rows.filter(id__in=ids)
    for name in ("department", "owner_department"):  # a problem's owner
        if name in names:
            nullable = model._meta.get_field(name).null
            return rows.filter(Q(**{f"{name}_id__in": ids}) | (Q(**{f"{name}__isnull": True}) if nullable
                                                                else Q(pk__in=[])))
    if "schedule" in names:
        return rows.filter(schedule_id__in=BusinessSchedule.objects.filter(department_id__in=ids).values("pk"))
    return rows.none()


def _text_fields(history) -> list[str]:
    """The fields a search looks in: texts, and lists such as a token's scopes or a subscription's event types."""
    return [f.name for f in history._meta.concrete_fields
            if isinstance(f, CharField | TextField | JSONField) and not f.name.startswith("history_")]


def _named() -> dict[type, tuple[str, ...]]:
    """The models a record links to that the log shows by name, with the fields a search finds them by."""
    return {get_user_model(): ("username", "first_name", "last_name"), Department: ("name", "slug"),
            Account: ("handle", "slug")}


def _named_relations(history) -> list:
    """The record's links to a person, a department or a brand account (a membership's user and department, a
    rule's department, a token's revoker, a sending credential's account...), which the log shows, and
    searches, by name."""
    named = _named()
    return [f for f in history._meta.concrete_fields
            if f.many_to_one and not f.name.startswith("history_") and f.related_model in named]


def _secrets_said(history) -> bool:
    """Whether the history says which secrets a change set (`config.history.AuditedHistory`)."""
    return any(f.name == "history_secrets_changed" for f in history._meta.concrete_fields)


def _search(history, q: str) -> Q:
    match = Q(history_change_reason__icontains=q)
    if _secrets_said(history):
        match |= Q(history_secrets_changed__icontains=q)
    for name in _text_fields(history):
        match |= Q(**{f"{name}__icontains": q})
    named = _named()
    for relation in _named_relations(history):
        ids = relation.related_model.objects.filter(
            reduce(operator.or_, (Q(**{f"{name}__icontains": q}) for name in named[relation.related_model]))
        ).values("pk")
        match |= Q(**{f"{relation.attname}__in": ids})
    return match


def _plain_fields(history) -> list:
    return [f for f in history._meta.concrete_fields if not f.name.startswith("history_") and f.name != "id"]


def _show(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def choices() -> list[tuple[str, str]]:
    """The "What" filter's choices: (key, label), the case actions first."""
    return [(case_actions.KEY, "Case actions"),
            *((key, str(model._meta.verbose_name).capitalize()) for key, model in audited_models().items())]


def audit_log(*, user, q: str = "", model: str = "", who: str = "", since: datetime | None = None,
              until: datetime | None = None, page: int = 1, per_page: int = 50) -> dict:
    """One page of the audit log for `user`, newest first, with the filters applied. `model`: an audited model's
    key, or `case_actions.KEY`."""
    models = audited_models()
    if model:
        models = {key: value for key, value in models.items() if key == model}
    querysets = {}
    ids = None if user.is_superuser else list(headed_departments(user=user).values_list("pk", flat=True))
    for key, audited in models.items():
        history = audited.history.model
        rows = _scope(audited, history, user=user, ids=ids or [])
        if who:
            rows = rows.filter(Q(history_user__username__icontains=who) | Q(history_user__first_name__icontains=who)
                               | Q(history_user__last_name__icontains=who))
        if since:
            rows = rows.filter(history_date__gte=since)
        if until:
            rows = rows.filter(history_date__lt=until)
        if q:
            rows = rows.filter(_search(history, q))
        querysets[key] = rows
    page = max(1, page)
    wanted = page * per_page
    merged, total = [], 0
    for key, rows in querysets.items():
        found = list(rows.select_related("history_user").order_by("-history_date", "-history_id")[:wanted])
        merged.extend(((record.history_date, record.history_id), key, record) for record in found)
        total += len(found) if len(found) < wanted else rows.count()  # counted only when there may be more
    if model in ("", case_actions.KEY):
        events = case_actions.rows(department_ids=ids)
        if who:
            events = case_actions.by_person(events, who)
        if since:
            events = events.filter(created_at__gte=since)
        if until:
            events = events.filter(created_at__lt=until)
        if q:
            events = case_actions.search(events, q)
        found = case_actions.page_rows(events, wanted)
        merged.extend(((event.created_at, event.pk), case_actions.KEY, event) for event in found)
        total += len(found) if len(found) < wanted else events.count()
    merged.sort(key=lambda item: item[0], reverse=True)
    on_page = [(record, key) for _, key, record in merged[(page - 1) * per_page:wanted]]
    history_entries = iter(_entries([pair for pair in on_page if pair[1] != case_actions.KEY], audited_models()))
    event_entries = iter(case_actions.entries([record for record, key in on_page if key == case_actions.KEY]))
    entries = [next(event_entries if key == case_actions.KEY else history_entries) for _, key in on_page]
    return {"entries": entries, "total": total, "page": page, "pages": max(1, -(-total // per_page)),
            "models": audited_models()}


def _entries(on_page, models) -> list[Entry]:
    previous = {}
    by_model: dict[str, list] = {}
    for record, key in on_page:
        by_model.setdefault(key, []).append(record)
    for key, records in by_model.items():
        history = models[key].history.model
        ids = {record.id for record in records}
        latest = max(record.history_date for record in records)
        older = list(history.objects.filter(id__in=ids, history_date__lte=latest).order_by("id", "history_date",
                                                                                            "history_id"))
        for before, after in zip(older, older[1:], strict=False):
            if before.id == after.id:
                previous[(key, after.history_id)] = before
    names = _names_of(on_page, previous.values())
    sets = _m2m_sets([record for record, _ in on_page] + list(previous.values()))
    entries = []
    for record, key in on_page:
        audited = models[key]
        prev = previous.get((key, record.history_id))
        named = {f.attname: f.related_model for f in _named_relations(record)}

        def show(value, attname, named=named):
            if attname in named and value is not None:
                return _show(names.get((named[attname], value), f"#{value} (deleted)"))
            return _show(value)

        changes = []
        for f in _plain_fields(record):
            after = getattr(record, f.attname)
            before = getattr(prev, f.attname) if prev is not None else None
            if record.history_type == "~" and before == after:
                continue
            if record.history_type == "+" and after in (None, "", [], {}):
                continue
            changes.append(Change(field=str(f.verbose_name), before=show(before, f.attname) if prev is not None else "—",
                                  after=show(after, f.attname) if record.history_type != "-" else "—"))
        changes += _m2m_changes(record, prev, sets)
        changes += _secret_changes(record)
        user = record.history_user
        entries.append(Entry(
            when=record.history_date,
            who=(user.get_full_name() or user.get_username()) if user else "the system",
            action=ACTIONS.get(record.history_type, record.history_type),
            model=str(audited._meta.verbose_name),
            model_key=key,
            object_name=_object_name(record, show),
            object_id=record.id,
            reason=record.history_change_reason or "",
            changes=changes,
        ))
    return entries


def _m2m_sets(records) -> dict[tuple[type, int], dict[str, set[str]]]:
    """{(history model, history_id): {m2m field: the names it held}} for the records whose model keeps the history of
    many-to-many fields (a person's groups and permissions, a group's permissions, a rule's promises); one query
    per field of each such model on the page."""
    wanted: dict[type, set[int]] = {}
    for record in records:
        if getattr(record, "_history_m2m_fields", None):
            wanted.setdefault(type(record), set()).add(record.history_id)
    sets: dict[tuple[type, int], dict[str, set[str]]] = {}
    for history, history_ids in wanted.items():
        for m2m in history._history_m2m_fields:
            rows = getattr(history, m2m.name).model.objects
            target = m2m.m2m_reverse_field_name()
            for row in rows.filter(history_id__in=history_ids).select_related(target):
                sets.setdefault((history, row.history_id), {}).setdefault(m2m.name, set()).add(
                    str(getattr(row, target)))
    return sets


def _m2m_changes(record, prev, sets) -> list[Change]:
    changes = []
    for m2m in getattr(record, "_history_m2m_fields", None) or []:
        after = sets.get((type(record), record.history_id), {}).get(m2m.name, set())
        before = sets.get((type(prev), prev.history_id), {}).get(m2m.name, set()) if prev is not None else set()
        if record.history_type == "-" or (record.history_type == "~" and before == after) or (
                record.history_type == "+" and not after):
            continue
        changes.append(Change(field=str(m2m.verbose_name), before=", ".join(sorted(before)) or "—",
                              after=", ".join(sorted(after)) or "—"))
    return changes


def _secret_changes(record) -> list[Change]:
    """The secrets a change set or replaced (a password, a webhook secret, a token): that they did, never what."""
    said = getattr(record, "history_secrets_changed", "") or ""
    if not said or record.history_type == "-":
        return []
    before, after = ("—", "set") if record.history_type == "+" else ("not shown", "changed")
    return [Change(field=name, before=before, after=after) for name in said.split(", ")]


def _object_name(record, show) -> str:
    """A setting's name or title; a person's name; a brand account's handle; a membership "<person> in
    <department>"; a board seat its person; a sending credential its account."""
    name = getattr(record, "name", "") or getattr(record, "title", "")
    if name:
        return str(name)
    if getattr(record, "username", ""):
        return f"{record.first_name} {record.last_name}".strip() or record.username
    if getattr(record, "handle", ""):
        return f"@{record.handle}"
    if getattr(record, "account_id", None) is not None:
        return show(record.account_id, "account_id")
    if getattr(record, "user_id", None) is not None:
        person = show(record.user_id, "user_id")
        department_id = getattr(record, "department_id", None)
        return f"{person} in {show(department_id, 'department_id')}" if department_id is not None else person
    return f"#{record.id}"


def _names_of(*groups) -> dict[tuple[type, int], str]:
    """{(User or Department, id): the name shown} for the people and departments the records name; one
    query per model."""
    wanted: dict[type, set[int]] = {}
    for records in groups:
        for item in records:
            record = item[0] if isinstance(item, tuple) else item
            for relation in _named_relations(record):
                value = getattr(record, relation.attname)
                if value is not None:
                    wanted.setdefault(relation.related_model, set()).add(value)
    names = {}
    for model, ids in wanted.items():
        for row in model.objects.filter(pk__in=ids):
            shown = (row.get_full_name() or row.get_username()) if model is get_user_model() else str(row)
            names[(model, row.pk)] = shown
    return names
