"""config.ratelimit: fixed windows counted in this run's Redis with REDIS_URL (one round trip a hit), else in the
cache; shared by every process."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from config import ratelimit
from config.ratelimit import Limit, hit, parse_limit


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_cache_is_redis_when_redis_url_is_set(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the cache is in-process")
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(("text", "limit"), [
    ("120/minute", Limit(120, 60)), ("5/second", Limit(5, 1)), ("1000/hour", Limit(1000, 3600)),
    ("10/minutes", Limit(10, 60)), (" 7 / Minute ", Limit(7, 60)), ("", Limit(0, 60)), ("0/minute", Limit(0, 60)),
])
def test_limits_are_written_n_per_period(text, limit):
    assert parse_limit(text) == limit


@pytest.mark.parametrize("text", ["lots", "10/fortnight", "-1/minute", "²/minute", "1.5/second"])
def test_a_bad_limit_fails_loudly(text):
    with pytest.raises(ValueError, match="N/second, N/minute or N/hour"):
        parse_limit(text)


def test_a_window_allows_its_count_then_refuses_until_it_ends():
    limit = Limit(3, 60)
    now = 1_800_000_010.0  # 10 s into a minute window
    decisions = [hit("test", "203.0.113.9", limit, now=now + i) for i in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4, 5]
    assert decisions[3].retry_after == 47  # the window ends at :60; the 4th came at :13
    assert hit("test", "203.0.113.9", limit, now=now + 50).allowed is True  # the next window


def test_peek_reads_a_count_without_adding_to_it():
    limit = Limit(2, 60)
    assert ratelimit.peek("refused", "k", limit, now=10.0).allowed
    hit("refused", "k", limit, now=10.0)
    assert ratelimit.peek("refused", "k", limit, now=11.0) == ratelimit.Decision(True, 1, 49)
    hit("refused", "k", limit, now=12.0)
    for _ in range(3):
        assert ratelimit.peek("refused", "k", limit, now=13.0) == ratelimit.Decision(False, 2, 47)
    assert ratelimit.peek("refused", "k", limit, now=61.0).allowed  # the next window


def test_keys_and_scopes_are_counted_apart():
    limit = Limit(1, 60)
    assert hit("a", "k1", limit, now=100.0).allowed
    assert not hit("a", "k1", limit, now=100.0).allowed
    assert hit("a", "k2", limit, now=100.0).allowed
    assert hit("b", "k1", limit, now=100.0).allowed


def test_an_off_limit_counts_nothing():
    assert all(hit("off", "k", Limit(0, 60)).allowed for _ in range(100))


def test_a_key_of_any_text_is_safe():
    long_key = "x" * 10_000 + "\ud800 \x00 ünï"
    assert hit("odd", long_key, Limit(1, 60), now=5.0).allowed
    assert not hit("odd", long_key, Limit(1, 60), now=5.0).allowed


def test_the_counters_being_down_allow_and_say_so(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    decision = hit("down", "k", Limit(1, 60))
    assert decision.allowed and decision.count == 0
    assert ratelimit.peek("down", "k", Limit(1, 60)).allowed
    assert "cannot be reached" in caplog.text


def test_a_hit_is_one_round_trip_to_redis(settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the counters are in-process")
    client = ratelimit.counters()
    client.ping()  # connected before counting
    sent = []
    connection_class = client.connection_pool.connection_class
    send = connection_class.send_packed_command

    def counted(self, command, *args, **kwargs):
        sent.append(command)
        return send(self, command, *args, **kwargs)

    monkeypatch.setattr(connection_class, "send_packed_command", counted)
    limit = Limit(5, 60)
    decisions = [hit("trips", "k", limit, now=1_000.0) for _ in range(3)]
    assert [d.count for d in decisions] == [1, 2, 3]
    assert len(sent) == 3  # one write (INCR and EXPIRE together) per hit
    cache_key, _ = ratelimit._window("trips", "k", limit, 1_000.0)
    assert int(client.get(cache_key)) == 3 and 0 < client.ttl(cache_key) <= 65
    sent.clear()
    assert ratelimit.peek("trips", "k", limit, now=1_001.0).count == 3 and len(sent) == 1


def test_without_redis_the_django_cache_counts(settings):
    settings.REDIS_URL = ""
    limit = Limit(2, 60)
    assert [hit("local", "k", limit, now=70.0).allowed for _ in range(3)] == [True, True, False]
    cache_key, _ = ratelimit._window("local", "k", limit, 70.0)
    assert cache.get(cache_key) == 3
    assert ratelimit.peek("local", "k", limit, now=71.0) == ratelimit.Decision(False, 3, 49)


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_says_otherwise(settings):
    request = RequestFactory().post("/hooks/x/a/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    settings.BATON_TRUSTED_PROXY = False
    assert ratelimit.client_ip(request) == "10.0.0.5"
    settings.BATON_TRUSTED_PROXY = True
    assert ratelimit.client_ip(request) == "203.0.113.9"
