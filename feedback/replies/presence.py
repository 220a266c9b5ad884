"""Who else is on a case right now: viewers and typers, kept in Redis (a hash per case: user id ->
name, last seen, typing until), or in Django's cache where there is no Redis (the embedded stack:
one process's memory, good enough for one web process).

The case page polls every few seconds (htmx); each poll says "I am here" (and "I am typing" while the
reply box is being written in) and reads the others. An entry older than BATON_PRESENCE_SECONDS is gone.
"""

import json
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache

TYPING_SECONDS = 6


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    typing: bool


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


def _key(case_id: int) -> str:
    return f"baton:presence:case:{case_id}"


def touch(*, case_id: int, user, typing: bool = False, now: float | None = None) -> None:
    now = time.time() if now is None else now
    ttl = settings.BATON_PRESENCE_SECONDS
    entry = {"name": user.get_full_name() or user.get_username(), "seen": now,
             "typing_until": now + TYPING_SECONDS if typing else 0}
    if settings.REDIS_URL:
        client = _redis(settings.REDIS_URL)
        previous = client.hget(_key(case_id), str(user.pk))
        if previous and not typing:  # a poll between keystrokes keeps the typing flag until it runs out
            entry["typing_until"] = json.loads(previous).get("typing_until", 0)
        pipe = client.pipeline()
        pipe.hset(_key(case_id), str(user.pk), json.dumps(entry))
        pipe.expire(_key(case_id), ttl * 5)
        pipe.execute()
        return
    entries = django_cache.get(_key(case_id)) or {}
    if str(user.pk) in entries and not typing:
        entry["typing_until"] = entries[str(user.pk)].get("typing_until", 0)
    entries[str(user.pk)] = entry
    django_cache.set(_key(case_id), entries, ttl * 5)


def leave(*, case_id: int, user) -> None:
    if settings.REDIS_URL:
        _redis(settings.REDIS_URL).hdel(_key(case_id), str(user.pk))
        return
    entries = django_cache.get(_key(case_id)) or {}
    entries.pop(str(user.pk), None)
    django_cache.set(_key(case_id), entries, settings.BATON_PRESENCE_SECONDS * 5)


def others(*, case_id: int, user, now: float | None = None) -> list[Presence]:
    """The other people on the case now, typers first, then by name."""
    now = time.time() if now is None else now
    cutoff = now - settings.BATON_PRESENCE_SECONDS
    if settings.REDIS_URL:
        client = _redis(settings.REDIS_URL)
        raw = {key.decode(): json.loads(value) for key, value in client.hgetall(_key(case_id)).items()}
        stale = [key for key, value in raw.items() if value.get("seen", 0) < cutoff]
        if stale:
            client.hdel(_key(case_id), *stale)
    else:
        raw = django_cache.get(_key(case_id)) or {}
    people = [
        Presence(user_id=int(key), name=value.get("name", "?"), typing=value.get("typing_until", 0) > now)
        for key, value in raw.items() if value.get("seen", 0) >= cutoff and int(key) != user.pk
    ]
    return sorted(people, key=lambda person: (not person.typing, person.name))
