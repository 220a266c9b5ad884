import pytest
from django.core.cache import cache


@pytest.fixture
def sync_without_settling(settings):
    """The sync lists show rows at once (no settle window), and no rate count or cached answer is left over."""
    settings.BATON_API_SYNC_SETTLE_SECONDS = 0
    cache.clear()
