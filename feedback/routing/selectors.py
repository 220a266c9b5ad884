"""Which routing rules a user may manage: a head those routing to a department they head, a superuser all.

Monitor-only rules (no department) and the order of rules across departments decide for every department at
once: only a superuser changes them (see `services.reorder_rules`)."""

from feedback.routing.models import RoutingRule
from teams.selectors import headed_departments


def manageable_rules(*, user):
    if user.is_authenticated and user.is_superuser:
        return RoutingRule.objects.all()
    return RoutingRule.objects.filter(department__in=headed_departments(user=user))


def can_manage_rule(*, user, rule: RoutingRule) -> bool:
    return manageable_rules(user=user).filter(pk=rule.pk).exists()
