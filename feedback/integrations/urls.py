from django.urls import path

from feedback.integrations import views

urlpatterns = [
    path("tokens/", views.token_list, name="integration-tokens"),
    path("tokens/<str:token_id>/revoke/", views.token_revoke, name="integration-token-revoke"),
    path("webhooks/", views.delivery_list, name="integration-deliveries"),
    path("webhooks/deliveries/<str:delivery_id>/redeliver/", views.delivery_redeliver,
         name="integration-delivery-redeliver"),
]
