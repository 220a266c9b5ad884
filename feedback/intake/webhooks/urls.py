from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    # <str:...>: any name reaches the view, so a delivery to an unknown account is quarantined, not dropped.
    path("x/<str:account>/", views.x_webhook, name="x"),
    path("meta/<str:account>/", views.meta_webhook, name="meta"),
]
