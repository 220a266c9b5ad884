import pytest

from tests.fakeplatform import FakePlatform


@pytest.fixture
def platform():
    fake = FakePlatform().start()
    yield fake
    fake.stop()
