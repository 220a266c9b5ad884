import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, UserFactory, department


@pytest.fixture
def api_user(db):
    user = UserFactory(username="integration")
    user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    return user


@pytest.fixture
def api_client(api_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=api_user).key}")
    return client


@pytest.fixture
def service_agent(db):
    return MembershipFactory(user=UserFactory(username="service-agent"), department=department("service")).user


@pytest.fixture
def sales_agent(db):
    return MembershipFactory(user=UserFactory(username="sales-agent"), department=department("sales")).user
