from django.urls import path

from . import crm_views

urlpatterns = [
    # GET lists mentions, POST stores them (feedback.api.views.MentionCreateView).
    path("mentions/", crm_views.MentionCollectionView.as_view(), name="api-mentions"),
    path("mentions/<int:pk>/", crm_views.MentionDetailView.as_view(), name="api-mention-detail"),
    path("customers/", crm_views.CustomerListView.as_view(), name="api-customer-list"),
    path("customers/bulk/", crm_views.CustomerBulkView.as_view(), name="api-customer-bulk"),
    path("customers/<int:pk>/", crm_views.CustomerDetailView.as_view(), name="api-customer-detail"),
    path("customers/<int:pk>/merge/", crm_views.CustomerMergeView.as_view(), name="api-customer-merge"),
    path("customers/<int:pk>/timeline/", crm_views.CustomerTimelineView.as_view(), name="api-customer-timeline"),
    path("customers/<int:pk>/export/", crm_views.CustomerExportView.as_view(), name="api-customer-export"),
    path("customers/<int:pk>/erase/", crm_views.CustomerEraseView.as_view(), name="api-customer-erase"),
    path("cases/", crm_views.CaseListView.as_view(), name="api-case-list"),
    path("cases/<int:pk>/", crm_views.CaseDetailView.as_view(), name="api-case-detail"),
    path("webhooks/", crm_views.SubscriptionListView.as_view(), name="api-webhook-list"),
    path("webhooks/<int:pk>/", crm_views.SubscriptionDetailView.as_view(), name="api-webhook-detail"),
    path("webhooks/<int:pk>/deliveries/", crm_views.DeliveryListView.as_view(), name="api-webhook-deliveries"),
    path("webhooks/deliveries/<int:pk>/redeliver/", crm_views.RedeliverView.as_view(), name="api-webhook-redeliver"),
]
