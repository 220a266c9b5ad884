from django.urls import path

from . import views

urlpatterns = [
    path("mentions/", views.MentionCreateView.as_view(), name="api-mentions"),
]
