"""The audit trail of models that hold secrets or bookkeeping (people's accounts, connected brand accounts,
sending credentials, API tokens, webhook subscriptions): django-simple-history, as for every audited model
(`feedback.audit` reads it), with two more options.

- `secrets` ({field: what people call it}): never copied into the history table. A record says which of them
  changed (`history_secrets_changed`: "password", "secret, verify token"), found by comparing the value being
  saved with the row as stored (one query, and only when the save writes one of them); a new object says
  which it was given. So the log shows that a password changed, never a hash, ciphertext or hint.
- `quiet` (fields): bookkeeping, left out of the history too; a save that writes only these (a login's
  `last_login`) makes no record. `ignore_save(instance, fields)` says which other saves are no change (a
  password hash upgraded at login: the same password).

Who made the change is simple-history's (the request's user, through its middleware); a service acting for
someone else sets `instance._history_user`, and `instance._change_reason` says through what (an API token).
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import models
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


class SecretsChanged(models.Model):
    """The extra column of a history table whose model has secrets."""

    history_secrets_changed = models.CharField(
        max_length=200, blank=True, default="",
        help_text="Which secrets this change set or replaced (their values are never kept).")

    class Meta:
        abstract = True


def _person(request=None, **kwargs):
    """Who made the change: the request's user when a person (an API integration's token authenticates as an
    `IntegrationUser`, nobody's account: its name goes in the change reason instead)."""
    user = getattr(request, "user", None)
    return user if isinstance(user, get_user_model()) else None


class AuditedHistory(HistoricalRecords):
    def __init__(self, *, secrets: dict[str, str] | None = None, quiet: tuple[str, ...] | list[str] = (),
                 ignore_save: Callable[[models.Model, frozenset[str]], bool] | None = None,
                 excluded_fields: list[str] | None = None, **kwargs):
        kwargs.setdefault("get_user", _person)
        self.secrets = dict(secrets or {})
        self.quiet = frozenset(quiet)
        self.ignore_save = ignore_save
        if self.secrets:
            kwargs["bases"] = (SecretsChanged, *kwargs.get("bases", ()))
        super().__init__(excluded_fields=[*(excluded_fields or []), *self.secrets, *sorted(self.quiet)], **kwargs)

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if sender is not self.cls:
            return
        models.signals.pre_save.connect(self.pre_save, sender=sender, weak=False)
        if self.secrets:
            pre_create_historical_record.connect(self._say_secrets, sender=getattr(sender, self.manager_name).model,
                                                 weak=False)

    def pre_save(self, instance, raw=False, update_fields=None, **kwargs):
        """Before the row is written: is this save worth a record, and which secrets does it change?"""
        instance.__dict__.pop("_history_quiet_save", None)
        instance.__dict__.pop("_history_secrets", None)
        written = frozenset(update_fields) if update_fields is not None else None
        if raw:
            return
        if written is not None and (written <= self.quiet or (self.ignore_save and self.ignore_save(instance, written))):
            instance._history_quiet_save = True
            return
        checked = [name for name in self.secrets if written is None or name in written]
        if not checked:
            return
        values = {name: getattr(instance, instance._meta.get_field(name).attname) for name in checked}
        if instance._state.adding or instance.pk is None:
            stored = dict.fromkeys(checked, "")
        else:
            row = type(instance)._base_manager.filter(pk=instance.pk).values(*checked).first() or {}
            stored = {name: row.get(name, "") for name in checked}
        instance._history_secrets = [self.secrets[name] for name in checked
                                     if (values[name] or "") != (stored[name] or "")]

    def post_save(self, instance, created, using=None, **kwargs):
        if instance.__dict__.pop("_history_quiet_save", False) and not created:
            return
        super().post_save(instance, created, using=using, **kwargs)
        instance.__dict__.pop("_history_secrets", None)

    def _say_secrets(self, sender, instance, history_instance, **kwargs):
        history_instance.history_secrets_changed = ", ".join(getattr(instance, "_history_secrets", None) or [])[:200]
